"""`partnerscore explain` tells which decision set the scorecard and which attributes the partner
was compared with (read from a copy of the fixture warehouse)."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from tests.scoring.conftest import BuiltProject
from tests.scoring.fixture_data import MOVED_PARTNER

runner = CliRunner()


@pytest.fixture
def scores_dir(built_project: BuiltProject, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(built_project.data_dir / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(data_dir))
    for name in ("DAGSTER_HOME", "DBT_TARGET_PATH", "DBT_LOG_PATH", "PARTNERSCORE_DUCKDB_TEMP_DIR"):
        monkeypatch.delenv(name, raising=False)
    return data_dir


def _explain(*args: str) -> str:
    result = runner.invoke(app, ["explain", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_explain_names_the_rescoring_and_the_attributes_of_the_time(scores_dir) -> None:
    rescored = _explain(MOVED_PARTNER, "--period", "2026-01")
    assert "in peer segment 'msp / EMEA'" in rescored
    assert "as a msp (CRM extract of 2026-02-01)" in rescored
    assert "scorecard v3 (rescored by R002)" in rescored
    assert "previous period scored with another scorecard" in rescored
    before = _explain(MOVED_PARTNER, "--period", "2025-08")
    assert "as a reseller (CRM extract of 2025-09-01)" in before
    assert "scorecard v2" in before
    assert "rescored" not in before and "another scorecard" not in before


def test_scores_default_to_the_latest_complete_period(scores_dir) -> None:
    """The month in progress is scored but labelled provisional; by default the scores shown
    are those of the latest month the data covers to its last day."""
    import duckdb

    conn = duckdb.connect(str(scores_dir / "warehouse.duckdb"))
    latest = conn.execute(
        "select max(period_start) from marts.fct_partner_scores where period_grain = 'month'"
    ).fetchone()[0]
    previous = conn.execute(
        "select max(period_start) from marts.fct_partner_scores "
        "where period_grain = 'month' and is_period_complete and period_start < ?",
        [latest],
    ).fetchone()[0]
    # make the latest month a month in progress, as a daily refresh leaves it
    conn.execute(
        "update marts.fct_partner_scores set is_period_complete = false "
        "where period_grain = 'month' and period_start = ?",
        [latest],
    )
    conn.close()
    result = runner.invoke(app, ["scores"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert previous is not None, "the fixture has complete months before the latest"
    assert f"month starting {previous}" in output
    assert "provisional" not in output
    result = runner.invoke(app, ["scores", "--period", f"{latest:%Y-%m}"], env={"COLUMNS": "200"})
    output = " ".join(result.output.split())
    assert f"month starting {latest} (provisional: period in progress)" in output
