"""Size fairness of scorecard v3: partners of equal quality score alike whatever their size, and a
small excellent partner outscores a big mediocre one. v2 (raw volumes) fails the same check, which
shows the population discriminates."""

from __future__ import annotations

import pandas as pd

from tests.scoring.conftest import PROJECT_DIR, ScoringRunner
from tests.scoring.inputs import MONTHS, PartnerMonth, PartnerSpec, staging_frames
from tests.scoring.measure_ground_truth import spearman, within_quality_spearman

SIZES = [1, 2, 3, 4, 5, 6]
QUALITIES = [0.25, 0.75]


def _population() -> tuple[list[PartnerSpec], pd.DataFrame]:
    """Size scales every volume (4 opportunities, leads and registrations per size unit and
    10 employees per size unit); quality sets every ratio (win, conversion, approval, CSAT,
    renewal). Size and quality are crossed, so they are independent."""
    specs, truth = [], []
    for quality in QUALITIES:
        for size in SIZES:
            n = 4 * size
            month = PartnerMonth(
                won=round(n * quality),
                lost=n - round(n * quality),
                amount=10_000,
                events=2 * size,
                completions=0,
                csat=5 if quality > 0.5 else 2,
                renewal="renewed" if quality > 0.5 else "churned",
                leads=n,
                converted=round(n * quality),
                registrations=n,
                approved=round(n * quality),
            )
            specs.append(PartnerSpec("reseller", "NA", (month,) * len(MONTHS), 10 * size))
            truth.append(
                {
                    "partner_id": f"P{len(specs) - 1:03d}",
                    "latent_quality": quality,
                    "size_factor": size,
                }
            )
    return specs, pd.DataFrame(truth)


def _staging(specs: list[PartnerSpec]) -> dict[str, pd.DataFrame]:
    frames = staging_frames(specs)
    opps = frames["stg_crm__opportunities"]
    # Same 10-day sales cycle for everybody, closing in the month it started (the generic inputs
    # lengthen the cycle with the deal count and push a big partner's late deals past the data).
    created = pd.to_datetime(opps["created_date"])
    opps["created_date"] = (created - pd.to_timedelta((created.dt.day - 1) // 10 * 10, "D")).dt.date
    opps["closed_date"] = (pd.to_datetime(opps["created_date"]) + pd.Timedelta(days=10)).dt.date
    return frames


def _latest_month_scores(conn) -> pd.DataFrame:
    return conn.execute(
        "select partner_id, score, scorecard_version from marts.fct_partner_scores "
        "where period_grain = 'month' and period_start = ?",
        [MONTHS[-1]],
    ).df()


def test_v3_scores_quality_not_size(runner: ScoringRunner) -> None:
    specs, truth = _population()
    versions = pd.read_csv(PROJECT_DIR / "seeds" / "scorecard_versions.csv")
    versions.loc[versions.version == "v3", "effective_from"] = "2015-01-01"
    versions = versions[versions.version == "v3"]
    rescorings = pd.read_csv(PROJECT_DIR / "seeds" / "scorecard_rescorings.csv").iloc[0:0]
    conn = runner.run(
        _staging(specs), {"scorecard_versions": versions, "scorecard_rescorings": rescorings}
    )
    scores = _latest_month_scores(conn).merge(truth, on="partner_id")
    assert len(scores) == len(specs)
    assert (scores.scorecard_version == "v3").all()
    assert spearman(scores.score, scores.latent_quality) > 0.8
    for _, same_quality in scores.groupby("latent_quality"):
        # Equal quality, sizes 1 to 6: the same score (per-employee volumes and ratios are equal).
        assert same_quality.score.max() - same_quality.score.min() < 0.01, same_quality
    best_small = scores[(scores.latent_quality == max(QUALITIES)) & (scores.size_factor == 1)]
    worst_big = scores[(scores.latent_quality == min(QUALITIES)) & (scores.size_factor == 6)]
    assert best_small.score.iloc[0] > worst_big.score.iloc[0]


def test_v2_raw_volumes_reward_size(runner: ScoringRunner) -> None:
    """The same population under v2 (as published for 2025): size shows within quality."""
    specs, truth = _population()
    scores = _latest_month_scores(runner.run(_staging(specs))).merge(truth, on="partner_id")
    assert (scores.scorecard_version == "v2").all()
    assert within_quality_spearman(scores, bins=len(QUALITIES)) > 0.5
