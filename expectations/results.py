"""Check results and where they are kept: ``quality.check_results`` and blocked batches."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd

QUALITY_DDL = (
    "create schema if not exists quality",
    """
    create table if not exists quality.check_results (
        run_id varchar not null,
        checked_at timestamp not null,
        check_name varchar not null,
        asset_key varchar not null,
        batch_id varchar,
        extract_date date,
        source_files json,
        severity varchar not null,
        passed boolean not null,
        observed_value double,
        threshold varchar,
        rows_affected bigint,
        partner_ids json,
        details json
    )
    """,
    """
    create table if not exists quality.alerts (
        fingerprint varchar primary key,
        check_name varchar not null,
        asset_key varchar not null,
        batch_id varchar,
        severity varchar not null,
        status varchar not null,
        message varchar not null,
        partner_ids json,
        rows_affected bigint,
        report_path varchar,
        channels json,
        run_id varchar,
        first_seen_at timestamp not null,
        last_seen_at timestamp not null,
        sent_at timestamp,
        resolved_at timestamp
    )
    """,
)

# raw_meta.blocked_batches as agreed with ingest; created here too if ingest has not yet.
BLOCKED_DDL = (
    "create schema if not exists raw_meta",
    """
    create table if not exists raw_meta.blocked_batches (
        batch_id varchar, source varchar, entity varchar, extract_date date,
        check_name varchar, reason varchar, blocked_at timestamp, released_at timestamp
    )
    """,
)

MAX_PARTNERS_LISTED = 200
RESULT_COLUMNS = (
    "run_id", "checked_at", "check_name", "asset_key", "batch_id", "extract_date",
    "source_files", "severity", "passed", "observed_value", "threshold", "rows_affected",
    "partner_ids", "details",
)  # fmt: skip


def ensure_quality_schema(conn: duckdb.DuckDBPyConnection) -> None:
    for ddl in (*QUALITY_DDL, *BLOCKED_DDL):
        conn.execute(ddl)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class CheckResult:
    """One check's verdict on one batch (or on the whole table when ``batch_id`` is None)."""

    check_name: str
    asset_key: str  # "raw_crm/opportunities"
    severity: str
    passed: bool
    batch_id: str | None = None
    extract_date: date | None = None
    source_files: list[str] = field(default_factory=list)
    observed_value: float | None = None
    threshold: str | None = None
    rows_affected: int = 0
    partner_ids: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == "ERROR"

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        scope = f" batch {self.batch_id}" if self.batch_id else ""
        text = f"{self.check_name} on {self.asset_key}{scope}: {verdict}"
        if not self.passed:
            text += f" (observed {_fmt(self.observed_value)}, threshold {self.threshold}"
            text += f", {self.rows_affected} rows"
            if self.partner_ids:
                text += f", partners {', '.join(self.partner_ids[:10])}"
                if len(self.partner_ids) > 10:
                    text += f" +{len(self.partner_ids) - 10} more"
            text += ")"
            if self.details.get("message"):
                text += f": {self.details['message']}"
        return text

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["extract_date"] = self.extract_date.isoformat() if self.extract_date else None
        return data


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}"


def write_results(conn: duckdb.DuckDBPyConnection, run_id: str, results: list[CheckResult]) -> None:
    ensure_quality_schema(conn)
    now = utcnow()
    rows = [
        (
            run_id,
            now,
            r.check_name,
            r.asset_key,
            r.batch_id,
            r.extract_date,
            json.dumps(r.source_files),
            r.severity,
            r.passed,
            None if r.observed_value is None else float(r.observed_value),
            r.threshold,
            int(r.rows_affected),
            json.dumps(sorted(r.partner_ids)[:MAX_PARTNERS_LISTED]),
            json.dumps(r.details, default=str),
        )
        for r in results
    ]
    if rows:
        frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)  # noqa: F841 (read by DuckDB below)
        conn.execute(
            f"insert into quality.check_results ({', '.join(RESULT_COLUMNS)}) "
            f"select {', '.join(RESULT_COLUMNS)} from frame"
        )


def block_batches(conn: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> int:
    """Insert an unreleased block for every batch an ERROR check failed; returns new blocks."""
    ensure_quality_schema(conn)
    added = 0
    for r in results:
        if not r.blocks or not r.batch_id:
            continue
        schema, entity = r.asset_key.split("/", 1)
        exists = conn.execute(
            "select count(*) from raw_meta.blocked_batches "
            "where batch_id = ? and check_name = ? and released_at is null",
            [r.batch_id, r.check_name],
        ).fetchone()[0]
        if exists:
            continue
        conn.execute(
            "insert into raw_meta.blocked_batches "
            "(batch_id, source, entity, extract_date, check_name, reason, blocked_at, released_at) "
            "values (?, ?, ?, ?, ?, ?, ?, null)",
            [
                r.batch_id,
                schema.removeprefix("raw_"),
                entity,
                r.extract_date,
                r.check_name,
                r.summary()[:1000],
                utcnow(),
            ],
        )
        added += 1
    return added
