"""The warehouse opens with its limits, and keeps opening after a query spilled to disk."""

from __future__ import annotations

from pathlib import Path

import yaml

from orchestration.settings import PROJECT_DIR, get_settings
from orchestration.warehouse import connect


def test_connect_again_after_a_spill(tmp_path, monkeypatch):
    """Scale L failed here: once a query spilled, setting temp_directory again (even to the
    same path) raises, and a second connect() in the process shares the open database."""
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARTNERSCORE_DUCKDB_MEMORY_LIMIT", "64MB")
    settings = get_settings()
    with connect(settings) as first:
        first.execute("create table t as select range as i, random() as r from range(3000000)")
        first.execute("create table sorted as select * from t order by r")
        assert first.execute("select current_setting('memory_limit')").fetchone()[0] == "61.0 MiB"
        temp = first.execute("select current_setting('temp_directory')").fetchone()[0]
        assert Path(temp) == settings.duckdb_temp_dir
        with connect(settings) as second:  # the same database, opened again while in use
            assert second.execute("select count(*) from sorted").fetchone()[0] == 3_000_000


def test_dbt_profile_sets_the_limits_when_the_database_opens():
    """dbt-duckdb runs `settings` on every cursor; the temp directory must not be among them."""
    output = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())["partnerscore"]["outputs"]
    local = output["local"]
    assert {"temp_directory", "memory_limit"} <= set(local["config_options"])
    assert "temp_directory" not in local.get("settings", {})
