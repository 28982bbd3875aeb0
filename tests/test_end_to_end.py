"""The real pipeline, end to end, on small generated data.

One clean dataset is generated and run twice (the second run must load nothing
new); one dataset with injected defects checks that every bad row is accounted for.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from expectations.suites import defect_check
from orchestration.bench.delta import write_daily_delta
from orchestration.cli.app import app as cli
from orchestration.dbt_changes import forget_last_build
from orchestration.dbt_project import project_content_fingerprint
from orchestration.defs.jobs import PIPELINE_JOB_NAME
from orchestration.pipeline import run_job
from orchestration.serving.publish import published_status
from orchestration.settings import PROJECT_DIR, get_settings
from orchestration.warehouse import connect

pytestmark = pytest.mark.e2e

PARTNERS, MONTHS, EVENTS = 60, 8, 30_000


def _repo_state() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _counts(settings) -> dict[str, int]:
    from orchestration.extracts import ENTITIES

    with connect(settings, read_only=True) as conn:
        return {
            f"{e.source}/{e.name}": conn.execute(f"select count(*) from {e.raw_table}").fetchone()[
                0
            ]
            for e in ENTITIES
        }


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    from orchestration.generate import generate_demo

    root = tmp_path_factory.mktemp("clean")
    mp = pytest.MonkeyPatch()
    mp.setenv("PARTNERSCORE_DATA_DIR", str(root / "data"))
    mp.setenv("DAGSTER_HOME", str(root / "data" / "dagster_home"))
    before = _repo_state()
    settings = get_settings()
    generate_demo(settings, partners=PARTNERS, months=MONTHS, seed=7, events=EVENTS)
    first = run_job(settings, PIPELINE_JOB_NAME)
    counts_first = _counts(settings)
    second = run_job(settings, PIPELINE_JOB_NAME)
    yield settings, first, second, counts_first, before
    mp.undo()


def test_clean_run_succeeds_and_loads_what_the_generator_wrote(clean_run):
    settings, first, _, counts, _ = clean_run
    assert first.success, first.failures
    expected = json.loads((settings.ground_truth_dir / "expected_counts.json").read_text())
    for entity, figures in expected.items():
        assert counts[entity] == figures["rows_expected_loaded"], entity
    assert sum(counts.values()) > EVENTS


def test_second_run_loads_nothing_new(clean_run):
    settings, _, second, counts_first, _ = clean_run
    assert second.success, second.failures
    assert _counts(settings) == counts_first
    # nothing changed and the last build is published: no dbt, nothing to publish again
    status = {step.step_key: step.status for step in second.steps}
    assert _dbt_nodes_run(settings, second.run_id) == set()
    assert status["serving__published_warehouse"] == "skipped"
    with connect(settings, read_only=True) as conn:
        statuses = conn.execute(
            "select status, count(*) from raw_meta.file_manifest group by 1"
        ).fetchall()
    assert dict(statuses).get("replaced", 0) == 0


def _dbt_nodes_run(settings, run_id: str) -> set[str]:
    """unique_ids of the nodes the run's `dbt build` ran (none when it ran no dbt)."""
    found = list(settings.dbt_target_dir.glob(f"dbt_warehouse-{run_id[:7]}-*/run_results.json"))
    return {r["unique_id"] for path in found for r in json.loads(path.read_text())["results"]}


def _model_digests(settings) -> dict[str, tuple]:
    with connect(settings, read_only=True) as conn:
        tables = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts') order by 1"
        ).fetchall()
        return {
            name: conn.execute(f"select count(*), sum(hash(t)) from {name} as t").fetchone()
            for (name,) in tables
        }


def test_a_refresh_runs_only_the_dbt_nodes_new_data_reaches(clean_run, tmp_path, monkeypatch):
    """A day of portal events and opportunities: dbt runs what reads them and leaves the rest
    (seeds, other CRM and LMS staging) out; every table then equals a build that runs all."""
    clean_settings, *_ = clean_run
    shutil.copytree(clean_settings.data_dir, tmp_path / "data")
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    settings = get_settings()
    delta = write_daily_delta(settings.landing_dir)
    assert set(delta.rows) == {"portal/activity_events", "crm/opportunities"}

    refresh = run_job(settings, PIPELINE_JOB_NAME)
    assert refresh.success, refresh.failures
    ran = _dbt_nodes_run(settings, refresh.run_id)
    for model in ("stg_portal__activity_events", "stg_crm__opportunities", "fct_partner_scores"):
        assert f"model.partnerscore.{model}" in ran
    assert "model.partnerscore.stg_crm__leads" not in ran
    assert "model.partnerscore.stg_lms__learning_records" not in ran
    assert not any(node.startswith("seed.") for node in ran)
    assert published_status(settings)["run_id"] == refresh.run_id
    with connect(settings, read_only=True) as conn:  # tests marked under this project's files
        tested_project = conn.execute("select project from dbt_meta.tested_project").fetchall()
    assert tested_project == [(project_content_fingerprint(),)]
    refreshed = _model_digests(settings)

    with connect(settings) as conn:
        forget_last_build(conn)
    everything = run_job(settings, PIPELINE_JOB_NAME)
    assert everything.success, everything.failures
    assert "seed.partnerscore.scoring_weights" in _dbt_nodes_run(settings, everything.run_id)
    assert _model_digests(settings) == refreshed


