"""Serving: the published copy of the marts that BI tools and scorecards read."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg

from orchestration.defs.dbt import dbt_warehouse
from orchestration.serving.publish import mark_published_stale, publish
from orchestration.settings import get_settings
from orchestration.warehouse import WAREHOUSE_POOL

MART_KEYS = sorted(
    (key for key in dbt_warehouse.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string()
)


@dg.asset(
    key=["serving", "published_warehouse"],
    deps=MART_KEYS,
    group_name="serving",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="Atomically replaced copy of the marts and scoring configuration for BI readers.",
)
def published_warehouse(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    report = publish(get_settings(), run_id=context.run_id)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(report.path),
            "tables": dg.MetadataValue.json(report.tables),
            "published_at": report.published_at.isoformat(),
            "mode": report.mode,
            "rows_written": report.rows_written,
            "seconds": dg.MetadataValue.json(report.seconds),
        }
    )


@dg.run_failure_sensor(
    name="mark_published_scores_stale",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When a run fails, keep the last good scores published but flag them stale.",
)
def mark_published_scores_stale(context: dg.RunFailureSensorContext) -> None:
    reason = (
        f"run {context.dagster_run.run_id} failed: {context.failure_event.message or 'see run'}"
    )
    if mark_published_stale(get_settings(), reason[:500]):
        context.log.info("published scores marked stale")


assets = [published_warehouse]
sensors = [mark_published_scores_stale]
