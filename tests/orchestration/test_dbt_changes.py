"""A refresh runs the dbt nodes downstream of changed sources, and no dbt when nothing changed."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.dbt_changes import (
    BuildInputs,
    build_succeeded,
    forget_last_build,
    forget_tests_of_another_project,
    plan_build,
    read_last_build,
    record_last_build,
    source_fingerprints,
    update_last_build,
)

EVENTS = "source.p.raw_portal.activity_events"
LEADS = "source.p.raw_crm.leads"
CORRECTIONS = "source.p.raw_meta.corrections"


def _node(kind: str, name: str, parents: list[str], schema: str = "staging") -> dict:
    return {
        "resource_type": kind,
        "name": name,
        "schema": schema,
        "depends_on": {"nodes": parents},
    }


@pytest.fixture
def manifest() -> dict:
    """events and leads each feed a staging model, both feed the mart; a seed feeds the mart."""
    sources = {
        sid: {"source_name": sid.split(".")[2], "name": sid.split(".")[3], "schema": schema}
        for sid, schema in (
            (EVENTS, "raw_portal"),
            (LEADS, "raw_crm"),
            (CORRECTIONS, "raw_meta"),
        )
    }
    nodes = {
        "seed.p.weights": _node("seed", "weights", [], "scoring_config"),
        "test.p.unique_weights": _node("test", "unique_weights", ["seed.p.weights"]),
        "model.p.stg_events": _node("model", "stg_events", [EVENTS, CORRECTIONS]),
        "model.p.stg_leads": _node("model", "stg_leads", [LEADS, CORRECTIONS]),
        "test.p.not_null_stg_leads": _node("test", "not_null_stg_leads", ["model.p.stg_leads"]),
        "model.p.fct_scores": _node(
            "model",
            "fct_scores",
            ["model.p.stg_events", "model.p.stg_leads", "seed.p.weights"],
            "marts",
        ),
        "test.p.leads_in_scores": _node(
            "test", "leads_in_scores", ["model.p.stg_leads", "model.p.fct_scores"]
        ),
        "unit_test.p.t": _node("unit_test", "t", ["model.p.fct_scores"]),
    }
    return {"sources": sources, "nodes": nodes}


SOURCES = {EVENTS: "e1", LEADS: "l1", CORRECTIONS: "c1"}


def _last(project="proj", sources=SOURCES, run_id="run-1") -> dict:
    return {"project": project, "sources": dict(sources), "run_id": run_id}


def test_a_new_event_batch_runs_its_downstream_and_tests_that_read_it(manifest):
    inputs = BuildInputs("proj", {**SOURCES, EVENTS: "e2"})
    plan = plan_build(manifest, inputs, _last(), published_run_id="run-1")
    assert not plan.skip
    assert plan.changed_sources == ["raw_portal.activity_events"]
    # the leads branch and the seed with its test are left out; the test reading the mart runs
    assert plan.excluded == ["not_null_stg_leads", "stg_leads", "unique_weights", "weights"]


def test_a_correction_runs_every_staging_model_it_feeds(manifest):
    inputs = BuildInputs("proj", {**SOURCES, CORRECTIONS: "c2"})
    plan = plan_build(manifest, inputs, _last(), published_run_id="run-1")
    assert plan.excluded == ["unique_weights", "weights"]


def test_nothing_changed_and_published_skips_dbt(manifest):
    plan = plan_build(manifest, BuildInputs("proj", SOURCES), _last(), published_run_id="run-1")
    assert plan.skip and plan.excluded == []


def test_nothing_changed_but_not_published_rebuilds_the_marts_for_publish(manifest):
    for published in (None, "run-0"):
        plan = plan_build(
            manifest, BuildInputs("proj", SOURCES), _last(), published_run_id=published
        )
        assert not plan.skip
        assert "fct_scores" not in plan.excluded and "leads_in_scores" not in plan.excluded
        assert {"stg_events", "stg_leads", "weights"} <= set(plan.excluded)


@pytest.mark.parametrize(
    "last_build",
    [None, _last(project="other")],
    ids=["no earlier build", "project changed"],
)
def test_everything_builds_without_a_comparable_earlier_build(manifest, last_build):
    plan = plan_build(manifest, BuildInputs("proj", SOURCES), last_build, published_run_id="run-1")
    assert not plan.skip and plan.excluded == []


def test_source_fingerprints_follow_batches_and_rows(tmp_path, manifest):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("create schema raw_portal; create schema raw_crm; create schema raw_meta")
    conn.execute(
        "create table raw_portal.activity_events as select 'e' || i as event_id, "
        "'b1' as _batch_id, timestamp '2026-01-01' as _loaded_at from range(100) t(i)"
    )
    conn.execute("create table raw_meta.corrections (record_key varchar, corrected_value varchar)")
    first = source_fingerprints(conn, manifest)
    assert first[LEADS] == "missing"  # a source a node reads but no table yet
    assert source_fingerprints(conn, manifest) == first  # stable when nothing changed

    conn.execute(
        "insert into raw_portal.activity_events values ('x', 'b2', timestamp '2026-01-02')"
    )
    conn.execute("insert into raw_meta.corrections values ('e1', 'p9')")
    second = source_fingerprints(conn, manifest)
    assert second[EVENTS] != first[EVENTS] and second[CORRECTIONS] != first[CORRECTIONS]

    # a re-delivered batch: same row count, new batch id
    conn.execute("update raw_portal.activity_events set _batch_id = 'b3' where _batch_id = 'b2'")
    assert source_fingerprints(conn, manifest)[EVENTS] != second[EVENTS]
    conn.execute("update raw_meta.corrections set corrected_value = 'p8'")
    assert source_fingerprints(conn, manifest)[CORRECTIONS] != second[CORRECTIONS]


def test_the_record_lives_in_the_warehouse_and_a_failed_build_forgets_it(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert read_last_build(conn) is None
    record_last_build(conn, BuildInputs("proj", SOURCES), "run-7")
    record_last_build(conn, BuildInputs("proj", {**SOURCES, EVENTS: "e2"}), "run-8")
    assert read_last_build(conn) == {
        "project": "proj",
        "sources": {**SOURCES, EVENTS: "e2"},
        "run_id": "run-8",
    }
    forget_last_build(conn)
    assert read_last_build(conn) is None


def test_a_build_succeeded_only_when_every_node_did():
    ok = {"results": [{"status": "success"}, {"status": "pass"}, {"status": "warn"}]}
    assert build_succeeded(ok)
    assert not build_succeeded({"results": [*ok["results"], {"status": "fail"}]})
    assert not build_succeeded({"results": [*ok["results"], {"status": "skipped"}]})
    assert not build_succeeded({})


def test_only_a_build_of_the_whole_project_updates_the_record(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    passed = {"results": [{"status": "success"}]}
    failed = {"results": [{"status": "error"}]}
    newer = BuildInputs("proj", {**SOURCES, EVENTS: "e2"})
    update_last_build(conn, BuildInputs("proj", SOURCES), "run-1", passed, whole_project=True)

    # a hand-picked subset leaves out nodes that may be behind its inputs: the record stays
    update_last_build(conn, newer, "run-2", passed, whole_project=False)
    update_last_build(conn, newer, "run-3", failed, whole_project=False)
    assert read_last_build(conn)["run_id"] == "run-1"

    update_last_build(conn, newer, "run-4", passed, whole_project=True)
    assert read_last_build(conn)["sources"][EVENTS] == "e2"
    update_last_build(conn, newer, "run-5", failed, whole_project=True)
    assert read_last_build(conn) is None


def test_a_changed_project_makes_the_data_tests_read_whole_models(tmp_path):
    """Marks of tested models hold for the project they were made under: a test added or
    changed since must read every row once, not only the scopes rewritten after it."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("create schema dbt_meta")
    conn.execute("create table dbt_meta.tested_models (model varchar)")
    conn.execute("insert into dbt_meta.tested_models values ('fct_scores')")
    # marks made before the project was recorded have no known project: forgotten
    assert forget_tests_of_another_project(conn, "p1")
    assert conn.execute("select count(*) from dbt_meta.tested_models").fetchone() == (0,)

    conn.execute("insert into dbt_meta.tested_models values ('fct_scores')")
    assert not forget_tests_of_another_project(conn, "p1")  # the same project: kept
    assert conn.execute("select model from dbt_meta.tested_models").fetchall() == [("fct_scores",)]

    assert forget_tests_of_another_project(conn, "p2")  # the project changed: forgotten
    assert conn.execute("select count(*) from dbt_meta.tested_models").fetchone() == (0,)
    assert conn.execute("select project from dbt_meta.tested_project").fetchall() == [("p2",)]


def test_the_first_build_records_the_project_its_tests_are_marked_under(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert not forget_tests_of_another_project(conn, "p1")  # nothing marked yet
    conn.execute("create table dbt_meta.tested_models (model varchar)")
    conn.execute("insert into dbt_meta.tested_models values ('fct_scores')")  # marked by dbt
    assert not forget_tests_of_another_project(conn, "p1")
    assert conn.execute("select count(*) from dbt_meta.tested_models").fetchone() == (1,)
