"""Remediation: partner-ops corrections and per-partner data gaps.

Corrections arrive as CSV files in ``settings.corrections_dir`` with the columns
``entity, record_key, column_name, corrected_value, submitted_by, submitted_at, reason``.
Each file is loaded once (by content hash) into ``raw_meta.corrections`` after validation;
``quality.correction_files`` is the audit trail of every file seen, loaded or rejected.
The dbt staging models apply the corrections (and flag restated scores).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from expectations.profiling import ensure_partner_months
from expectations.results import utcnow
from orchestration.extracts import DUCKDB_TYPES, ENTITIES, Entity, get_entity
from orchestration.ingest import ensure_raw_schema
from orchestration.warehouse import table_exists

CORRECTION_COLUMNS = (
    "entity",
    "record_key",
    "column_name",
    "corrected_value",
    "submitted_by",
    "submitted_at",
    "reason",
)
FILES_DDL = """
create table if not exists quality.correction_files (
    file_name varchar not null,
    file_sha256 varchar not null,
    status varchar not null,
    rows_loaded bigint,
    error varchar,
    seen_at timestamp not null
)
"""
GAPS_DDL = """
create or replace table quality.partner_data_gaps (
    partner_id varchar,
    gap_kind varchar not null,
    source varchar,
    entity varchar,
    period varchar,
    detail varchar,
    detected_at timestamp not null
)
"""
# Entities every active partner is expected to produce each month.
MONTHLY_ACTIVITY = (("portal", "activity_events"), ("lms", "learning_records"))


class CorrectionError(ValueError):
    """A correction file partner ops must fix: names the file, line and problem."""


@dataclass
class CorrectionLoad:
    loaded: dict[str, int] = field(default_factory=dict)  # file -> rows
    skipped: list[str] = field(default_factory=list)  # already loaded (same content)
    rejected: dict[str, str] = field(default_factory=dict)  # file -> error

    @property
    def rows(self) -> int:
        return sum(self.loaded.values())


def _entity(name: str) -> Entity | None:
    name = name.strip()
    if "/" in name:
        source, entity = name.split("/", 1)
        return next((e for e in ENTITIES if e.source == source and e.name == entity), None)
    return next((e for e in ENTITIES if e.name == name), None)


def parse_corrections(path: Path, conn: duckdb.DuckDBPyConnection) -> list[dict]:
    """Validate one file; raises CorrectionError on the first problem."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in CORRECTION_COLUMNS if c not in header]
    if missing:
        raise CorrectionError(f"{path.name}: missing columns {', '.join(missing)}")
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        entity = _entity(row["entity"])
        if entity is None:
            known = ", ".join(e.name for e in ENTITIES)
            raise CorrectionError(
                f"{path.name} line {line}: unknown entity {row['entity']!r} (one of: {known})"
            )
        columns = {c.name: c for c in entity.columns}
        col = columns.get(row["column_name"])
        if col is None or col.name == entity.key:
            allowed = ", ".join(c for c in columns if c != entity.key)
            raise CorrectionError(
                f"{path.name} line {line}: column {row['column_name']!r} cannot be corrected "
                f"on {entity.name} (correctable: {allowed})"
            )
        if not row["record_key"]:
            raise CorrectionError(f"{path.name} line {line}: empty record_key")
        value = row["corrected_value"]
        if value != "":
            ok = conn.execute(
                f"select try_cast(? as {DUCKDB_TYPES[col.type]}) is not null", [value]
            ).fetchone()[0]
            if not ok:
                raise CorrectionError(
                    f"{path.name} line {line}: {value!r} is not a valid {col.type} for "
                    f"{entity.name}.{col.name}"
                )
            if col.accepted_values and value not in col.accepted_values:
                raise CorrectionError(
                    f"{path.name} line {line}: {value!r} is not an accepted {col.name} "
                    f"({', '.join(col.accepted_values)})"
                )
        try:
            submitted_at = datetime.fromisoformat(row["submitted_at"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise CorrectionError(
                f"{path.name} line {line}: submitted_at {row['submitted_at']!r} is not ISO 8601"
            ) from exc
        if not row["submitted_by"]:
            raise CorrectionError(f"{path.name} line {line}: submitted_by is required")
        ident = "|".join(
            [entity.source, entity.name, row["record_key"], col.name, value,
             row["submitted_by"], submitted_at.isoformat()]
        )  # fmt: skip
        rows.append(
            {
                "correction_id": hashlib.sha256(ident.encode()).hexdigest()[:24],
                "source": entity.source,
                "entity": entity.name,
                "record_key": row["record_key"],
                "column_name": col.name,
                "corrected_value": value if value != "" else None,
                "submitted_by": row["submitted_by"],
                "submitted_at": submitted_at.replace(tzinfo=None),
                "reason": row["reason"] or None,
            }
        )
    return rows


def load_corrections(
    conn: duckdb.DuckDBPyConnection, corrections_dir: Path, *, strict: bool = False
) -> CorrectionLoad:
    """Load new correction files (idempotent by content hash and correction id)."""
    ensure_raw_schema(conn)
    conn.execute("create schema if not exists quality")
    conn.execute(FILES_DDL)
    report = CorrectionLoad()
    for path in sorted(corrections_dir.glob("*.csv")) if corrections_dir.exists() else []:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        seen = conn.execute(
            "select count(*) from quality.correction_files "
            "where file_sha256 = ? and status = 'loaded'",
            [sha],
        ).fetchone()[0]
        if seen:
            report.skipped.append(path.name)
            continue
        try:
            rows = parse_corrections(path, conn)
        except CorrectionError as exc:
            report.rejected[path.name] = str(exc)
            conn.execute(
                "insert into quality.correction_files values (?, ?, 'rejected', 0, ?, ?)",
                [path.name, sha, str(exc), utcnow()],
            )
            continue
        new = 0
        for r in rows:
            exists = conn.execute(
                "select count(*) from raw_meta.corrections where correction_id = ?",
                [r["correction_id"]],
            ).fetchone()[0]
            if exists:
                continue
            conn.execute(
                "insert into raw_meta.corrections (correction_id, source, entity, record_key, "
                "column_name, corrected_value, submitted_by, submitted_at, reason, applied_at) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
                list(r.values()),
            )
            new += 1
        conn.execute(
            "insert into quality.correction_files values (?, ?, 'loaded', ?, null, ?)",
            [path.name, sha, new, utcnow()],
        )
        report.loaded[path.name] = new
    if strict and report.rejected:
        raise CorrectionError("; ".join(report.rejected.values()))
    return report


def refresh_partner_data_gaps(conn: duckdb.DuckDBPyConnection) -> int:
    """Rebuild ``quality.partner_data_gaps``; returns the number of gaps.

    Kinds: ``missing_month`` (an active partner has no rows in a monthly-activity source for
    a month inside that source's delivered range), ``missing_source`` (an active partner has
    no rows at all in such a source), ``missing_extract`` (a month with no extract for an
    entity between its first and last extract; partner_id null = every partner) and
    ``quarantined_rows`` (rows ingest quarantined, per partner when the partner id can be
    read back from the original text).
    """
    conn.execute("create schema if not exists quality")
    conn.execute(GAPS_DDL)
    now = utcnow()
    if not table_exists(conn, "raw_crm", "partners"):
        return 0
    active = """
        select partner_id, joined_date from raw_crm.partners
        where _extract_date = (select max(_extract_date) from raw_crm.partners)
          and status = 'active'
    """
    for source, name in MONTHLY_ACTIVITY:
        if not table_exists(conn, f"raw_{source}", name):
            continue
        # Per-batch partner-month counts, kept up to date from the new batches only: the same
        # months, partners and partner-months as the raw rows, without rescanning history.
        ensure_partner_months(conn, get_entity(source, name))
        counts = (
            "(select partner_id, month from quality.batch_partner_months "
            f"where asset_key = 'raw_{source}/{name}')"
        )
        conn.execute(
            f"""
            insert into quality.partner_data_gaps
            with months as (
                select unnest(generate_series(min(month), max(month), interval 1 month))::date
                    as month
                from {counts}
            ),
            have as (select distinct partner_id, month from {counts}),
            seen as (select distinct partner_id from {counts})
            select a.partner_id, 'missing_month', '{source}', '{name}', strftime(m.month, '%Y-%m'),
                   'no {name} rows this month', ?
            from ({active}) a
            join seen s using (partner_id)
            cross join months m
            where m.month >= date_trunc('month', a.joined_date)
              and not exists (
                  select 1 from have h where h.partner_id = a.partner_id and h.month = m.month
              )
            union all
            select a.partner_id, 'missing_source', '{source}', '{name}', null,
                   'active partner with no {name} rows at all', ?
            from ({active}) a
            where a.partner_id not in (select partner_id from seen where partner_id is not null)
            """,
            [now, now],
        )
    for entity in ENTITIES:
        if not table_exists(conn, entity.raw_schema, entity.name):
            continue
        conn.execute(
            f"""
            insert into quality.partner_data_gaps
            with delivered as (select distinct _extract_date as d from {entity.raw_table}),
            expected as (
                select unnest(generate_series(min(d), max(d), interval 1 month))::date as d
                from delivered
            )
            select null, 'missing_extract', '{entity.source}', '{entity.name}',
                   strftime(e.d, '%Y-%m-%d'), 'no extract delivered for this date', ?
            from expected e where e.d not in (select d from delivered)
            """,
            [now],
        )
    if table_exists(conn, "raw_meta", "quarantined_rows"):
        conn.execute(
            """
            insert into quality.partner_data_gaps
            with q as (
                select *, coalesce(
                    nullif(regexp_extract(original_text, '"partner_id"\\s*:\\s*"([^"]+)"', 1), ''),
                    nullif(regexp_extract(original_text, '(?:^|,)(P[0-9]{5})(?:,|$)', 1), '')
                ) as pid
                from raw_meta.quarantined_rows
            )
            select p.partner_id, 'quarantined_rows', q.source, q.entity,
                   strftime(q.extract_date, '%Y-%m-%d'),
                   count(*) || ' rows quarantined (' || string_agg(distinct q.reason, '; ') || ')', ?
            from q left join (select distinct partner_id from raw_crm.partners) p
              on p.partner_id = q.pid
            group by all
            """,
            [now],
        )
    return conn.execute("select count(*) from quality.partner_data_gaps").fetchone()[0]
