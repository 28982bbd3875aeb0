"""Data quality: asset checks on raw assets and the score mart, corrections, data gaps."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.quality.assets import corrections, partner_data_gaps
from orchestration.defs.quality.checks import MART_KEY, build_asset_checks


def _mart_is_defined() -> bool:
    from orchestration.defs.dbt import dbt_warehouse

    return MART_KEY in dbt_warehouse.keys


asset_checks: list[dg.AssetChecksDefinition] = build_asset_checks(_mart_is_defined())
assets: list[dg.AssetsDefinition] = [corrections, partner_data_gaps]
sensors: list[dg.SensorDefinition] = []

__all__ = ["asset_checks", "assets", "sensors"]
