"""Scorecard versioning on the fixture warehouse: the 2026 re-scoring under v3 is a recorded
decision (seed scorecard_rescorings, R002), it changes only the periods it names, and new v3 weights
never reach the periods published under v1 or v2."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from tests.scoring.conftest import PROJECT_DIR, BuiltProject, ScoringRunner

KEY = ["partner_id", "period_grain", "period_start"]
RESCORING = "R002"
RESCORED_FROM = date(2026, 1, 1)


def _seed(name: str) -> pd.DataFrame:
    return pd.read_csv(PROJECT_DIR / "seeds" / f"{name}.csv")


@pytest.fixture(scope="module")
def fixture_staging(built_project: BuiltProject) -> dict[str, pd.DataFrame]:
    """The staging tables dbt built from the fixture's raw extracts, as runner inputs."""
    names = [
        node["alias"]
        for node in built_project.manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "staging"
    ]
    with built_project.connect() as conn:
        return {name: conn.sql(f"select * from staging.{name}").df() for name in names}


def _scores(conn) -> pd.DataFrame:
    return (
        conn.sql("select * from marts.fct_partner_scores")
        .df()
        .sort_values(KEY)
        .reset_index(drop=True)
    )


def test_the_recorded_decision_sets_each_periods_version(fixture_conn) -> None:
    rows = fixture_conn.execute(
        """select period_grain, period_start, scorecard_version, is_rescored, rescoring_id
           from marts.fct_partner_scores group by all order by all"""
    ).df()
    rescored = rows[rows.period_start >= pd.Timestamp(RESCORED_FROM)]
    assert len(rescored) == 6 + 2  # Jan-Jun 2026 and Q1, Q2 2026
    assert (rescored.scorecard_version == "v3").all()
    assert rescored.is_rescored.all() and (rescored.rescoring_id == RESCORING).all()
    # v3 takes effect on 2026-12-01: every v3 score of the fixture exists only by the decision.
    v3_from = pd.Timestamp(_seed("scorecard_versions").set_index("version").effective_from["v3"])
    v3 = rows[rows.scorecard_version == "v3"]
    assert (v3.period_start < v3_from).all() and (v3.rescoring_id == RESCORING).all()
    before = rows[(rows.period_start < pd.Timestamp(RESCORED_FROM)) & ~rows.is_rescored]
    assert set(before.scorecard_version) == {"v1", "v2"}
    assert before.rescoring_id.isna().all()


def test_new_v3_weights_change_only_the_rescored_periods(
    runner: ScoringRunner, fixture_staging: dict[str, pd.DataFrame]
) -> None:
    weights = _seed("scoring_weights").astype({"weight": "float64"})
    is_v3 = weights.version == "v3"
    # All of v3's points on its first metric per partner type: a very different scorecard.
    first = weights[is_v3].groupby("partner_type").metric_key.transform("first")
    weights.loc[is_v3, "weight"] = (weights.loc[is_v3, "metric_key"] == first) * 100.0
    weights = weights[weights.weight > 0]
    base = _scores(runner.run(fixture_staging))
    other = _scores(runner.run(fixture_staging, {"scoring_weights": weights}))
    past = base.scorecard_version != "v3"
    assert past.any() and (~past).any()
    pd.testing.assert_frame_equal(
        base[past].reset_index(drop=True),
        other[other.scorecard_version != "v3"].reset_index(drop=True),
    )
    # The same comparison sees the new weights where v3 applies, so it would catch a leak.
    changed = base[~past].score.to_numpy() != other[~past].score.to_numpy()
    assert changed.mean() > 0.5


def test_without_the_decision_2026_keeps_its_v2_scores(
    runner: ScoringRunner, fixture_staging: dict[str, pd.DataFrame]
) -> None:
    rescorings = _seed("scorecard_rescorings")
    with_decision = _scores(runner.run(fixture_staging))
    without = _scores(
        runner.run(
            fixture_staging,
            {"scorecard_rescorings": rescorings[rescorings.rescoring_id != RESCORING]},
        )
    )
    later = without.period_start >= pd.Timestamp(RESCORED_FROM)
    assert (without[later].scorecard_version == "v2").all()
    assert not without[later].is_rescored.any()
    # Periods the decision does not name are identical with and without it.
    pd.testing.assert_frame_equal(
        with_decision[~later].reset_index(drop=True), without[~later].reset_index(drop=True)
    )
    assert (with_decision[later].score.to_numpy() != without[later].score.to_numpy()).any()


def test_a_change_of_scorecard_raises_no_early_warning(fixture_conn) -> None:
    rows = fixture_conn.execute(
        """select period_start, is_version_change, is_early_warning, score_change,
               early_warning_drop_points
           from marts.fct_partner_scores
           join scoring_config.scorecard_versions as v on v.version = scorecard_version
           where period_grain = 'month' and score_change is not null"""
    ).df()
    switches = rows[rows.is_version_change]
    # v1 -> v2 by rescoring R001 on 2025-04, v2 -> v3 by R002 on 2026-01: every partner.
    assert set(switches.period_start.dt.date) == {date(2025, 4, 1), RESCORED_FROM}
    assert not switches.is_early_warning.any()
    # Big drops there are the method's doing; the same drop within a version does warn.
    assert (switches.score_change < -switches.early_warning_drop_points).any()
    same = rows[~rows.is_version_change]
    dropped = same.score_change < -same.early_warning_drop_points
    assert dropped.any() and same[dropped].is_early_warning.all()
