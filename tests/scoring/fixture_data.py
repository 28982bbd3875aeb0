"""A small, deterministic raw warehouse for developing and testing the dbt scoring project.

Creates every raw table from the extract contract (orchestration/extracts.py) plus the raw_meta
tables, and fills them with 36 partners over 18 months whose quality is known (``QUALITY``), one
blocked batch and one partner-ops correction. Run ``python -m tests.scoring.fixture_data DIR`` to
write ``DIR/warehouse.duckdb`` for ``dbt build``.
"""

from __future__ import annotations

import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from orchestration.extracts import DUCKDB_TYPES, ENTITIES, LINEAGE_COLUMNS, PARTNER_TYPES, REGIONS

FIRST_MONTH = date(2025, 1, 1)
MONTHS = 18
BLOCKED_BATCH = "crm-opportunities-2026-02-01"
CORRECTED_OPPORTUNITY = "O-P001-0000"
# A reseller (EMEA) that became an MSP: from the extract describing 2025-09 on, the CRM says msp.
MOVED_PARTNER = "P004"
MOVED_FROM_INDEX = 8
META_DDL = {
    "blocked_batches": "batch_id varchar, source varchar, entity varchar, extract_date date, "
    "check_name varchar, reason varchar, blocked_at timestamp, released_at timestamp",
    "corrections": "correction_id varchar, source varchar, entity varchar, record_key varchar, "
    "column_name varchar, corrected_value varchar, submitted_by varchar, submitted_at timestamp, "
    "reason varchar, applied_at timestamp",
    "quarantined_rows": "source varchar, entity varchar, source_file varchar, source_row bigint, "
    "extract_date date, column_name varchar, reason varchar, original_text varchar, "
    "file_sha256 varchar, batch_id varchar, quarantined_at timestamp",
    "file_manifest": "source varchar, entity varchar, extract_date date, source_file varchar, "
    "file_sha256 varchar, size_bytes bigint, file_format varchar, rows_read bigint, "
    "rows_loaded bigint, rows_quarantined bigint, extra_columns json, status varchar, "
    "error varchar, batch_id varchar, loaded_at timestamp",
}


def month_start(index: int) -> date:
    year, month = divmod(FIRST_MONTH.month - 1 + index, 12)
    return date(FIRST_MONTH.year + year, month + 1, 1)