def test_scores_are_built_and_published(clean_run):
    import duckdb

    settings, *_ = clean_run
    conn = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        partners, lo, hi = conn.execute(
            "select count(distinct partner_id), min(score), max(score) from marts.fct_partner_scores"
        ).fetchone()
        stale = conn.execute("select is_stale from publish_status").fetchone()[0]
    finally:
        conn.close()
    assert partners >= PARTNERS * 0.8
    assert 0 <= lo < hi <= 100
    assert stale is False


def test_nothing_is_written_outside_the_data_dir(clean_run):
    *_, before = clean_run
    assert _repo_state() == before


def test_defects_are_quarantined_or_rejected_with_reconciled_counts(tmp_path, monkeypatch):
    from orchestration.generate import generate_demo

    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    settings = get_settings()
    generate_demo(settings, partners=40, months=6, seed=11, events=10_000, defects=True)

    outcome = run_job(settings, PIPELINE_JOB_NAME)

    assert not outcome.success  # unreadable files fail the blocking files_readable check
    defects = [
        json.loads(line)
        for line in (settings.ground_truth_dir / "defects.jsonl").read_text().splitlines()
    ]
    with connect(settings, read_only=True) as conn:
        quarantined = {
            (r[0], r[1])
            for r in conn.execute(
                "select source_file, source_row from raw_meta.quarantined_rows"
            ).fetchall()
        }
        rejected = {
            r[0]
            for r in conn.execute(
                "select source_file from raw_meta.file_manifest where status = 'rejected'"
            ).fetchall()
        }
        unbalanced = conn.execute(
            "select count(*) from raw_meta.file_manifest "
            "where status = 'loaded' and rows_read <> rows_loaded + rows_quarantined"
        ).fetchone()[0]
    assert unbalanced == 0
    for defect in defects:
        if defect["caught_by"] == "ingest:quarantine":
            assert (defect["file"], defect["row"]) in quarantined, defect
        elif defect["caught_by"] == "ingest:rejected_file":
            assert defect["file"] in rejected, defect
    failure_text = "\n".join(outcome.failures)
    for defect in defects:
        if defect["caught_by"] == "ingest:rejected_file":
            assert defect["file"] in failure_text, defect

    # Partner ops hear of every injected defect kind, through the CLI they use.
    listed = CliRunner().invoke(cli, ["alerts", "--format", "json"], env=_env(settings))
    assert listed.exit_code == 0, listed.output
    alerted = {(a["check_name"], a["asset_key"]) for a in json.loads(listed.output)}
    missing = {d["kind"]: defect_check(d) for d in defects if defect_check(d) not in alerted}
    assert missing == {}, sorted(alerted)

    # The next run builds the scores without the blocked batches and keeps them out.
    again = run_job(settings, PIPELINE_JOB_NAME)
    assert again.success, again.failures
    with connect(settings, read_only=True) as conn:
        blocked = [
            r[0]
            for r in conn.execute(
                "select batch_id from raw_meta.blocked_batches where released_at is null"
            ).fetchall()
        ]
        assert len(blocked) >= 4  # at least the four partial (one rejected file) extracts
        leaked = conn.execute(
            f"""
            select count(*) from (
                {" union all ".join(f"select batch_id from staging.{m}" for m in STAGING_MODELS)}
            ) where batch_id in (select unnest(?::varchar[]))
            """,
            [blocked],
        ).fetchone()[0]
        staged = conn.execute("select count(*) from staging.stg_crm__opportunities").fetchone()[0]
    assert leaked == 0 and staged > 0
    assert published_status(settings)["is_stale"] is True  # built without blocked extracts


STAGING_MODELS = [
    "stg_crm__partners", "stg_crm__opportunities", "stg_crm__deal_registrations",
    "stg_crm__leads", "stg_crm__csat_responses", "stg_crm__renewals",
    "stg_portal__activity_events", "stg_lms__learning_records",
]  # fmt: skip


def _env(settings) -> dict[str, str]:
    return {"PARTNERSCORE_DATA_DIR": str(settings.data_dir)}
