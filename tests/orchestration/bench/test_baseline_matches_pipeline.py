"""The benchmark baseline does the same essential work as the pipeline: same scores, same bands.

A small generated landing zone (2025-01 to 2026-02: scorecards v1, v2 and v3, both rescoring
decisions, peer groups small enough to fall back) is ingested and built by the real dbt project;
the hand-written baseline SQL then runs on the same landing zone. Every complete partner-period
of marts.fct_partner_scores must come out of the baseline with the same score (within 0.01, the
rounding of the last decimal) and the same band, and the baseline must score nothing else.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.bench.baseline import BaselineResult, run_baseline
from orchestration.extracts import ENTITIES
from orchestration.settings import get_settings
from tests.dbt.incremental_steps import ingest, run_dbt

pytestmark = pytest.mark.e2e

# Partners edited in the landing zone so the data exercises what the generator leaves out.
MOVED_PARTNER = "P00001"  # in the CRM extracts until 2025-08 a reseller, then an MSP
NO_HEADCOUNT_PARTNER = "P00005"  # employee_count empty: capacity falls back to the type median
ZERO_HEADCOUNT_PARTNER = "P00006"  # employee_count 0: not positive, same fallback
MOVED_FROM_EXTRACT = "2025-09-01"


@dataclass
class Built:
    warehouse: Path
    baseline: Path
    result: BaselineResult


def _edit_partners(landing: Path) -> None:
    """A type change from one extract on, and headcounts the capacity rule must replace."""
    for path in sorted((landing / "crm" / "partners").glob("*/partners.csv")):
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        for row in rows:
            if row["partner_id"] == MOVED_PARTNER and path.parent.name >= MOVED_FROM_EXTRACT:
                row["partner_type"] = "msp" if row["partner_type"] != "msp" else "technology"
            if row["partner_id"] == NO_HEADCOUNT_PARTNER:
                row["employee_count"] = ""
            if row["partner_id"] == ZERO_HEADCOUNT_PARTNER:
                row["employee_count"] = "0"
        out = io.StringIO()
        writer = csv.DictWriter(out, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(out.getvalue())


def _redeliver_event(landing: Path) -> str:
    """An event delivered again in the last extract with another type: the latest row counts."""
    folders = sorted((landing / "portal" / "activity_events").iterdir())
    first = next(folders[0].glob("*.jsonl.gz"))
    with gzip.open(first, "rt") as lines:
        event = json.loads(next(lines))
    event["event_type"] = (
        "business_plan_submission"
        if event["event_type"] != ("business_plan_submission")
        else "login"
    )
    extra = folders[-1] / "activity_events-part-0099.jsonl.gz"
    with gzip.open(extra, "wt") as out:
        out.write(json.dumps(event) + "\n")
    return event["event_id"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from orchestration.generate import generate_demo

    root = tmp_path_factory.mktemp("baseline-vs-pipeline")
    mp = pytest.MonkeyPatch()
    mp.setenv("PARTNERSCORE_DATA_DIR", str(root / "data"))
    mp.setenv("DAGSTER_HOME", str(root / "data" / "dagster_home"))
    try:
        settings = get_settings()
        settings.ensure_dirs()
        generate_demo(settings, partners=40, months=14, seed=7, events=15_000, end_month="2026-02")
        _edit_partners(settings.landing_dir)
        _redeliver_event(settings.landing_dir)
        ingest(settings)
        run_dbt(
            settings,
            "build",
            "--select",
            "+fct_partner_scores",
            "--exclude-resource-type",
            "test",
            "unit_test",
        )
        baseline = root / "baseline" / "baseline.duckdb"
        result = run_baseline(settings.landing_dir, baseline, memory_limit="1GB", threads=2)
        yield Built(settings.warehouse_path, baseline, result)
    finally:
        mp.undo()


def _query(built: Built, sql: str) -> list[tuple]:
    conn = duckdb.connect()
    try:
        conn.execute(f"attach '{built.warehouse}' as pipeline (read_only)")
        conn.execute(f"attach '{built.baseline}' as baseline (read_only)")
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_baseline_scores_every_complete_partner_period_like_the_pipeline(built):
    rows = _query(
        built,
        """
        select
            pipeline_scores.partner_id,
            pipeline_scores.period_grain,
            pipeline_scores.period_start,
            pipeline_scores.score,
            baseline_scores.score,
            pipeline_scores.band,
            baseline_scores.score_band
        from pipeline.marts.fct_partner_scores as pipeline_scores
        left join baseline.partner_scores as baseline_scores
            using (partner_id, period_grain, period_start)
        where pipeline_scores.is_period_complete
        order by all
        """,
    )
    assert len(rows) > 500
    missing = [r[:3] for r in rows if r[4] is None]
    assert missing == []
    different = [r for r in rows if abs(r[3] - r[4]) > 0.01 or r[5] != r[6]]
    assert different == []


def test_baseline_scores_no_extra_partner_period(built):
    extra = _query(
        built,
        """
        select partner_id, period_grain, period_start
        from baseline.partner_scores
        except
        select partner_id, period_grain, period_start
        from pipeline.marts.fct_partner_scores
        """,
    )
    assert extra == []
    # incomplete periods too: the baseline scores exactly the partner-periods the pipeline does
    counts = _query(
        built,
        """
        select
            (select count(*) from pipeline.marts.fct_partner_scores),
            (select count(*) from baseline.partner_scores),
            (select count(*) from baseline.partner_scores where not is_period_complete)
        """,
    )[0]
    assert counts[0] == counts[1] == built.result.rows_scored
    assert counts[2] > 0


def test_the_data_exercises_what_the_baseline_must_get_right(built):
    """Versions and rescorings, peer fallback, hysteresis, capacity fallback, a type change."""
    figures = _query(
        built,
        f"""
        select
            count(distinct scorecard_version),
            count(*) filter (where rescoring_id is not null),
            count(distinct period_grain),
            count(*) filter (where peer_segment = 'all'),
            count(*) filter (where peer_segment not like '% / %' and peer_segment <> 'all'),
            count(*) filter (where peer_segment like '% / %'),
            count(*) filter (where band <> raw_band),
            count(distinct partner_type) filter (where partner_id = '{MOVED_PARTNER}'),
        from pipeline.marts.fct_partner_scores
        where is_period_complete
        """,
    )[0]
    assert figures[0] == 3  # v1, v2, v3
    assert figures[1] > 0
    assert figures[2] == 2
    assert min(figures[3:6]) > 0  # every peer level is used
    assert figures[6] > 0  # hysteresis kept a band the raw score left
    assert figures[7] == 2
    capacities = _query(
        built,
        f"""
        select partner_id, count(*), min(employee_capacity), max(employee_capacity)
        from baseline.partner_periods
        where partner_id in ('{NO_HEADCOUNT_PARTNER}', '{ZERO_HEADCOUNT_PARTNER}')
        group by partner_id
        order by partner_id
        """,
    )
    assert [row[0] for row in capacities] == [NO_HEADCOUNT_PARTNER, ZERO_HEADCOUNT_PARTNER]
    assert all(row[2] > 1 for row in capacities)  # a peer median, not the last-resort 1


def test_baseline_result_counts_what_it_loaded_and_scored(built):
    result = built.result
    assert set(result.rows_loaded) == {entity.name for entity in ENTITIES}
    raw = dict(
        _query(
            built,
            """
            select 'partners', count(*) from pipeline.raw_crm.partners
            union all select 'opportunities', count(*) from pipeline.raw_crm.opportunities
            union all select 'deal_registrations', count(*)
                from pipeline.raw_crm.deal_registrations
            union all select 'leads', count(*) from pipeline.raw_crm.leads
            union all select 'csat_responses', count(*) from pipeline.raw_crm.csat_responses
            union all select 'renewals', count(*) from pipeline.raw_crm.renewals
            union all select 'activity_events', count(*)
                from pipeline.raw_portal.activity_events
            union all select 'learning_records', count(*)
                from pipeline.raw_lms.learning_records
            """,
        )
    )
    assert result.rows_loaded == raw  # every delivered row, as ingest loaded them
    assert sum(result.bands.values()) == result.rows_scored


def test_a_redelivered_event_counts_once_as_its_latest_delivery(built):
    rows = _query(
        built,
        """
        select
            (select count(*) from baseline.activity_events),
            (select count(distinct event_id) from baseline.activity_events),
            (select count(*) from baseline.current_events),
            (select count(*) from baseline.current_events
                where event_type = 'business_plan_submission'),
            (select count(*) from pipeline.staging.stg_portal__activity_events
                where event_type = 'business_plan_submission')
        """,
    )[0]
    delivered, distinct_ids, current, plans, pipeline_plans = rows
    assert delivered == distinct_ids + 1  # the one event delivered twice
    assert current == distinct_ids
    assert plans == pipeline_plans
