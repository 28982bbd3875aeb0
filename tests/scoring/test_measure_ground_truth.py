"""The ground-truth measures themselves: known scores give known figures, and a data dir is only
measured against the seed that generated it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from orchestration.generate import generate_demo
from orchestration.settings import Settings
from tests.scoring.measure_ground_truth import measure, truth_matches_seed


def _truth(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "partner_id": [f"P{i:03d}" for i in range(n)],
            "latent_quality": rng.random(n),
            "size_factor": rng.lognormal(0, 0.8, n),
        }
    )


def _scores(truth: pd.DataFrame, month: date, score: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"partner_id": truth.partner_id, "period_start": month, "score": score})


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_score_equal_to_quality_is_perfect_and_fair() -> None:
    truth = _truth()
    quality = truth.latent_quality
    # Month 1 ranks partners upside down, month 2 exactly: latest 1, mean over months 0.
    scores = pd.concat(
        [
            _scores(truth, date(2026, 1, 1), -quality),
            _scores(truth, date(2026, 2, 1), quality),
        ]
    )
    result = measure(scores, truth)
    assert result.partners == 100 and result.months == 2
    assert result.latest_month == "2026-02-01"
    assert result.quality_latest == pytest.approx(1.0)
    assert result.quality_monthly == pytest.approx(0.0)
    assert np.isnan(result.quality_last6)  # the two months cancel out: one tied average score
    # Quality alone says nothing about size inside a quality quintile.
    assert abs(result.fairness_latest) < 0.3


def test_a_score_equal_to_size_is_unfair() -> None:
    truth = _truth()
    result = measure(_scores(truth, date(2026, 1, 1), truth.size_factor), truth)
    assert result.fairness_latest == pytest.approx(1.0)
    assert result.size_latest == pytest.approx(1.0)
    assert abs(result.quality_latest) < 0.3


def test_ground_truth_is_recognized_by_its_seed_only(tmp_path) -> None:
    generate_demo(Settings(data_dir=tmp_path), partners=40, months=2, seed=7, end_month="2026-06")
    truth = pd.read_csv(tmp_path / "ground_truth" / "partners.csv")
    assert len(truth) == 40
    assert truth_matches_seed(truth, 7, 2)
    assert not truth_matches_seed(truth, 8, 2)
