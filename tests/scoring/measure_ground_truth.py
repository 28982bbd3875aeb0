"""Does the score measure partner quality, and is it fair to partner size?

Compares the monthly scores in ``marts.fct_partner_scores`` with the demo generator's ground truth
(``ground_truth/partners.csv``: ``latent_quality`` in [0, 1] and ``size_factor``, independent by
construction):

- ``quality_latest``: Spearman(score, latent_quality) over the partners' latest-month scores;
- ``quality_last6``: the same with each partner's score averaged over the last 6 scored months;
- ``fairness_latest`` / ``fairness_last6``: Spearman(score, size_factor) *within* latent-quality
  quintiles, averaged over the quintiles (weighted by partners). Near 0 means two partners of
  similar quality score alike whatever their size.

- ``quality_monthly`` / ``fairness_monthly``: the latest-month measures computed for every scored
  month and averaged over the months (the whole history, or the months of ``--version``).

Usage (PARTNERSCORE_DATA_DIR defaults to the settings' data dir)::

    .venv/bin/python -m tests.scoring.measure_ground_truth [--data-dir DIR] [--version v3]
        [--seed N [--partners 300 --months 24 --end-month YYYY-MM]] [--rebuild]

``--version`` keeps only months scored by that scorecard version. ``--seed`` measures on the demo
generated with that seed: an empty data dir is filled like ``make run`` does (``partnerscore
generate`` with those arguments, then the whole pipeline); a filled one must hold that seed's
ground truth. ``--rebuild`` re-runs ``dbt build --selector scoring`` first, so the current models
and seeds are measured without ingesting again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
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
    quality_monthly: float = float("nan")
    fairness_monthly: float = float("nan")
    latest_month: str = ""

    def as_text(self) -> str:
        return (
            f"partners={self.partners} months={self.months} latest={self.latest_month} "
            f"spearman(score, quality) latest={self.quality_latest:.3f} "
            f"last{LAST_MONTHS}={self.quality_last6:.3f} "
            f"monthly-mean={self.quality_monthly:.3f} | "
            f"fairness spearman(score, size | quality quintile) "
            f"latest={self.fairness_latest:.3f} last{LAST_MONTHS}={self.fairness_last6:.3f} "
            f"monthly-mean={self.fairness_monthly:.3f} | "
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
    scored = scores.merge(truth, on="partner_id")
    per_month = [
        (spearman(month["score"], month["latent_quality"]), within_quality_spearman(month))
        for _, month in scored.groupby("period_start")
    ]
    return GroundTruthMeasures(
        partners=len(latest),
        months=len(months),
        quality_latest=spearman(latest["score"], latest["latent_quality"]),
        quality_last6=spearman(averaged["score"], averaged["latent_quality"]),
        fairness_latest=within_quality_spearman(latest),
        fairness_last6=within_quality_spearman(averaged),
        size_latest=spearman(latest["score"], latest["size_factor"]),
        quality_monthly=float(np.nanmean([q for q, _ in per_month])),
        fairness_monthly=float(np.nanmean([f for _, f in per_month])),
        latest_month=str(pd.Timestamp(latest_month).date()),
    )


def measure_data_dir(data_dir: Path, version: str | None = None) -> GroundTruthMeasures:
    truth = pd.read_csv(data_dir / "ground_truth" / "partners.csv")
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        scores = monthly_scores(conn, version)
    finally:
        conn.close()
    if scores.empty:
        raise SystemExit(f"no monthly scores{f' of {version}' if version else ''} in {data_dir}")
    return measure(scores, truth)


def truth_matches_seed(truth: pd.DataFrame, seed: int, months: int) -> bool:
    """True when the ground truth is the one the generator draws for ``seed`` (latent quality is
    its first draw, whatever the end month)."""
    from orchestration.generate.population import build_population

    population = build_population(np.random.default_rng(seed), len(truth), months, date(2000, 1, 1))
    return bool(np.allclose(np.round(population.quality, 6), truth["latent_quality"], atol=1e-6))


def has_scores(warehouse: Path) -> bool:
    if not warehouse.exists():
        return False
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        found = conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_partner_scores'"
        ).fetchone()
    return bool(found and found[0])


def prepare_seed(
    data_dir: Path, seed: int, partners: int, months: int, end_month: str | None
) -> None:
    """Fill an empty data dir with the demo of ``seed`` and run the whole pipeline on it, as
    ``make run`` does; refuse a data dir that holds another seed's demo."""
    os.environ["PARTNERSCORE_DATA_DIR"] = str(data_dir)
    from orchestration.settings import get_settings

    settings = get_settings()
    truth_path = settings.ground_truth_dir / "partners.csv"
    if truth_path.exists():
        if not truth_matches_seed(pd.read_csv(truth_path), seed, months):
            raise SystemExit(f"{data_dir} holds another demo than seed {seed}: use a fresh dir")
        if has_scores(settings.warehouse_path):
            return
    from orchestration.defs.jobs import PIPELINE_JOB_NAME
    from orchestration.generate import generate_demo
    from orchestration.pipeline import run_job

    settings.ensure_dirs()
    if not truth_path.exists():
        generate_demo(settings, partners=partners, months=months, seed=seed, end_month=end_month)
    outcome = run_job(settings, PIPELINE_JOB_NAME)
    if not outcome.success:
        raise SystemExit(f"the pipeline failed on {data_dir}: see `partnerscore quality`")


def rebuild_scores(data_dir: Path) -> None:
    """``dbt build --selector scoring`` on the data dir's warehouse (current models and seeds)."""
    os.environ["PARTNERSCORE_DATA_DIR"] = str(data_dir)
    from orchestration.settings import PROJECT_DIR, get_settings

    get_settings()  # exports the dbt target, log and memory settings for the child process
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "build", "--profiles-dir", ".", "--selector", "scoring", "--quiet"],
        cwd=PROJECT_DIR,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"dbt build failed on {data_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("PARTNERSCORE_DATA_DIR", "data"))
    parser.add_argument("--version", default=None, help="only months scored by this version")
    parser.add_argument("--seed", type=int, default=None, help="demo generator seed to measure")
    parser.add_argument("--partners", type=int, default=300, help="with --seed: partners")
    parser.add_argument("--months", type=int, default=24, help="with --seed: months")
    parser.add_argument("--end-month", default=None, help="with --seed: last month YYYY-MM")
    parser.add_argument("--rebuild", action="store_true", help="dbt build the scoring first")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    if args.seed is not None:
        prepare_seed(data_dir, args.seed, args.partners, args.months, args.end_month)
    if args.rebuild:
        rebuild_scores(data_dir)
    print(measure_data_dir(data_dir, args.version).as_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
