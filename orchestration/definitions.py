"""The Dagster code location: gathers each concern's definitions and sets global policy.

No logic lives here. Each ``orchestration/defs/<concern>`` package exports its
``assets``, ``asset_checks``, ``sensors`` and ``resources``.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs import dbt, ingest, quality, serving
from orchestration.defs.jobs import jobs, schedules

_concerns = (ingest, quality, dbt, serving)

defs = dg.Definitions(
    assets=[a for c in _concerns for a in getattr(c, "assets", [])],
    asset_checks=[a for c in _concerns for a in getattr(c, "asset_checks", [])],
    sensors=[s for c in _concerns for s in getattr(c, "sensors", [])],
    resources={k: v for c in _concerns for k, v in getattr(c, "resources", {}).items()},
    jobs=jobs,
    schedules=schedules,
)
