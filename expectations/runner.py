"""The quality runner: evaluates an asset's suite on its new batches and records the results.

Dagster asset checks (``orchestration/defs/quality``) call :func:`run_asset_checks`; the
same function works outside Dagster (``run_all``), e.g. from a script or a test.

New batches are the raw table's ``_batch_id`` values that have no row in
``quality.check_results`` for that asset yet, so every batch is checked exactly once, in
the run that loaded it, and a re-run checks nothing twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import duckdb
import pandas as pd

from expectations import anomalies, suites
from expectations.config import QualityConfig, load_config
from expectations.gx_eval import Measurement, evaluate
from expectations.profiling import ensure_profiles, profiles, raw_batch_ids
from expectations.results import (
    CheckResult,
    block_batches,
    ensure_quality_schema,
    utcnow,
    write_results,
)
from orchestration.extracts import ENTITIES_BY_KEY, Entity
from orchestration.ingest import ensure_raw_schema
from orchestration.ingest.landing import LandingScan, scan_landing
from orchestration.settings import Settings
from orchestration.warehouse import table_exists

log = logging.getLogger("partnerscore.quality")
UNBLOCKED = anomalies.UNBLOCKED
PARTNER_LIST_LIMIT = 200


def _table_columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: _norm_type(t) for name, t in rows}


def _norm_type(t: str) -> str:
    return t.lower().replace(" ", "")


def _schema_frame(
    actual: dict[str, str], expected: dict[str, str]
) -> tuple[int, int, dict[str, object]]:
    missing = [c for c in expected if c not in actual]
    mismatched = {
        c: {"expected": t, "actual": actual[c]}
        for c, t in expected.items()
        if c in actual and _norm_type(t) != actual[c]
    }
    return len(missing), len(mismatched), {"missing": missing, "type_mismatch": mismatched}


@dataclass
class BatchInfo:
    batch_id: str
    extract_date: date | None
    source_files: list[str] = field(default_factory=list)


def new_batches(conn: duckdb.DuckDBPyConnection, entity: Entity, asset: str) -> list[BatchInfo]:
    """Batches not checked yet: those in the raw table, and those ingest recorded with a
    rejected file or quarantined rows (which may have no raw row at all)."""
    # Which raw batches are unchecked comes from the distinct batch ids (one dictionary-encoded
    # column, cheap at 10 M rows); only their rows are then read for dates and file names.
    checked = {
        r[0]
        for r in conn.execute(
            "select distinct batch_id from quality.check_results where asset_key = ?", [asset]
        ).fetchall()
    }
    unchecked = [b for b in raw_batch_ids(conn, entity) if b is not None and b not in checked]
    in_unchecked = ", ".join(_sql_literal(b) for b in unchecked) or "null"
    rows = conn.execute(
        f"""
        with arrived as (
            select _batch_id as batch_id, _extract_date as extract_date,
                   _source_file as source_file
            from {entity.raw_table}
            where _batch_id in ({in_unchecked})
            union all
            select batch_id, extract_date, source_file
            from raw_meta.file_manifest
            where source = ? and entity = ? and batch_id is not null
              and (status = 'rejected' or rows_quarantined > 0)
        )
        select batch_id, min(extract_date), list(distinct source_file order by source_file)
        from arrived
        where batch_id not in (
            select batch_id from quality.check_results
            where asset_key = ? and batch_id is not null
        )
        group by batch_id order by min(extract_date), batch_id
        """,
        [entity.source, entity.name, asset],
    ).fetchall()
    return [BatchInfo(b, d, list(files or [])) for b, d, files in rows]


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- what ingest recorded -----------------------------------------------------------------------
def _batches_in_raw(conn, entity: Entity, batches: list[BatchInfo]) -> set[str]:
    """Batches with rows in the raw table (a wholly rejected extract has none to check)."""
    if not batches:
        return set()
    ids = [b.batch_id for b in batches]
    rows = conn.execute(
        f"select distinct _batch_id from {entity.raw_table} "
        f"where _batch_id in ({', '.join('?' for _ in ids)})",
        ids,
    ).fetchall()
    return {r[0] for r in rows}


def _ingest_checks(conn, entity: Entity, batches: list[BatchInfo], result) -> list[Pending]:
    """files_readable, quarantined_rows and unexpected_columns for each new batch."""
    if not batches:
        return []
    ids = [b.batch_id for b in batches]
    marks = ", ".join("?" for _ in ids)
    files = conn.execute(
        f"""
        select batch_id, source_file, status, error, file_sha256, rows_loaded, extra_columns
        from raw_meta.file_manifest
        where source = ? and entity = ? and batch_id in ({marks})
        order by source_file
        """,
        [entity.source, entity.name, *ids],
    ).fetchall()
    quarantined = conn.execute(
        f"""
        select batch_id, count(*) as rows_quarantined,
               list(distinct try(json_extract_string(original_text, '$.partner_id')))
                   filter (where try(json_extract_string(original_text, '$.partner_id'))
                           is not null) as partner_ids,
               list({{'file': source_file, 'row': source_row, 'column': column_name,
                      'reason': reason}} order by source_file, source_row)[1:20] as examples
        from raw_meta.quarantined_rows
        where source = ? and entity = ? and batch_id in ({marks})
        group by batch_id
        """,
        [entity.source, entity.name, *ids],
    ).fetchall()
    by_batch_q = {b: (n, sorted(p or []), ex) for b, n, p, ex in quarantined}
    out: list[Pending] = []
    for b in batches:
        mine = [f for f in files if f[0] == b.batch_id]
        rejected = [f for f in mine if f[2] == "rejected"]
        errors = {f"landing/{f[1]}": f[3] for f in rejected}
        r = result(
            suites.FILES_READABLE, b, observed_value=float(len(rejected)),
            threshold="0 unreadable files", rows_affected=sum(f[5] or 0 for f in mine),
            details={"message": "; ".join(errors.values()), "rejected_files": errors,
                     "file_sha256": [f[4] for f in rejected],
                     "loaded_files": [f"landing/{f[1]}" for f in mine if f[2] != "rejected"]},
        )  # fmt: skip
        out.append((r, [Measurement(suites.FILES_READABLE, f"files|{b.batch_id}",
                                    len(rejected), max_value=0)]))  # fmt: skip

        n, partners, examples = by_batch_q.get(b.batch_id, (0, [], []))
        reasons: dict[str, int] = {}
        for ex in examples or []:
            reasons[ex["column"]] = reasons.get(ex["column"], 0) + 1
        r = result(
            suites.QUARANTINED_ROWS, b, observed_value=float(n),
            threshold="0 quarantined rows", rows_affected=n,
            partner_ids=partners[:PARTNER_LIST_LIMIT],
            details={"message": f"{n} row(s) quarantined: see raw_meta.quarantined_rows"
                                f" where batch_id = '{b.batch_id}'" if n else None,
                     "examples": [dict(ex) for ex in examples or []],
                     "columns_in_examples": reasons},
        )  # fmt: skip
        out.append((r, [Measurement(suites.QUARANTINED_ROWS, f"quarantine|{b.batch_id}",
                                    n, max_value=0)]))  # fmt: skip

        extra = sorted({c for f in mine for c in (f[6] or [])})
        with_extra = [f"landing/{f[1]}" for f in mine if f[6]]
        r = result(
            suites.UNEXPECTED_COLUMNS, b, observed_value=float(len(extra)),
            threshold="0 columns beyond the contract",
            rows_affected=sum(f[5] or 0 for f in mine if f[6]),
            details={"message": f"extra column(s) {', '.join(extra)} in {', '.join(with_extra)};"
                                " kept in _extra_columns, not used by the scores"
                                if extra else None,
                     "extra_columns": extra, "files": with_extra},
        )  # fmt: skip
        out.append((r, [Measurement(suites.UNEXPECTED_COLUMNS, f"extra|{b.batch_id}",
                                    len(extra), max_value=0)]))  # fmt: skip
    return out


def _landing_layout(entity: Entity, scan: LandingScan, result) -> Pending:
    problems = [p for p in scan.problems if suites.landing_owner(p.path) == entity]
    r = result(
        suites.LANDING_LAYOUT, None, observed_value=float(len(problems)),
        threshold="0 unknown folders or files", rows_affected=0,
        source_files=sorted(p.path for p in problems),
        details={"message": "; ".join(str(p) for p in problems) or None,
                 "problems": {f"landing/{p.path}": p.problem for p in problems}},
    )  # fmt: skip
    return r, [Measurement(suites.LANDING_LAYOUT, "landing", len(problems), max_value=0)]


def _list(value) -> list[str]:
    if value is None:
        return []
    try:
        return sorted(str(v) for v in value if v is not None)
    except TypeError:
        return []


Pending = tuple[CheckResult, list[Measurement]]


def decide(pending: list[Pending]) -> list[CheckResult]:
    """One GX validation for all measurements; a result fails when any of its own fails."""
    failed = evaluate([m for _, ms in pending for m in ms])
    out = []
    for result, ms in pending:
        result.passed = not any(m.key in failed for m in ms)
        out.append(result)
    return out


def check_raw_entity(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    config: QualityConfig,
    *,
    today: date | None = None,
    batch_ids: list[str] | None = None,
    landing: LandingScan | None = None,
) -> list[CheckResult]:
    """Evaluate every raw check on the entity's new batches (or only on ``batch_ids``).

    With ``landing`` (a scan of the landing zone), the layout problems that belong to this
    entity are judged too (``landing_layout``).
    """
    return decide(
        _raw_entity_pending(conn, entity, config, today=today, batch_ids=batch_ids, landing=landing)
    )


def _raw_entity_pending(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    config: QualityConfig,
    *,
    today: date | None = None,
    batch_ids: list[str] | None = None,
    landing: LandingScan | None = None,
) -> list[Pending]:
    ensure_quality_schema(conn)
    ensure_raw_schema(conn)
    asset = suites.asset_name(entity)
    cfg = config.for_asset(asset)
    actual = _table_columns(conn, entity.raw_schema, entity.name)

    def result(name: str, b: BatchInfo | None, **kw) -> CheckResult:
        return CheckResult(
            name, asset, config.severity_of(name, asset), True,
            batch_id=b.batch_id if b else None,
            extract_date=b.extract_date if b else None,
            **{"source_files": b.source_files if b else [], **kw},
        )  # fmt: skip

    if not actual:
        missing = result(suites.SCHEMA, None, threshold="table exists",
                         details={"error": f"table {entity.raw_table} does not exist"})  # fmt: skip
        return [(missing, [Measurement(suites.SCHEMA, "schema|table", 1.0, max_value=0)])]
    batches = new_batches(conn, entity, asset)
    if batch_ids is not None:
        wanted = set(batch_ids)
        batches = [b for b in batches if b.batch_id in wanted]
    pending: list[Pending] = _ingest_checks(conn, entity, batches, result)
    if landing is not None:
        pending.append(_landing_layout(entity, landing, result))
    in_raw = _batches_in_raw(conn, entity, batches)
    batches = [b for b in batches if b.batch_id in in_raw]
    n_missing, n_mismatch, schema_details = _schema_frame(actual, suites.expected_columns(entity))
    if batches:
        for b in batches:
            r = result(suites.SCHEMA, b, observed_value=float(n_missing + n_mismatch),
                       threshold="0 missing or mistyped columns", details=schema_details)  # fmt: skip
            pending.append((r, [
                Measurement(suites.SCHEMA, f"schema_missing|{b.batch_id}", n_missing, max_value=0),
                Measurement(suites.SCHEMA, f"schema_type|{b.batch_id}", n_mismatch, max_value=0),
            ]))  # fmt: skip
        if n_missing:
            log.warning("%s misses contract columns %s; row checks skipped", asset, schema_details)
        else:
            pending += _row_checks(conn, entity, cfg, batches, result)
        ensure_profiles(conn, entity, asset)
        pending += _volume_and_nulls(entity, cfg, batches, profiles(conn, asset), result)
        if entity.name == "opportunities" and not n_missing:
            pending += _revenue_spikes(conn, cfg, batches, result)
    pending.append(_freshness(conn, entity, asset, cfg, today or date.today(), result))
    return pending


def _row_checks(conn, entity: Entity, cfg: QualityConfig, batches, result) -> list[Pending]:
    rules = suites.row_rules(entity)
    ids = [b.batch_id for b in batches]
    placeholders = ", ".join("?" for _ in ids)
    partners_known = (
        "select distinct partner_id from raw_crm.partners where " + UNBLOCKED
        if table_exists(conn, "raw_crm", "partners")
        else "select null::varchar as partner_id where false"
    )
    joins = ""
    partner_expr = "null::varchar"
    if entity.name == "partners":
        joins = (
            "left join (select distinct partner_id as _parent_known from raw_crm.partners) kp "
            "on kp._parent_known = r.parent_partner_id"
        )
        partner_expr = "partner_id"
    elif "partner_id" in {c.name for c in entity.columns}:
        joins = (
            f"left join (select partner_id as _partner_known from ({partners_known})) kp "
            "on kp._partner_known = r.partner_id"
        )
        partner_expr = "partner_id"
    metrics = []
    by_check: dict[str, list[tuple[int, suites.RowRule]]] = {}
    for i, rule in enumerate(rules):
        metrics.append(f'count(*) filter (where {rule.predicate}) as "rule_{i}"')
        by_check.setdefault(rule.check_name, []).append((i, rule))
    for name, check_rules in by_check.items():
        any_pred = " or ".join(f"coalesce(({r.predicate}), false)" for _, r in check_rules)
        metrics.append(f'count(*) filter (where {any_pred}) as "rows__{name}"')
        metrics.append(
            f'list(distinct {partner_expr}) filter (where {any_pred}) as "partners__{name}"'
        )
    key = entity.key
    frame = (
        conn.execute(
            f"""
        select _batch_id as batch_id, count(*) as row_count, {", ".join(metrics)}
        from (select r.*{", kp.*" if joins else ""} from {entity.raw_table} r {joins}) as t
        where _batch_id in ({placeholders})
        group by _batch_id
        """,
            ids,
        )
        .df()
        .set_index("batch_id")
    )
    duplicates, proof = _duplicate_keys(conn, entity, frame["row_count"])
    frame[f"rows__{suites.UNIQUE_KEY}"] = duplicates
    tolerance = cfg.max_violating_rows
    out: list[Pending] = []
    for b in batches:
        if b.batch_id not in frame.index:
            continue
        row = frame.loc[b.batch_id]
        for name in (*suites.ROW_CHECKS, suites.UNIQUE_KEY):
            extra = {}
            if name == suites.UNIQUE_KEY:
                per_column = {key: int(row[f"rows__{name}"])}
                partners: list[str] = []
                extra = {"proved_by": proof[b.batch_id]}
            elif name in by_check:
                per_column = {}
                for i, rule in by_check[name]:
                    per_column[rule.column] = per_column.get(rule.column, 0) + int(row[f"rule_{i}"])
                partners = _list(row[f"partners__{name}"])
            else:
                continue
            affected = int(row[f"rows__{name}"])
            limit = 0 if name == suites.UNIQUE_KEY else tolerance
            r = result(
                name, b, observed_value=float(affected),
                threshold=f"<= {limit} violating rows", rows_affected=affected,
                partner_ids=partners[:PARTNER_LIST_LIMIT],
                details={"rows_checked": int(row["row_count"]),
                         "violations_by_column": per_column, "partners_total": len(partners),
                         **extra},
            )  # fmt: skip
            out.append((r, [Measurement(name, f"{name}|{b.batch_id}", affected, max_value=limit)]))
    return out


def _duplicate_keys(
    conn, entity: Entity, row_counts: pd.Series
) -> tuple[pd.Series, dict[str, str]]:
    """Rows beyond the first per key, per batch, and how that was established.

    Ingest quarantines a repeated key before it commits an extract (``_mark_duplicates``), so a
    batch still holding exactly the rows its manifest says were loaded has none: counting the
    distinct keys of all history again cost 1.5 s of a full build at M. Any other batch (rows
    added, removed or written outside ingest) is counted.
    """
    ids = list(row_counts.index)
    if not ids:
        return pd.Series(dtype="int64"), {}
    loaded = dict(
        conn.execute(
            f"""
            select batch_id, sum(rows_loaded) from raw_meta.file_manifest
            where source = ? and entity = ? and status = 'loaded'
              and batch_id in ({", ".join("?" for _ in ids)})
            group by batch_id
            """,
            [entity.source, entity.name, *ids],
        ).fetchall()
    )
    proved = {b for b in ids if loaded.get(b) == row_counts[b]}
    counted = [b for b in ids if b not in proved]
    duplicates = pd.Series(0, index=row_counts.index, dtype="int64")
    if counted:
        for batch_id, n in conn.execute(
            f"""
            select _batch_id, count(*) - count(distinct "{entity.key}") from {entity.raw_table}
            where _batch_id in ({", ".join("?" for _ in counted)})
            group by _batch_id
            """,
            counted,
        ).fetchall():
            duplicates[batch_id] = n
    return duplicates, {b: "ingest" if b in proved else "count" for b in ids}


def _volume_and_nulls(entity: Entity, cfg: QualityConfig, batches, history, result):
    out: list[Pending] = []
    null_cols = suites.nullable_columns(entity)
    profile = history.set_index("batch_id")
    restates = entity.kind == "snapshot"
    no_verdict = "no verdict: too little history" + (
        " at this delivery cadence" if restates else ""
    )
    for b in batches:
        if b.batch_id not in profile.index:
            continue  # blocked by an ERROR check above: not profiled history, no verdict
        current = profile.loc[b.batch_id]
        count = int(current["row_count"])
        nulls = json.loads(current["null_counts"] or "{}")
        vol = anomalies.volume_band(history, b.extract_date, cfg.volume, restates=restates)
        r = result(
            suites.VOLUME_ANOMALY, b, observed_value=float(count),
            threshold=vol.describe() if vol else no_verdict,
            rows_affected=count,
            details={"expected": vol.center if vol else None,
                     "seasonal_factor": vol.seasonal_factor if vol else None,
                     "history_batches": vol.history if vol else None,
                     "change": (count / vol.center - 1) if vol and vol.center else None},
        )  # fmt: skip
        out.append((r, [Measurement(suites.VOLUME_ANOMALY, f"volume|{b.batch_id}",
                                    vol.excess(count) if vol else None, max_value=0)]))  # fmt: skip
        nb = (
            anomalies.null_rate_bands(
                history, b.extract_date, cfg.null_rate, count, restates=restates
            )
            or {}
        )
        rates = {c: (nulls.get(c, 0) / count if count else 0.0) for c in null_cols}
        excess = {c: nb[c].excess(rates[c]) for c in null_cols if c in nb}
        shifted = {
            c: {"rate": rates[c], "expected": nb[c].center, "band": nb[c].describe()}
            for c, e in excess.items()
            if e > 0
        }
        worst = max(excess, key=excess.get, default=None)
        r = result(
            suites.NULL_RATE_SHIFT, b,
            observed_value=rates[worst] if worst else None,
            threshold=nb[worst].describe() if worst else no_verdict,
            rows_affected=int(nulls.get(worst, 0)) if worst and worst in shifted else 0,
            details={"column": worst, "shifted_columns": shifted, "null_rates": rates},
        )  # fmt: skip
        out.append((r, [
            Measurement(suites.NULL_RATE_SHIFT, f"null|{b.batch_id}|{c}", e, max_value=0)
            for c, e in excess.items()
        ]))  # fmt: skip
    return out


def _month_of_extract(extract_date: date | None) -> date | None:
    if extract_date is None:
        return None
    return (extract_date - timedelta(days=1)).replace(day=1)


def _revenue_spikes(conn, cfg: QualityConfig, batches, result) -> list[Pending]:
    months = {b.batch_id: _month_of_extract(b.extract_date) for b in batches}
    frame = anomalies.revenue_spikes(
        conn, [m for m in months.values() if m is not None], cfg.revenue_spike
    )
    spike = cfg.revenue_spike
    # one frame per month, split once: a full build evaluates every month of history
    by_month = dict(tuple(frame.groupby(frame["month"].dt.date))) if not frame.empty else {}
    out: list[Pending] = []
    for b in batches:
        month = months[b.batch_id]
        if month is None:
            continue
        rows = by_month.get(month, frame.iloc[0:0])
        flagged = rows[rows["excess"] > 0] if not rows.empty else rows
        partners = sorted(flagged["partner_id"].tolist()) if not flagged.empty else []
        r = result(
            suites.REVENUE_SPIKE_ANOMALY, b,
            observed_value=float(rows["revenue_ratio"].max()) if not rows.empty else None,
            threshold=(f"< {spike.ratio:g}x trailing revenue in deals never seen in the pipeline, "
                       f"unless activity "
                       f"> {spike.support_ratio_max:g} of its trailing level"),
            rows_affected=int(flagged["unseen_deals"].sum()) if partners else 0,
            partner_ids=partners,
            details={"month": month.isoformat(), "partners_evaluated": len(rows),
                     "flagged": _records(flagged)},
        )  # fmt: skip
        # One measurement per batch, its partners' largest excess: the verdict is the same as
        # one per partner (any partner over fails it; the flagged partners are named above),
        # without a GX row per partner and month (1.8 M at scale L in a full build).
        worst = rows["excess"].max() if not rows.empty else None
        out.append((r, [
            Measurement(suites.REVENUE_SPIKE_ANOMALY, f"spike|{b.batch_id}",
                        None if worst is None or pd.isna(worst) else float(worst), max_value=0)
        ] if not rows.empty else []))  # fmt: skip
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for rec in frame.to_dict("records"):
        out.append({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in rec.items()})
    return out


def _freshness(conn, entity: Entity, asset: str, cfg: QualityConfig, today: date, result):
    """Age of the newest delivered extract (blocked or not: a blocked batch alerts already)."""
    row = conn.execute(
        f"""
        select _batch_id, _extract_date, list(distinct _source_file order by _source_file)
        from {entity.raw_table}
        where _extract_date = (select max(_extract_date) from {entity.raw_table})
        group by all order by 1 limit 1
        """
    ).fetchone()
    max_age = cfg.freshness.max_age_days
    batch = BatchInfo(row[0], row[1], list(row[2] or [])) if row else None
    age = (today - row[1]).days if row else None
    r = result(
        suites.FRESHNESS, batch,
        observed_value=float(age) if age is not None else None,
        threshold=f"<= {max_age} days",
        details={"newest_extract_date": batch.extract_date.isoformat() if batch else None,
                 "as_of": today.isoformat(),
                 "reason": None if batch else "no extract loaded"},
    )  # fmt: skip
    # No extract at all is as stale as it gets.
    observed = float(age) if age is not None else float("inf")
    return r, [Measurement(suites.FRESHNESS, "freshness", observed, max_value=max_age)]


# -- marts ------------------------------------------------------------------------------------
def _mart_bands(conn, config: QualityConfig) -> list[str] | None:
    if config.marts.bands:
        return config.marts.bands
    for table in ("scoring_bands", "score_bands"):
        cols = _table_columns(conn, "scoring_config", table)
        for col in ("band", "band_name", "name"):
            if col in cols:
                return [
                    r[0]
                    for r in conn.execute(
                        f'select distinct "{col}" from scoring_config.{table} where "{col}" is not null'
                    ).fetchall()
                ]
    return None


def check_marts(conn: duckdb.DuckDBPyConnection, config: QualityConfig) -> list[CheckResult]:
    """Checks on ``marts.fct_partner_scores`` (the whole table: scores have no batches)."""
    return decide(_mart_pending(conn, config))


def _mart_pending(conn: duckdb.DuckDBPyConnection, config: QualityConfig) -> list[Pending]:
    ensure_quality_schema(conn)
    asset = suites.MART_ASSET
    cfg = config.for_asset(asset)

    def result(name: str, **kw) -> CheckResult:
        return CheckResult(name, asset, config.severity_of(name, asset), True, **kw)

    actual = _table_columns(conn, "marts", "fct_partner_scores")
    missing = [c for c in suites.MART_COLUMNS if c not in actual]
    schema = result(suites.SCHEMA, observed_value=float(len(missing)),
                    threshold="0 missing columns",
                    details={"missing": missing, "exists": bool(actual)})  # fmt: skip
    pending: list[Pending] = [
        (schema, [Measurement(suites.SCHEMA, "schema", len(missing) if actual else 1, max_value=0)])
    ]
    if missing:
        return pending
    table = "marts.fct_partner_scores"
    bands = _mart_bands(conn, cfg)
    rules = [suites.RowRule(suites.NOT_NULL, c, f'"{c}" is null') for c in suites.MART_COLUMNS]
    rules.append(
        suites.RowRule(
            suites.VALUE_RANGES, "score",
            f"score < {cfg.marts.score_min} or score > {cfg.marts.score_max}",
        )
    )  # fmt: skip
    if bands:
        rules.append(
            suites.RowRule(
                suites.ACCEPTED_VALUES, "band",
                f"band is not null and band not in ({suites._quote(bands)})",
            )
        )  # fmt: skip
    known = (
        f"select distinct partner_id from raw_crm.partners where {UNBLOCKED}"
        if table_exists(conn, "raw_crm", "partners")
        else "select null::varchar as partner_id where false"
    )
    rules.append(
        suites.RowRule(
            suites.REFERENTIAL_INTEGRITY, "partner_id",
            f"partner_id is not null and partner_id not in ({known})",
        )
    )  # fmt: skip
    grain = ", ".join(suites.MART_GRAIN)
    metrics, names = [], []
    for name in dict.fromkeys(r.check_name for r in rules):
        pred = " or ".join(
            f"coalesce(({r.predicate}), false)" for r in rules if r.check_name == name
        )
        metrics += [
            f'count(*) filter (where {pred}) as "rows__{name}"',
            f'list(distinct partner_id) filter (where {pred}) as "partners__{name}"',
        ]
        names.append(name)
    row = (
        conn.execute(
            f"""
        select count(*) as row_count, {", ".join(metrics)},
               (select count(*) from (
                   select {grain} from {table} group by all having count(*) > 1
               )) as "rows__{suites.UNIQUE_KEY}"
        from {table}
        """
        )
        .df()
        .iloc[0]
    )
    names.append(suites.UNIQUE_KEY)
    for name in names:
        affected = int(row[f"rows__{name}"])
        limit = 0 if name == suites.UNIQUE_KEY else cfg.max_violating_rows
        partners = _list(row.get(f"partners__{name}"))
        r = result(
            name, observed_value=float(affected),
            threshold=f"<= {limit} " + ("duplicate grains" if name == suites.UNIQUE_KEY
                                        else "violating rows"),
            rows_affected=affected, partner_ids=partners[:PARTNER_LIST_LIMIT],
            details={"rows_checked": int(row["row_count"]), "accepted_bands": bands},
        )  # fmt: skip
        pending.append((r, [Measurement(name, f"{name}|table", affected, max_value=limit)]))
    pending.append(_band_churn(conn, table, cfg, result))
    return pending


def _band_churn(conn, table: str, cfg: QualityConfig, result) -> Pending:
    name = suites.BAND_CHURN_ANOMALY
    shares = anomalies.band_churn(conn, table, cfg.band_churn)
    if shares.empty:
        return result(name, threshold="no verdict: fewer than two periods"), []
    flagged = shares[shares["excess"] > 0]
    focus = flagged if not flagged.empty else shares.sort_values("period_start").tail(1)
    worst = focus.sort_values("excess").iloc[-1]
    partners = sorted({str(p) for ids in flagged["changed_partner_ids"] for p in _list(ids)})
    r = result(
        name, observed_value=float(worst["share"]),
        threshold=f"<= {float(worst['limit']):.3g} share of partners changing band",
        rows_affected=int(flagged["partners_changed"].sum()),
        partner_ids=partners[:PARTNER_LIST_LIMIT],
        details={"flagged_periods": [
            {"period_grain": x["period_grain"], "period_start": str(x["period_start"])[:10],
             "share": float(x["share"]), "limit": float(x["limit"]),
             "partners_changed": int(x["partners_changed"])}
            for _, x in flagged.iterrows()]},
    )  # fmt: skip
    return r, [
        Measurement(name, f"churn|{g}|{p}", e, max_value=0)
        for g, p, e in zip(
            shares["period_grain"], shares["period_start"], shares["excess"], strict=True
        )
    ]


# -- recording --------------------------------------------------------------------------------
@dataclass
class QualityRun:
    run_id: str
    results: list[CheckResult]
    blocked: int = 0
    alerts_sent: int = 0
    report_path: str | None = None

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]


def record(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    results: list[CheckResult],
    *,
    evaluated: set[tuple[str, str]] | None = None,
) -> QualityRun:
    """Write results, block batches that failed ERROR checks, alert, and rewrite the report."""
    from expectations.report import write_report
    from orchestration.alerts import dispatch

    write_results(conn, run_id, results)
    blocked = block_batches(conn, results)
    for r in results:
        level = logging.INFO if r.passed else logging.WARNING
        log.log(level, "quality check %s", r.summary())
    report = write_report(conn, settings)
    sent = dispatch(conn, settings, run_id, results, report_path=report)
    return QualityRun(run_id, results, blocked, sent, str(report))


def run_asset_checks(
    settings: Settings,
    asset_key: str,
    *,
    run_id: str | None = None,
    config: QualityConfig | None = None,
    today: date | None = None,
    conn: duckdb.DuckDBPyConnection | None = None,
) -> QualityRun:
    """Run, record and alert on one asset's checks: ``"raw_crm/opportunities"`` or the mart."""
    from orchestration.warehouse import connect

    config = config or load_config()
    run_id = run_id or f"manual-{uuid.uuid4().hex[:12]}"
    if conn is None:
        with connect(settings) as own:
            return run_asset_checks(
                settings, asset_key, run_id=run_id, config=config, today=today, conn=own
            )
    if asset_key == suites.MART_ASSET:
        results = check_marts(conn, config)
    else:
        schema, name = asset_key.split("/", 1)
        entity = ENTITIES_BY_KEY[(schema.removeprefix("raw_"), name)]
        results = check_raw_entity(
            conn, entity, config, today=today, landing=scan_landing(settings.landing_dir)
        )
    return record(conn, settings, run_id, results)


