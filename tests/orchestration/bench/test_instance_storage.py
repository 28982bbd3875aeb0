"""The pooled SQLite event log: same files as Dagster's own, fewer connects and fsyncs."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.instance_storage import PooledSqliteEventLogStorage, events_dir
from orchestration.pipeline import ensure_instance
from orchestration.settings import Settings


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    return Settings.from_env()


@dg.asset
def one() -> int:
    return 1


@dg.asset_check(asset=one)
def one_is_one() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _run(instance: dg.DagsterInstance) -> str:
    job = dg.Definitions(
        assets=[one], asset_checks=[one_is_one]
    ).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance)
    assert result.success
    return result.run_id


def test_a_new_instance_uses_the_pooled_event_log(settings):
    instance = ensure_instance(settings)
    storage = instance.event_log_storage
    assert isinstance(storage, PooledSqliteEventLogStorage)
    assert storage._base_dir == events_dir(settings.dagster_home)

    run_id = _run(instance)
    # Every engine sets synchronous=NORMAL (1); SQLite's default is FULL (2).
    with storage.run_connection(run_id) as conn:
        assert conn.exec_driver_sql("pragma synchronous").scalar() == 1
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"

    # Dagster's own storage (dagster dev, older code) reads the very same files.
    plain = SqliteEventLogStorage(events_dir(settings.dagster_home))
    types = [
        r.dagster_event.event_type_value for r in plain.get_logs_for_run(run_id) if r.dagster_event
    ]
    assert "ASSET_MATERIALIZATION_PLANNED" in types
    assert "ASSET_CHECK_EVALUATION" in types
    assert types.count("STEP_SUCCESS") == 2
    key = dg.AssetKey("one")
    assert plain.get_latest_materialization_events([key])[key].run_id == run_id
    instance.dispose()


def test_engines_are_bounded_and_wipe_closes_them(settings):
    instance = ensure_instance(settings)
    storage = instance.event_log_storage
    runs = [_run(instance) for _ in range(6)]
    assert len(storage._engines) <= 4
    assert list(storage._engines)[-1] in {*runs, "index"}
    storage.wipe()
    assert set(storage._engines) <= {"index"}  # wiping the index reopens it
    shards = settings.dagster_home / "history" / "runs"
    assert not any((shards / f"{run_id}.db").exists() for run_id in runs)
    _run(instance)  # works again after the wipe
    instance.dispose()


def test_an_older_instance_gets_the_entry_and_a_custom_one_is_left_alone(settings):
    settings.dagster_home.mkdir(parents=True)
    config = settings.dagster_home / "dagster.yaml"
    config.write_text("telemetry:\n  enabled: false\n")
    ensure_instance(settings).dispose()
    loaded = yaml.safe_load(config.read_text())
    assert loaded["telemetry"] == {"enabled": False}
    assert loaded["event_log_storage"]["class"] == "PooledSqliteEventLogStorage"
    assert loaded["event_log_storage"]["config"] == {"dagster_home": {"env": "DAGSTER_HOME"}}
    ensure_instance(settings).dispose()  # idempotent: added once
    assert config.read_text().count("event_log_storage") == 1

    custom = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"
    config.write_text(custom)
    instance = ensure_instance(settings)
    assert config.read_text() == custom
    assert type(instance.event_log_storage) is SqliteEventLogStorage
    instance.dispose()
