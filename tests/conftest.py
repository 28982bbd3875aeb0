"""Shared fixtures: every test that writes data gets its own data directory."""

from __future__ import annotations

import pytest

from orchestration.settings import Settings, get_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Settings:
    """Point PARTNERSCORE_DATA_DIR (and DAGSTER_HOME) at a fresh temporary directory."""
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    settings = get_settings()
    settings.ensure_dirs()
    return settings
