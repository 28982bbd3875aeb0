"""Fixtures for quality tests: an isolated data dir and a warehouse built from the contract."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestration.settings import Settings, get_settings


@pytest.fixture
def qsettings(tmp_path, monkeypatch) -> Settings:
    """Settings on a fresh data dir with no alert channels configured."""
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    for name in (
        "PARTNERSCORE_ALERT_WEBHOOK_URL",
        "PARTNERSCORE_SMTP_HOST",
        "PARTNERSCORE_SMTP_PORT",
        "PARTNERSCORE_ALERT_EMAIL_TO",
        "PARTNERSCORE_ALERT_EMAIL_FROM",
        "PARTNERSCORE_QUALITY_CONFIG",
        "DBT_TARGET_PATH",
        "DBT_LOG_PATH",
        "PARTNERSCORE_DUCKDB_TEMP_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    settings.ensure_dirs()
    return settings


# The raw-table builders live next to the expectations tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "expectations"))