def create_raw_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create empty raw and raw_meta tables exactly as the contract types them."""
    try:  # the ingest engine owns the DDL once it exists
        from orchestration.ingest import ensure_raw_schema  # type: ignore[attr-defined]
    except ImportError:
        ensure_raw_schema = None
    if ensure_raw_schema is not None:
        ensure_raw_schema(conn)
        return
    for entity in ENTITIES:
        conn.execute(f"create schema if not exists {entity.raw_schema}")
        columns = [f"{c.name} {DUCKDB_TYPES[c.type]}" for c in entity.columns]
        columns += [f"{name} {type_}" for name, type_ in LINEAGE_COLUMNS.items()]
        conn.execute(f"create table if not exists {entity.raw_table} ({', '.join(columns)})")
    conn.execute("create schema if not exists raw_meta")
    for table, ddl in META_DDL.items():
        conn.execute(f"create table if not exists raw_meta.{table} ({ddl})")


def _partners() -> list[dict]:
    rng = random.Random(11)
    partners = []
    for i in range(36):
        partner_type = PARTNER_TYPES[i % 3]  # reseller, msp, technology
        # 5 partners per type in NA and EMEA; APAC and LATAM groups are too small (fallback)
        region = REGIONS[(i // 3) % 2] if i < 30 else REGIONS[2 + i % 2]
        partners.append(
            {
                "partner_id": f"P{i + 1:03d}",
                "partner_name": f"Partner {i + 1}",
                "partner_type": partner_type,
                "tier": ("registered", "silver", "gold", "platinum")[i % 4],
                "region": region,
                "country": "US",
                "segment": "smb",
                "joined_date": date(2023, 1, 1) + timedelta(days=i * 7),
                "status": "active",
                "parent_partner_id": None,
                "employee_count": 10 + i,
                "quality": round(rng.random(), 3),
            }
        )
    return partners


PARTNERS = _partners()
QUALITY = {p["partner_id"]: p["quality"] for p in PARTNERS}


def _rows(rng: random.Random) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {e.name: [] for e in ENTITIES}
    for month_index in range(MONTHS):
        start = month_start(month_index)
        extract = month_start(month_index + 1)
        for p in PARTNERS:
            pid, q = p["partner_id"], p["quality"]
            snapshot = {k: v for k, v in p.items() if k != "quality"}
            if pid == MOVED_PARTNER and month_index >= MOVED_FROM_INDEX:
                snapshot["partner_type"] = "msp"  # changed track; earlier extracts say reseller
            rows["partners"].append({**snapshot, "_extract_date": extract})
            for n in range(1 + int(q * 4)):
                created = start + timedelta(days=rng.randrange(28))
                won = rng.random() < 0.2 + 0.6 * q
                closed = created + timedelta(days=int(60 - 40 * q) + rng.randrange(10))
                rows["opportunities"].append(
                    {
                        "opportunity_id": f"O-{pid}-{month_index * 10 + n:04d}",
                        "partner_id": pid,
                        "customer_id": f"C{rng.randrange(500)}",
                        "amount": round(1000 + 20000 * q * rng.random(), 2),
                        "currency": ("USD", "EUR", "GBP")[n % 3],
                        "stage": "closed_won" if won else "closed_lost",
                        "created_date": created,
                        "closed_date": closed,
                        "is_won": won,
                        "product_line": "core",
                        "deal_registration_id": None,
                        "_extract_date": extract,
                    }
                )
            for n in range(int(q * 3)):
                rows["deal_registrations"].append(
                    {
                        "deal_registration_id": f"D-{pid}-{month_index * 10 + n:04d}",
                        "partner_id": pid,
                        "customer_id": None,
                        "submitted_date": start + timedelta(days=3),
                        "decided_date": start + timedelta(days=10),
                        "status": "approved" if rng.random() < 0.3 + 0.6 * q else "rejected",
                        "estimated_value": 5000.0,
                        "currency": "USD",
                        "_extract_date": extract,
                    }
                )
            for n in range(3):
                converted = rng.random() < 0.1 + 0.6 * q
                rows["leads"].append(
                    {
                        "lead_id": f"L-{pid}-{month_index * 10 + n:04d}",
                        "partner_id": pid,
                        "created_date": start + timedelta(days=n),
                        "lead_source": "vendor_referred",
                        "is_converted": converted,
                        "converted_date": start + timedelta(days=n + 5) if converted else None,
                        "opportunity_id": None,
                        "_extract_date": extract,
                    }
                )
            rows["renewals"].append(
                {
                    "renewal_id": f"R-{pid}-{month_index:04d}",
                    "partner_id": pid,
                    "customer_id": None,
                    "contract_end_date": start + timedelta(days=14),
                    "renewal_status": "renewed" if rng.random() < 0.4 + 0.55 * q else "churned",
                    "original_amount": 1000.0,
                    "renewed_amount": 1000.0,
                    "currency": "USD",
                    "_extract_date": extract,
                }
            )
            for n in range(2):
                survey = "csat" if n == 0 else "nps"
                score = round(1 + 4 * q) if survey == "csat" else round(10 * q)
                rows["csat_responses"].append(
                    {
                        "response_id": f"S-{pid}-{month_index * 10 + n:04d}",
                        "partner_id": pid,
                        "customer_id": None,
                        "survey_type": survey,
                        "score": float(score),
                        "responded_at": datetime.combine(start, datetime.min.time()),
                        "_extract_date": extract,
                    }
                )
            for n in range(2 + int(q * 20)):
                event_type = ("login", "content_view", "event_attendance", "mdf_claim")[n % 4]
                rows["activity_events"].append(
                    {
                        "event_id": f"E-{pid}-{month_index:02d}-{n:03d}",
                        "partner_id": pid,
                        "user_id": f"U-{pid}-{n % 4}",
                        "event_type": event_type,
                        "occurred_at": datetime.combine(start, datetime.min.time())
                        + timedelta(days=n % 27, hours=9),
                        "properties": None,
                        "_extract_date": extract,
                    }
                )
            for n in range(int(q * 3)):
                passed = n == 0 and month_index % 3 == 0
                rows["learning_records"].append(
                    {
                        "record_id": f"X-{pid}-{month_index:02d}-{n}",
                        "learner_id": f"U-{pid}-{n}",
                        "partner_id": pid,
                        "course_id": f"course-{month_index}-{n}",
                        "course_name": "Course",
                        "course_kind": "certification" if passed else "course",
                        "verb": "passed" if passed else "completed",
                        "score": 90.0 if passed else None,
                        "occurred_at": datetime.combine(start, datetime.min.time())
                        + timedelta(days=5),
                        "certification_expires_date": start + timedelta(days=365)
                        if passed
                        else None,
                        "_extract_date": extract,
                    }
                )
    return rows


def load_fixture(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and insert the fixture rows (idempotent on an empty warehouse)."""
    create_raw_schema(conn)
    rows = _rows(random.Random(5))
    # The same opportunity restated in two extracts: staging must keep the later one.
    restated = dict(rows["opportunities"][0])
    restated["stage"], restated["is_won"] = "closed_won", True
    restated["amount"] = 1234.0
    restated["currency"] = "USD"
    restated["_extract_date"] = month_start(2)
    rows["opportunities"].append(restated)
    for entity in ENTITIES:
        table_rows = rows[entity.name]
        columns = [c.name for c in entity.columns]
        loaded_at = datetime(2026, 7, 2)
        values = []
        for source_row, row in enumerate(table_rows, start=1):
            batch = f"{entity.source}-{entity.name}-{row['_extract_date'].isoformat()}"
            values.append(
                [row.get(c) for c in columns]
                + [
                    f"{entity.name}.csv",
                    source_row,
                    row["_extract_date"],
                    "sha",
                    loaded_at,
                    None,
                    batch,
                ]
            )
        placeholders = ", ".join(["?"] * (len(columns) + len(LINEAGE_COLUMNS)))
        conn.executemany(f"insert into {entity.raw_table} values ({placeholders})", values)
    conn.execute(
        "insert into raw_meta.blocked_batches values "
        "(?, 'crm', 'opportunities', '2026-02-01', 'amount_range', 'fixture', now(), null)",
        [BLOCKED_BATCH],
    )
    conn.execute(
        "insert into raw_meta.corrections values ('K1', 'crm', 'opportunities', ?, 'amount', "
        "'4321.00', 'partner-ops', '2026-07-01 10:00:00', 'wrong amount', null)",
        [CORRECTED_OPPORTUNITY],
    )


def build_warehouse(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "warehouse.duckdb"
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as conn:
        load_fixture(conn)
    return path


if __name__ == "__main__":
    print(build_warehouse(Path(sys.argv[1])))
