"""Run ``baseline.sql``: the same essential work as the pipeline, with no orchestration."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.extracts import ENTITIES
from orchestration.settings import PROJECT_DIR

BASELINE_SQL = Path(__file__).with_name("baseline.sql")
SEEDS_DIR = PROJECT_DIR / "seeds"
# One table per extract entity (named after it), every delivered row (restatements included).
# An entity added to the extract contract without a load step fails the count below.
LOADED_TABLES = tuple(entity.name for entity in ENTITIES)
# One row per scored partner-period (month and quarter) with its score and band.
SCORES_TABLE = "partner_scores"
_STEP = re.compile(r"^-- step: (\w+)\s*$", re.MULTILINE)


@dataclass
class BaselineResult:
    """Timing and outcome of one baseline run.

    rows_loaded: rows read per landing entity; rows_scored: partner-periods scored (both
    grains); bands: partner-periods per score band.
    """

    seconds: float
    step_seconds: dict[str, float]
    rows_loaded: dict[str, int]
    rows_scored: int
    started_at: float
    finished_at: float
    bands: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows_loaded(self) -> int:
        return sum(self.rows_loaded.values())


def _sql_path(path: Path) -> str:
    """A directory as it goes inside a SQL string literal."""
    return path.resolve().as_posix().replace("'", "''")


def baseline_steps(landing_dir: Path, seeds_dir: Path = SEEDS_DIR) -> list[tuple[str, str]]:
    """(step name, SQL) in order, with the landing and seeds directories filled in."""
    text = BASELINE_SQL.read_text()
    landing, seeds = _sql_path(landing_dir), _sql_path(seeds_dir)
    parts = _STEP.split(text)
    # parts = [preamble, name1, sql1, name2, sql2, ...]
    return [
        (name, sql.replace("{landing}", landing).replace("{seeds}", seeds).strip())
        for name, sql in zip(parts[1::2], parts[2::2], strict=True)
    ]


def run_baseline(
    landing_dir: Path,
    database: Path,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_dir: Path | None = None,
    seeds_dir: Path = SEEDS_DIR,
) -> BaselineResult:
    """Run every baseline step into a fresh DuckDB file at ``database`` and time it.

    The database is recreated so repeated runs measure the same work; it lives on disk,
    like the warehouse, so both pay for writing their tables.
    """
    for stale in (database, database.with_name(database.name + ".wal")):
        stale.unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    started = time.time()
    conn = duckdb.connect(str(database))
    try:
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True)
            conn.execute(f"set temp_directory = '{temp_dir.as_posix()}'")
        if memory_limit:
            conn.execute(f"set memory_limit = '{memory_limit}'")
        if threads:
            conn.execute(f"set threads = {int(threads)}")
        conn.execute("set preserve_insertion_order = false")
        conn.execute("set enable_progress_bar = false")  # the bench prints its own progress
        for name, sql in baseline_steps(landing_dir, seeds_dir):
            t0 = time.time()
            conn.execute(sql)
            steps[name] = time.time() - t0
        finished = time.time()
        rows = {
            table: conn.execute(f"select count(*) from {table}").fetchone()[0]
            for table in LOADED_TABLES
        }
        scored = conn.execute(f"select count(*) from {SCORES_TABLE}").fetchone()[0]
        bands = dict(
            conn.execute(
                f"select score_band, count(*) from {SCORES_TABLE} group by 1 order by 1"
            ).fetchall()
        )
    finally:
        conn.close()
    return BaselineResult(
        seconds=finished - started,
        step_seconds=steps,
        rows_loaded=rows,
        rows_scored=scored,
        started_at=started,
        finished_at=finished,
        bands=bands,
    )
