"""Small raw warehouses for quality tests: clean monthly batches plus injectable defects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from orchestration.extracts import ENTITIES_BY_KEY, LINEAGE_COLUMNS
from orchestration.ingest import ensure_raw_schema

TODAY = date(2026, 11, 20)
SOURCES = {
    "partners": "crm",
    "opportunities": "crm",
    "deal_registrations": "crm",
    "leads": "crm",
    "csat_responses": "crm",
    "renewals": "crm",
    "activity_events": "portal",
    "learning_records": "lms",
}


def month_start(year: int, month: int, offset: int = 0) -> date:
    idx = year * 12 + (month - 1) + offset
    return date(idx // 12, idx % 12 + 1, 1)


def insert(
    conn: duckdb.DuckDBPyConnection,
    entity_name: str,
    rows: list[dict],
    *,
    batch_id: str,
    extract_date: date,
) -> None:
    source = SOURCES[entity_name]
    entity = ENTITIES_BY_KEY[(source, entity_name)]
    cols = [c.name for c in entity.columns] + list(LINEAGE_COLUMNS)
    ext = "jsonl.gz" if source == "portal" else "csv.gz"
    file = f"{source}/{entity_name}/{extract_date}/{entity_name}.{ext}"
    values = []
    for i, row in enumerate(rows, start=1):
        lineage = {
            "_source_file": file,
            "_source_row": i,
            "_extract_date": extract_date,
            "_file_sha256": "0" * 64,
            "_loaded_at": datetime(2026, 11, 20, 6, 0),
            "_extra_columns": None,
            "_batch_id": batch_id,
        }
        full = {**{c: None for c in cols}, **row, **lineage}
        values.append([full[c] for c in cols])
    if values:
        frame = pd.DataFrame(values, columns=cols)  # noqa: F841 (read by DuckDB below)
        conn.execute(f"insert into {entity.raw_table} select * from frame")


@dataclass
class Spec:
    """What to build: partners, months and which defects to inject in the latest batch."""

    partners: int = 10
    months: int = 8
    end_month: date = date(2026, 10, 1)  # data month of the latest extract
    events_per_partner: int = 20
    defects: set[str] = field(default_factory=set)
    stale_entity: str = "leads"


def pid(i: int) -> str:
    return f"P{i:05d}"


def build(conn: duckdb.DuckDBPyConnection, spec: Spec) -> dict[str, list[str]]:
    """Fill raw tables; returns batch ids per entity, oldest first."""
    ensure_raw_schema(conn)
    batches: dict[str, list[str]] = {name: [] for name in SOURCES}
    partners = [pid(i) for i in range(1, spec.partners + 1)]
    first = month_start(spec.end_month.year, spec.end_month.month, -(spec.months - 1))
    for t in range(spec.months):
        month = month_start(first.year, first.month, t)
        extract = month_start(month.year, month.month, 1)
        last = t == spec.months - 1
        d = lambda day, _m=month: _m + timedelta(days=day)  # noqa: E731

        def add(name: str, rows: list[dict], _t=t, _extract=extract) -> None:
            if (
                name == spec.stale_entity
                and "stale_source" in spec.defects
                and _t >= spec.months - 3
            ):
                return
            batch = f"{name}-{_extract:%Y%m%d}"
            insert(conn, name, rows, batch_id=batch, extract_date=_extract)
            batches[name].append(batch)

        add("partners", [
            {"partner_id": p, "partner_name": f"Partner {p}", "partner_type": "reseller",
             "tier": "gold", "region": "EMEA", "country": "DE", "segment": "smb",
             "joined_date": date(2020, 1, 1), "status": "active", "employee_count": 50 + i}
            for i, p in enumerate(partners)
        ])  # fmt: skip
        opps = []
        for i, p in enumerate(partners):
            for k in range(2):
                opps.append({
                    "opportunity_id": f"OPP-{p}-{t}-{k}", "partner_id": p,
                    "customer_id": f"C{i}{k}", "amount": 1000 + 100 * ((i + t + k) % 5),
                    "currency": "EUR", "stage": "closed_won" if k == 0 else "proposal",
                    "created_date": d(2), "closed_date": d(20) if k == 0 else None,
                    "is_won": True if k == 0 else None, "product_line": "core",
                })  # fmt: skip
        quiet = partners[0]
        base = dict(opps[-1])
        if last and "orphan_partner_id" in spec.defects:
            opps.append({**base, "opportunity_id": "OPP-ORPHAN", "partner_id": "P99999"})
        if last and "unaccepted_value" in spec.defects:
            opps.append({**base, "opportunity_id": "OPP-BADSTAGE", "stage": "won!"})
        if last and "null_rate_shift" in spec.defects:
            for o in opps:
                o["customer_id"] = None
        if last and "revenue_spike_without_activity" in spec.defects:
            for k in range(2):
                opps.append({
                    "opportunity_id": f"OPP-SPIKE-{k}", "partner_id": quiet, "amount": 20000,
                    "currency": "EUR", "stage": "closed_won", "created_date": d(-240),
                    "closed_date": d(20), "is_won": True,
                })  # fmt: skip
            opps = [
                o
                for o in opps
                if not (o["partner_id"] == quiet and "SPIKE" not in o["opportunity_id"])
            ]
        add("opportunities", opps)
        silent = {quiet} if last and "revenue_spike_without_activity" in spec.defects else set()
        add("deal_registrations", [
            {"deal_registration_id": f"DR-{p}-{t}", "partner_id": p, "customer_id": "C1",
             "submitted_date": d(3), "status": "approved", "estimated_value": 500,
             "currency": "EUR"}
            for p in partners if p not in silent
        ])  # fmt: skip
        add("leads", [
            {"lead_id": f"L-{p}-{t}", "partner_id": p, "created_date": d(4),
             "lead_source": "partner_sourced", "is_converted": False}
            for p in partners
        ])  # fmt: skip
        csat = [
            {"response_id": f"CS-{p}-{t}", "partner_id": p, "customer_id": "C1",
             "survey_type": "csat", "score": 4.0, "responded_at": datetime.combine(d(5), datetime.min.time())}
            for p in partners
        ]  # fmt: skip
        if last and "out_of_range_value" in spec.defects:
            csat.append({**csat[-1], "response_id": "CS-BAD", "score": 42.0})
        add("csat_responses", csat)
        add("renewals", [
            {"renewal_id": f"RN-{p}-{t}", "partner_id": p, "customer_id": "C1",
             "contract_end_date": d(15), "renewal_status": "renewed", "original_amount": 100,
             "renewed_amount": 110, "currency": "EUR"}
            for p in partners
        ])  # fmt: skip
        per_partner = spec.events_per_partner + (t % 3)
        if last and "volume_drop" in spec.defects:
            per_partner = max(1, per_partner // 5)
        add("activity_events", [
            {"event_id": f"EV-{p}-{t}-{k}", "partner_id": p, "user_id": f"U-{p}",
             "event_type": "login", "occurred_at": datetime.combine(d(k % 27), datetime.min.time()),
             "properties": json.dumps({"k": k})}
            for p in partners if p not in silent for k in range(per_partner)
        ])  # fmt: skip
        add("learning_records", [
            {"record_id": f"R-{p}-{t}-{k}", "learner_id": f"LRN-{p}", "partner_id": p,
             "course_id": "C-1", "course_name": "Basics", "course_kind": "course",
             "verb": "passed", "score": 90.0, "occurred_at": datetime.combine(d(6), datetime.min.time())}
            for p in partners for k in range(2)
        ])  # fmt: skip
    return batches


def build_scores(
    conn: duckdb.DuckDBPyConnection,
    partners: int = 10,
    periods: int = 6,
    churn_last: bool = False,
    last_version: str = "v1",
) -> None:
    """A tiny marts.fct_partner_scores: stable bands, optionally most partners churn at the end
    (scored by ``last_version``: another version is a change of method)."""
    conn.execute("create schema if not exists marts")
    conn.execute(
        "create or replace table marts.fct_partner_scores (partner_id varchar, period_grain "
        "varchar, period_start date, score double, band varchar, scorecard_version varchar, "
        "peer_segment varchar)"
    )
    bands = ["bronze", "silver", "gold"]
    rows = []
    for t in range(periods):
        period = month_start(2026, 5, t)
        for i in range(1, partners + 1):
            band = bands[i % 3]
            if t == periods - 1 and churn_last and i <= partners * 0.8:
                band = bands[(i + 1) % 3]
            elif t % 2 == 1 and i == 1:
                band = bands[(i + 1) % 3]  # one partner flips every other period
            version = last_version if t == periods - 1 else "v1"
            rows.append((pid(i), "month", period, 30.0 + 20 * (i % 3), band, version, "smb"))
    frame = pd.DataFrame(rows)  # noqa: F841 (read by DuckDB below)
    conn.execute("insert into marts.fct_partner_scores select * from frame")
