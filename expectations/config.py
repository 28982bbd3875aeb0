"""Quality configuration (``expectations/config.yml``), validated with pydantic."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

CONFIG_PATH = Path(__file__).with_name("config.yml")
Severity = Literal["ERROR", "WARN"]


class Freshness(BaseModel):
    max_age_days: int = 45


class Volume(BaseModel):
    window: int = 6
    min_history: int = 3
    k: float = 4.0
    min_relative_change: float = 0.3
    seasonal_min_history: int = 13


class NullRate(BaseModel):
    window: int = 6
    min_history: int = 3
    k: float = 4.0
    min_abs_shift: float = 0.15


class RevenueSpike(BaseModel):
    trailing_months: int = 6
    min_history_months: int = 3
    ratio: float = 5.0
    min_baseline: float = 1000.0
    support_ratio_max: float = 0.5


class BandChurn(BaseModel):
    window: int = 6
    min_history: int = 3
    k: float = 3.5
    min_share: float = 0.2
    max_share_without_history: float = 0.5


class Marts(BaseModel):
    score_min: float = 0
    score_max: float = 100
    bands: list[str] | None = None


class QualityConfig(BaseModel):
    severity: dict[str, Severity] = Field(default_factory=dict)
    max_violating_rows: int = 0
    freshness: Freshness = Freshness()
    volume: Volume = Volume()
    null_rate: NullRate = NullRate()
    revenue_spike: RevenueSpike = RevenueSpike()
    band_churn: BandChurn = BandChurn()
    marts: Marts = Marts()
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def severity_of(self, check_name: str, asset: str) -> Severity:
        override = self.overrides.get(asset, {}).get("severity", {})
        return override.get(check_name) or self.severity.get(check_name, "WARN")

    def for_asset(self, asset: str) -> QualityConfig:
        """This config with ``overrides[asset]`` merged over it (severity handled separately)."""
        override = {k: v for k, v in self.overrides.get(asset, {}).items() if k != "severity"}
        if not override:
            return self
        data = self.model_dump()
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return QualityConfig.model_validate(data)


def load_config(path: Path | None = None) -> QualityConfig:
    """Read the config; ``PARTNERSCORE_QUALITY_CONFIG`` points at another file."""
    path = path or Path(os.environ.get("PARTNERSCORE_QUALITY_CONFIG") or CONFIG_PATH)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return QualityConfig.model_validate(data)
