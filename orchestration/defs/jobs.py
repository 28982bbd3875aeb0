"""Jobs and schedules, built from asset selections."""

from __future__ import annotations

import dagster as dg

PIPELINE_JOB_NAME = "partnerscore_pipeline"
INGEST_JOB_NAME = "ingest_landing"

# Landing specs are external (files arrive from outside): everything else is materialized.
_materializable = dg.AssetSelection.all() - dg.AssetSelection.groups("landing")

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB_NAME,
    selection=_materializable,
    description="Ingest new extracts, run quality checks, build the dbt models and publish.",
)
ingest_job = dg.define_asset_job(
    INGEST_JOB_NAME,
    selection=dg.AssetSelection.key_prefixes(["raw_crm"], ["raw_portal"], ["raw_lms"]),
    description="Load new landing files into the raw tables (and run their checks).",
)

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=pipeline_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh scores every morning, after the nightly CRM, portal and LMS exports.",
)

jobs = [pipeline_job, ingest_job]
schedules = [daily_refresh]
