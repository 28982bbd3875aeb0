"""The Dagster side: raw assets materialize in-process; the sensor requests the right runs."""

from __future__ import annotations

import json
import os
import time

import dagster as dg
import pytest
from ingest_helpers import OPP_HEADER, opp_row

from orchestration.defs.ingest import assets, landing_sensor, raw_key, sensors
from orchestration.defs.quality.checks import build_asset_checks
from orchestration.extracts import ENTITIES, get_entity


def _raw_assets() -> list[dg.AssetsDefinition]:
    return [a for a in assets if isinstance(a, dg.AssetsDefinition)]


def test_definitions_cover_every_entity():
    specs = [a for a in assets if isinstance(a, dg.AssetSpec)]
    assert sorted(s.key.to_user_string() for s in specs) == sorted(
        f"landing/{e.source}/{e.name}" for e in ENTITIES
    )
    raw = _raw_assets()
    assert sorted(a.key.to_user_string() for a in raw) == sorted(
        f"raw_{e.source}/{e.name}" for e in ENTITIES
    )
    for a in raw:
        assert a.op.pool == "duckdb_warehouse"
        assert a.specs_by_key[a.key].kinds == {"duckdb"}
        assert [d.asset_key.path[0] for d in a.specs_by_key[a.key].deps] == ["landing"]
    assert sensors == [landing_sensor]
    assert landing_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_materialize_commits_good_files_and_a_rejected_file_fails_its_check(landing, query):
    landing(
        "crm", "opportunities", "2025-03-01", "opportunities.csv", f"{OPP_HEADER}\n{opp_row('O1')}"
    )
    landing("crm", "opportunities", "2025-04-01", "opportunities.csv", "opportunity_id\nO2\n")
    landing(
        "portal",
        "activity_events",
        "2025-03-01",
        "activity_events.jsonl",
        '{"event_id":"E1","partner_id":"P1","user_id":"U1","event_type":"login",'
        '"occurred_at":"2025-03-02T10:00:00Z"}\n',
    )
    landing("crm", "opportunitys", "2025-03-01", "x.csv", "x\n")

    checks = build_asset_checks(include_marts=False)
    result = dg.materialize([*_raw_assets(), *checks], raise_on_error=False)

    # The raw assets succeed with what they could load; the unreadable file fails the blocking
    # ERROR check files_readable, which names it and fails the run.
    assert not result.success
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        f"raw_{e.source}/{e.name}" for e in ENTITIES
    }
    unreadable = [
        e for e in result.get_asset_check_evaluations()
        if e.check_name == "files_readable" and not e.passed
    ]  # fmt: skip
    assert [e.asset_key.to_user_string() for e in unreadable] == ["raw_crm/opportunities"]
    assert unreadable[0].severity == dg.AssetCheckSeverity.ERROR
    assert "landing/crm/opportunities/2025-04-01/opportunities.csv: missing required column(s)" in (
        unreadable[0].description
    )
    assert query("select count(*) from raw_crm.opportunities") == [(1,)]
    assert query("select count(*) from raw_portal.activity_events") == [(1,)]
    assert query("select count(*) from raw_crm.partners") == [(0,)]
    by_key = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    }
    opp = by_key["raw_crm/opportunities"]
    assert (opp["files_loaded"].value, opp["files_rejected"].value, opp["rows_loaded"].value) == (
        1,
        1,
        1,
    )
    assert len(opp["batch_ids"].value) == 2
    assert opp["landing_problems"].value == [
        "landing/crm/opportunitys: unknown entity folder; expected one of "
        + ", ".join(f"{e.source}/{e.name}" for e in ENTITIES)
    ]
    assert by_key["raw_portal/activity_events"]["rows_loaded"].value == 1


def _age(path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_sensor_requests_changed_entities_and_downstream(landing):
    path = landing("crm", "opportunities", "2025-03-01", "opportunities.csv", f"{OPP_HEADER}\n")
    _age(path)
    downstream = dg.asset(
        key=["staging", "stg_crm__opportunities"],
        deps=[raw_key(get_entity("crm", "opportunities"))],
    )(lambda: None)
    defs = dg.Definitions(assets=[*assets, downstream], sensors=[landing_sensor])

    result = landing_sensor(dg.build_sensor_context(definitions=defs))
    assert isinstance(result, dg.SensorResult)
    [request] = result.run_requests
    assert sorted(k.to_user_string() for k in request.asset_selection) == [
        "raw_crm/opportunities",
        "staging/stg_crm__opportunities",
    ]
    assert json.loads(result.cursor).keys() == {"crm/opportunities"}

    # Nothing changed: skip.
    again = landing_sensor(dg.build_sensor_context(cursor=result.cursor, definitions=defs))
    assert isinstance(again, dg.SkipReason)
    assert again.skip_message == "no new or changed landing files"

    # A new portal part arrives (and an unknown folder): only portal is requested.
    new = landing("portal", "activity_events", "2025-03-01", "activity_events.jsonl", "{}\n")
    _age(new)
    landing("crm", "oportunities", "2025-03-01", "x.csv", "x\n")
    third = landing_sensor(dg.build_sensor_context(cursor=result.cursor, definitions=defs))
    assert [k.to_user_string() for k in third.run_requests[0].asset_selection] == [
        "raw_portal/activity_events"
    ]


def test_sensor_waits_for_files_still_being_written(landing):
    landing("crm", "partners", "2025-03-01", "partners.csv", "partner_id\n")
    result = landing_sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == (
        "no new or changed landing files; waiting for files to settle in crm/partners"
    )


@pytest.fixture(autouse=True)
def _uses_data_dir(data_dir):
    """Every test here reads the landing zone of a temporary data dir."""
    return data_dir
