"""Property tests of the scoring method on generated populations (compiled SQL, in-memory)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scoring.conftest import PROJECT_DIR, ScoringRunner
from tests.scoring.inputs import populations, staging_frames, with_amount_factor

FAST = settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
KEY = ["partner_id", "period_grain", "period_start"]


def _scores(conn) -> pd.DataFrame:
    return conn.sql("select * from marts.fct_partner_scores").df().sort_values(KEY)


@FAST
@given(specs=populations)
def test_scores_bounded_and_contributions_exact(runner: ScoringRunner, specs) -> None:
    conn = runner.run(staging_frames(specs))
    scores = conn.sql("select * from marts.fct_partner_scores").fetchall()
    assert scores, "every partner is scored every period"
    assert len(scores) == len(specs) * (8 + 3)  # 8 months and 3 quarters per partner
    rows = conn.execute(
        """select s.score, sum(c.contribution_points), sum(c.weight)
           from marts.fct_partner_scores as s
           join marts.fct_partner_score_components as c using (partner_id, period_grain, period_start)
           group by s.partner_id, s.period_grain, s.period_start, s.score"""
    ).fetchall()
    for score, total, weight in rows:
        assert Decimal(0) <= score <= Decimal(100)
        assert total == score
        assert abs(weight - 100) < 0.01
    changes = conn.execute(
        """select s.score_change, sum(c.contribution_change)
           from marts.fct_partner_scores as s
           join marts.fct_partner_score_changes as c using (partner_id, period_grain, period_start)
           group by s.partner_id, s.period_grain, s.period_start, s.score_change"""
    ).fetchall()
    assert changes
    for change, total in changes:
        assert total == change


@FAST
@given(specs=populations, data=st.data())
def test_raising_a_higher_is_better_metric_never_lowers_the_score(
    runner: ScoringRunner, specs, data
) -> None:
    index = data.draw(st.integers(0, len(specs) - 1))
    factor = data.draw(st.integers(2, 20))
    before = _scores(runner.run(staging_frames(specs)))
    after = _scores(runner.run(staging_frames(with_amount_factor(specs, index, factor))))
    pid = f"P{index:03d}"
    merged = before[before.partner_id == pid].merge(
        after[after.partner_id == pid], on=KEY, suffixes=("_before", "_after")
    )
    assert len(merged) == 11
    assert (merged.score_after >= merged.score_before).all(), merged[
        ["period_start", "score_before", "score_after"]
    ]


@FAST
@given(specs=populations, seed=st.integers(0, 2**16))
def test_shuffling_input_rows_changes_nothing(runner: ScoringRunner, specs, seed) -> None:
    frames = staging_frames(specs)
    shuffled = {name: f.sample(frac=1, random_state=seed) for name, f in frames.items()}
    tables = {
        "fct_partner_scores": KEY,
        "fct_partner_score_components": [*KEY, "metric_key"],
        "fct_partner_score_changes": [*KEY, "metric_key"],
    }
    results = []
    for inputs in (frames, shuffled):
        conn = runner.run(inputs)
        results.append(
            {
                table: conn.sql(f"select * from marts.{table}")
                .df()
                .sort_values(key)
                .reset_index(drop=True)
                for table, key in tables.items()
            }
        )
    for table in tables:
        assert len(results[0][table]) > 0
        pd.testing.assert_frame_equal(results[0][table], results[1][table])


@FAST
@given(specs=populations, data=st.data())
def test_future_version_weights_leave_past_scores_unchanged(
    runner: ScoringRunner, specs, data
) -> None:
    weights = pd.read_csv(PROJECT_DIR / "seeds" / "scoring_weights.csv")
    is_v2 = weights.version == "v2"
    new_weights = data.draw(
        st.lists(st.integers(1, 40), min_size=int(is_v2.sum()), max_size=int(is_v2.sum()))
    )
    changed = weights.astype({"weight": "float64"})
    changed.loc[is_v2, "weight"] = [float(w) for w in new_weights]
    base = _scores(runner.run(staging_frames(specs)))
    other = _scores(runner.run(staging_frames(specs), {"scoring_weights": changed}))
    past = base.scorecard_version == "v1"
    assert past.any()
    pd.testing.assert_frame_equal(
        base[past].reset_index(drop=True),
        other[other.scorecard_version == "v1"].reset_index(drop=True),
    )