def run_all(
    settings: Settings,
    *,
    run_id: str | None = None,
    config: QualityConfig | None = None,
    today: date | None = None,
    include_marts: bool = True,
) -> QualityRun:
    """Every raw entity (partners first, for referential integrity) and, if built, the mart."""
    from orchestration.warehouse import connect

    config = config or load_config()
    run_id = run_id or f"manual-{uuid.uuid4().hex[:12]}"
    pending: list[Pending] = []
    landing = scan_landing(settings.landing_dir)  # once: every entity reports its own part
    with connect(settings) as conn:
        for entity in suites.raw_entities():
            if table_exists(conn, entity.raw_schema, entity.name):
                pending += _keyed(
                    suites.asset_name(entity),
                    _raw_entity_pending(conn, entity, config, today=today, landing=landing),
                )
        if include_marts and table_exists(conn, "marts", "fct_partner_scores"):
            pending += _keyed(suites.MART_ASSET, _mart_pending(conn, config))
        # One GX validation for every asset: each costs ~0.1 s of fixed overhead.
        return record(conn, settings, run_id, decide(pending))


def _keyed(asset: str, pending: list[Pending]) -> list[Pending]:
    """Measurement keys are unique within an asset; prefix them to share one evaluation."""
    return [(r, [replace(m, key=f"{asset}|{m.key}") for m in ms]) for r, ms in pending]


__all__ = [
    "CheckResult",
    "QualityRun",
    "check_marts",
    "check_raw_entity",
    "record",
    "run_all",
    "run_asset_checks",
    "utcnow",
]
