"""Data quality: asset checks on raw assets and the score mart, corrections, data gaps."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.quality.assets import corrections, partner_data_gaps
from orchestration.defs.quality.checks import build_asset_checks
from orchestration.settings import PROJECT_DIR


def _mart_model_exists() -> bool:
    """The mart's checks are defined once its dbt model is (a file lookup: no dbt parse)."""
    return any((PROJECT_DIR / "models").rglob("fct_partner_scores.sql"))


asset_checks: list[dg.AssetChecksDefinition] = build_asset_checks(_mart_model_exists())
assets: list[dg.AssetsDefinition] = [corrections, partner_data_gaps]
sensors: list[dg.SensorDefinition] = []

__all__ = ["asset_checks", "assets", "sensors"]
