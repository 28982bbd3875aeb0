"""generate_demo: a realistic landing zone plus the ground truth to judge the pipeline by."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from orchestration.generate.crm import CrmSimulator
from orchestration.generate.population import (
    BURN_IN,
    TRAJECTORIES,
    Population,
    build_population,
    month_start,
)
from orchestration.generate.streams import write_lms_month, write_portal_month
from orchestration.generate.writer import LandingWriter
from orchestration.settings import Settings

EVENTS_PER_PARTNER_MONTH = 40
LMS_RECORDS_PER_LEARNER_MONTH = 0.9
ProgressCallback = Callable[[str, int, int], None]


class LandingNotEmptyError(Exception):
    """The landing zone already holds files and overwrite was not requested."""


@dataclass
class GenerationSummary:
    landing_dir: Path
    ground_truth_dir: Path
    partners: int
    months: int
    seed: int
    first_month: str
    end_month: str
    defects: int
    files: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def default_end_month(today: date | None = None) -> date:
    """The last full month before today, so freshness checks pass on a fresh demo."""
    today = today or date.today()
    return month_start(today.year, today.month, -1)


def parse_month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise ValueError(f"not a YYYY-MM month: {value!r}") from exc


def _is_empty(path: Path) -> bool:
    return not path.exists() or not any(p.is_file() for p in path.rglob("*"))


def _progress_adapter(progress: Any, total: int) -> ProgressCallback:
    """Accept a plain callback(description, done, total) or a rich Progress."""
    if progress is None:
        return lambda _d, _done, _total: None
    if hasattr(progress, "add_task"):
        task = progress.add_task("generating", total=total)

        def update(description: str, done: int, _total: int) -> None:
            progress.update(task, completed=done, description=description)

        return update
    return progress


def generate_demo(
    settings: Settings,
    partners: int = 300,
    months: int = 24,
    seed: int = 42,
    defects: bool = False,
    events: int | None = None,
    end_month: str | date | None = None,
    progress: Any = None,
    overwrite: bool = False,
) -> GenerationSummary:
    """Write ``months`` monthly extracts for ``partners`` partners into the landing zone.

    Output is a pure function of the arguments (and of ``end_month``, which defaults to the
    last full month before today). ``events`` is the approximate total number of portal
    events (default about 40 per partner-month). With ``defects`` the run also injects the
    faults listed in ``ground_truth/defects.jsonl``. A landing zone that already holds files
    raises LandingNotEmptyError unless ``overwrite``, which clears it first; the ground truth
    is always rewritten to match what is written now.
    """
    if partners < 1 or months < 1:
        raise ValueError("partners and months must be at least 1")
    began = time.perf_counter()
    landing, truth = settings.landing_dir, settings.ground_truth_dir
    if not _is_empty(landing):
        if not overwrite:
            raise LandingNotEmptyError(str(landing))
        shutil.rmtree(landing)
    # Ground truth only describes the landing zone written with it: never keep a stale one.
    shutil.rmtree(truth, ignore_errors=True)
    landing.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)

    last = parse_month(end_month) if isinstance(end_month, str) else end_month
    last = last or default_end_month()
    last = date(last.year, last.month, 1)
    first = month_start(last.year, last.month, -(months - 1))
    rng = np.random.default_rng(seed)
    pop = build_population(rng, partners, months, first)

    from orchestration.generate.defects import DefectInjector  # avoid an import cycle

    injector = DefectInjector(pop, np.random.default_rng([seed, 7]), enabled=defects)
    sim = CrmSimulator(pop, np.random.default_rng([seed, 1]), **injector.simulation_options())
    stream_rng = np.random.default_rng([seed, 2])
    writer = LandingWriter(landing)
    report = _progress_adapter(progress, months)

    active = pop.engagement[:, BURN_IN:] > 0
    weight = pop.size[:, None] * pop.engagement[:, BURN_IN:]
    target = events if events is not None else EVENTS_PER_PARTNER_MONTH * int(active.sum())
    events_scale = target / max(weight.sum(), 1e-9)
    event_no = record_no = 0
    try:
        for t in range(months):
            month, next_month = pop.month_date(t), pop.month_date(t + 1)
            extract = next_month  # team decision: extract_date = first day of the next month
            out = sim.month(t)
            writer.write_contract_csv("crm", "partners", extract, _arrow(out.partners), False)
            for name in ("opportunities", "deal_registrations", "renewals", "csat_responses"):
                writer.write_contract_csv("crm", name, extract, _arrow(getattr(out, name)))
            if out.leads is not None:
                writer.write_contract_csv("crm", "leads", extract, _arrow(out.leads))

            e = pop.engagement[:, t + BURN_IN]
            rate = events_scale * weight[:, t] * injector.event_factor(t)
            counts = stream_rng.poisson(rate)
            if injector.quiet_partner >= 0 and t == months - 1:
                counts[injector.quiet_partner] = 0
            event_no += write_portal_month(
                writer, stream_rng, pop, counts, month, next_month, extract, event_no
            )
            lms_rate = LMS_RECORDS_PER_LEARNER_MONTH * pop.learners * e
            lms_counts = stream_rng.poisson(lms_rate)
            if injector.quiet_partner >= 0 and t == months - 1:
                lms_counts[injector.quiet_partner] = 0
            record_no += write_lms_month(
                writer, stream_rng, pop, lms_counts, month, next_month, extract, record_no, seed, t
            )
            report(f"{month:%Y-%m}", t + 1, months)
        injector.inject(writer, sim)
    finally:
        writer.close()

    _write_ground_truth(truth, pop, writer, injector)
    rows = {key: c.rows_written for key, c in sorted(writer.counts.items())}
    return GenerationSummary(
        landing_dir=landing,
        ground_truth_dir=truth,
        partners=partners,
        months=months,
        seed=seed,
        first_month=f"{first:%Y-%m}",
        end_month=f"{last:%Y-%m}",
        defects=len(injector.records),
        files=writer.files,
        rows=rows,
        seconds=round(time.perf_counter() - began, 2),
    )


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def _write_ground_truth(truth: Path, pop: Population, writer: LandingWriter, injector: Any) -> None:
    churn = [pop.month_date(int(m)).strftime("%Y-%m") if m >= 0 else None for m in pop.churn_month]
    pd.DataFrame(
        {
            "partner_id": pop.partner_ids(),
            "latent_quality": np.round(pop.quality, 6),
            "size_factor": np.round(pop.size, 6),
            "trajectory": np.array(TRAJECTORIES)[pop.trajectory],
            "churns": pop.churn_month >= 0,
            "churn_month": churn,
        }
    ).to_csv(truth / "partners.csv", index=False)
    with (truth / "defects.jsonl").open("w", encoding="utf-8") as fh:
        for record in injector.records:
            fh.write(json.dumps(record, sort_keys=False) + "\n")
    counts = {key: asdict(c) for key, c in sorted(writer.counts.items())}
    (truth / "expected_counts.json").write_text(json.dumps(counts, indent=2) + "\n")
