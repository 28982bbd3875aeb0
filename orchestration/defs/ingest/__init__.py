"""Ingest: landing specs, raw assets and the landing sensor (engine in orchestration.ingest)."""

from __future__ import annotations

import dagster as dg

from .assets import landing_key, landing_specs, raw_assets, raw_key, report_metadata
from .sensors import landing_sensor

assets: list[dg.AssetSpec | dg.AssetsDefinition] = [*landing_specs, *raw_assets]
sensors: list[dg.SensorDefinition] = [landing_sensor]
asset_checks: list[dg.AssetChecksDefinition] = []

__all__ = [
    "asset_checks",
    "assets",
    "landing_key",
    "landing_sensor",
    "raw_key",
    "report_metadata",
    "sensors",
]
