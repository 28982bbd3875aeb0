"""Shared fixtures: every test that writes data gets its own data directory."""

from __future__ import annotations

import pytest

from orchestration.settings import Settings, get_settings


@pytest.fixture(scope="session", autouse=True)
def shared_manifest_cache(tmp_path_factory):
    """One dbt manifest cache per test worker: data dirs differ per test, the project does not,
    so dbt parses once per worker instead of once per test (and never in ~/.cache)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PARTNERSCORE_CACHE_DIR", str(tmp_path_factory.mktemp("manifest-cache")))
        yield


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Settings:
    """Point PARTNERSCORE_DATA_DIR (and DAGSTER_HOME) at a fresh temporary directory."""
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    settings = get_settings()
    settings.ensure_dirs()
    return settings


@pytest.fixture
def qsettings(tmp_path, monkeypatch) -> Settings:
    """A fresh data dir with no alert channels or path overrides leaking in from the caller."""
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
