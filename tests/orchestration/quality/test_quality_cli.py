"""`partnerscore alerts` and `partnerscore quality` read the warehouse read-only."""

from __future__ import annotations

import json

from quality_builders import TODAY, Spec, build
from typer.testing import CliRunner

from expectations.runner import run_all
from orchestration.cli import app
from orchestration.warehouse import connect

runner = CliRunner()


def test_commands_without_warehouse_fail_in_one_line(qsettings):
    for args in (["alerts"], ["quality"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert "no warehouse at" in result.output
        assert "Traceback" not in result.output


def test_alerts_and_quality_commands(qsettings):
    with connect(qsettings) as conn:
        build(conn, Spec(defects={"orphan_partner_id"}))
    run_all(qsettings, run_id="r1", today=TODAY)
    result = runner.invoke(app, ["alerts", "--format", "json"])
    assert result.exit_code == 0, result.output
    alerts = json.loads(result.output)
    assert [(a["check_name"], a["asset_key"], a["partner_ids"]) for a in alerts] == [
        ("referential_integrity", "raw_crm/opportunities", ["P99999"])
    ]
    later = runner.invoke(app, ["alerts", "--since", "2999-01-01", "--format", "json"])
    assert json.loads(later.output) == []
    bad = runner.invoke(app, ["alerts", "--since", "yesterday"])
    assert bad.exit_code == 1 and "invalid --since" in bad.output
    table = runner.invoke(app, ["quality", "--failed"], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    assert "referential_integrity" in table.output and "raw_crm/opportunities" in table.output
    assert "not_null" not in table.output  # --failed hides passing checks
    assert str(qsettings.reports_dir / "quality.html") in table.output.replace("\n", "")
