"""Does the score measure partner quality, and is it fair to partner size?

Compares the monthly scores in ``marts.fct_partner_scores`` with the demo generator's ground truth
(``ground_truth/partners.csv``: ``latent_quality`` in [0, 1] and ``size_factor``, independent by
construction):

- ``quality_latest``: Spearman(score, latent_quality) over the partners' latest-month scores;
- ``quality_last6``: the same with each partner's score averaged over the last 6 scored months;
- ``fairness_latest`` / ``fairness_last6``: Spearman(score, size_factor) *within* latent-quality
  quintiles, averaged over the quintiles (weighted by partners). Near 0 means two partners of
  similar quality score alike whatever their size.

Usage (PARTNERSCORE_DATA_DIR defaults to the settings' data dir)::

    .venv/bin/python -m tests.scoring.measure_ground_truth [--data-dir DIR] [--version v3]

``--version`` keeps only months scored by that scorecard version.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

QUALITY_BINS = 5
LAST_MONTHS = 6


@dataclass(frozen=True)
class GroundTruthMeasures:
    partners: int
    months: int
    quality_latest: float
    quality_last6: float
    fairness_latest: float
    fairness_last6: float
    size_latest: float

    def as_text(self) -> str:
        return (
            f"partners={self.partners} months={self.months} "
            f"spearman(score, quality) latest={self.quality_latest:.3f} "
            f"last{LAST_MONTHS}={self.quality_last6:.3f} | "
            f"fairness spearman(score, size | quality quintile) "
            f"latest={self.fairness_latest:.3f} last{LAST_MONTHS}={self.fairness_last6:.3f} | "
            f"raw spearman(score, size) latest={self.size_latest:.3f}"
        )


def spearman(a: pd.Series, b: pd.Series) -> float:
    return float(a.rank().corr(b.rank()))


def within_quality_spearman(frame: pd.DataFrame, bins: int = QUALITY_BINS) -> float:
    """Spearman(score, size_factor) inside latent-quality quantile bins, partner-weighted mean."""
    bin_of = pd.qcut(frame["latent_quality"].rank(method="first"), bins, labels=False)
    total, weight = 0.0, 0
    for _, group in frame.groupby(bin_of):
        if len(group) < 3 or group["score"].nunique() < 2:
            continue
        total += spearman(group["score"], group["size_factor"]) * len(group)
        weight += len(group)
    return total / weight if weight else float("nan")


def monthly_scores(conn: duckdb.DuckDBPyConnection, version: str | None = None) -> pd.DataFrame:
    sql = (
        "select partner_id, period_start, score from marts.fct_partner_scores "
        "where period_grain = 'month'"
    )
    params: list[str] = []
    if version:
        sql += " and scorecard_version = ?"
        params.append(version)
    return conn.execute(sql, params).df()


def measure(
    scores: pd.DataFrame, truth: pd.DataFrame, last_months: int = LAST_MONTHS
) -> GroundTruthMeasures:
    """scores: partner_id, period_start, score (monthly); truth: the ground-truth partners."""
    months = sorted(scores["period_start"].unique())
    latest_month = months[-1]
    recent = set(months[-last_months:])
    truth = truth[["partner_id", "latent_quality", "size_factor"]]
    latest = scores[scores["period_start"] == latest_month].merge(truth, on="partner_id")
    averaged = (
        scores[scores["period_start"].isin(recent)]
        .groupby("partner_id", as_index=False)["score"]
        .mean()
        .merge(truth, on="partner_id")
    )
    return GroundTruthMeasures(
        partners=len(latest),
        months=len(months),
        quality_latest=spearman(latest["score"], latest["latent_quality"]),
        quality_last6=spearman(averaged["score"], averaged["latent_quality"]),
        fairness_latest=within_quality_spearman(latest),
        fairness_last6=within_quality_spearman(averaged),
        size_latest=spearman(latest["score"], latest["size_factor"]),
    )


def measure_data_dir(data_dir: Path, version: str | None = None) -> GroundTruthMeasures:
    truth = pd.read_csv(data_dir / "ground_truth" / "partners.csv")
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        scores = monthly_scores(conn, version)
    finally:
        conn.close()
    return measure(scores, truth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("PARTNERSCORE_DATA_DIR", "data"))
    parser.add_argument("--version", default=None, help="only months scored by this version")
    args = parser.parse_args(argv)
    print(measure_data_dir(Path(args.data_dir), args.version).as_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
