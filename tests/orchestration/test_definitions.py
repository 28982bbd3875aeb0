"""The Dagster code location loads, and its asset graph only changes on purpose.

To accept an intended change of lineage: PARTNERSCORE_UPDATE_SNAPSHOTS=1 pytest tests/orchestration/test_definitions.py
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    mp = pytest.MonkeyPatch()
    mp.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path_factory.mktemp("defs") / "data"))
    from orchestration.dbt_project import prepare_manifest

    prepare_manifest()
    from orchestration.definitions import defs as definitions

    yield definitions
    mp.undo()


def _render(defs: dg.Definitions) -> str:
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        parents = ", ".join(sorted(p.to_user_string() for p in node.parent_keys))
        pool = f" pools={sorted(node.pools)}" if node.is_materializable else ""
        lines.append(f"{key.to_user_string()} [{node.group_name}]{pool} <- {parents}")
    for check in sorted(graph.asset_check_keys, key=lambda c: c.to_user_string()):
        lines.append(f"check {check.to_user_string()}")
    return "\n".join(lines) + "\n"


def test_asset_graph_matches_snapshot(defs):
    rendered = _render(defs)
    if os.environ.get("PARTNERSCORE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), "no snapshot yet: run with PARTNERSCORE_UPDATE_SNAPSHOTS=1"
    assert rendered == SNAPSHOT.read_text()


def test_every_step_that_opens_the_warehouse_is_in_the_single_writer_pool(defs):
    graph = defs.resolve_asset_graph()
    steps = [a for a in graph.assets_defs if a.is_executable]
    assert len(steps) > 10
    for assets_def in steps:  # assets, dbt's multi-asset and the quality checks alike
        assert assets_def.node_def.pools == {"duckdb_warehouse"}, assets_def.node_def.name


def test_raw_assets_feed_the_dbt_sources_of_the_same_name(defs):
    from orchestration.extracts import ENTITIES

    graph = defs.resolve_asset_graph()
    for entity in ENTITIES:
        key = dg.AssetKey([entity.raw_schema, entity.name])
        assert graph.get(key).is_materializable, key
        children = {c.path[0] for c in graph.get(key).child_keys}
        assert "staging" in children, (key, children)


def test_sensors_and_schedule_are_on_by_default(defs):
    for sensor in defs.sensors:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in defs.schedules)
