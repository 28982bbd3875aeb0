"""Remediation assets: partner-ops corrections and the per-partner data-gap list."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg

from expectations.remediation import load_corrections, refresh_partner_data_gaps
from expectations.results import CheckResult
from orchestration.alerts import dispatch
from orchestration.extracts import ENTITIES
from orchestration.settings import get_settings
from orchestration.warehouse import WAREHOUSE_POOL, connect


@dg.asset(
    key=["raw_meta", "corrections"],
    group_name="raw_meta",
    kinds={"duckdb", "csv"},
    pool=WAREHOUSE_POOL,
    description="Loads new partner-ops correction CSVs from the corrections folder, validated.",
)
def corrections(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    with connect(settings) as conn:
        report = load_corrections(conn, settings.corrections_dir)
        # A rejected file is a problem partner ops must fix: alert once per file content.
        results = [
            CheckResult("corrections_file", "raw_meta/corrections", "WARN", False,
                        batch_id=name, source_files=[name], observed_value=1.0,
                        threshold="a valid corrections file", details={"error": error})
            for name, error in report.rejected.items()
        ]  # fmt: skip
        if results:
            dispatch(conn, settings, context.run_id, results)
        total = conn.execute("select count(*) from raw_meta.corrections").fetchone()[0]
    for name, error in report.rejected.items():
        context.log.error(f"corrections file {name} rejected: {error}")
    return dg.MaterializeResult(
        metadata={
            "files_loaded": dg.MetadataValue.json(report.loaded),
            "files_rejected": dg.MetadataValue.json(report.rejected),
            "rows_loaded": report.rows,
            "corrections_total": total,
        }
    )


@dg.asset(
    key=["quality", "partner_data_gaps"],
    deps=[dg.AssetKey([e.raw_schema, e.name]) for e in ENTITIES],
    group_name="quality",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="Per partner: missing months, missing sources, missing extracts, quarantined rows.",
)
def partner_data_gaps(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    with connect(get_settings()) as conn:
        n = refresh_partner_data_gaps(conn)
        kinds = dict(
            conn.execute(
                "select gap_kind, count(*) from quality.partner_data_gaps group by all"
            ).fetchall()
        )
    return dg.MaterializeResult(metadata={"gaps": n, "by_kind": dg.MetadataValue.json(kinds)})
