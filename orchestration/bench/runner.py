"""Run the benchmark: generate or reuse data, the pipeline K times, the baseline K times, a delta.

Everything happens in a data directory of its own, ``$PARTNERSCORE_DATA_DIR/bench/<scale>/
seed-<seed>/``, so a benchmark never touches the user's warehouse. Landing data is reused
while its scale, seed and end month match (the marker file ``bench-data.json`` says what
is there); the warehouse is rebuilt from scratch for every full run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psutil

from orchestration.bench.baseline import BaselineResult, run_baseline
from orchestration.bench.delta import (
    DailyDelta,
    remove_delta,
    write_daily_delta,
    write_redelivery,
)
from orchestration.bench.memory import RssSampler
from orchestration.bench.scales import Scale
from orchestration.settings import PROJECT_DIR, Settings

# Pipeline stages as run_job names them, in the order the table shows them.
PIPELINE_STAGES = ("ingest", "checks", "dbt_build", "publish")
STAGE_LABELS = {
    "generate": "generate",
    "dbt_parse": "dbt parse (new project version)",
    "startup": "startup (definitions, dbt manifest)",
    "ingest": "ingest",
    "checks": "checks",
    "dbt_build": "dbt build",
    "publish": "publish",
    "orchestration": "between steps (Dagster)",
}
RAW_SCHEMAS = ("raw_crm", "raw_portal", "raw_lms")
DBT_SCHEMAS = ("staging", "intermediate", "marts", "scoring_config", "snapshots")
MARKER = "bench-data.json"
TARGET_FACTOR = 1.5  # target at scale M: pipeline <= 1.5 x baseline + 20 s
TARGET_SLACK_SECONDS = 20.0
DELTA_TARGET = 0.10  # a daily run takes at most 10 % of a full build

Notify = Callable[[str], None]


class BenchError(Exception):
    """The benchmark could not produce a measurement (message plus a hint)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class StageResult:
    name: str
    seconds: float
    rows: int | None = None
    peak_rss_bytes: int | None = None
    note: str | None = None

    @property
    def rows_per_second(self) -> float | None:
        if self.rows is None or self.seconds <= 0:
            return None
        return self.rows / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": self.rows_per_second}


@dataclass
class PipelineRun:
    run_id: str
    success: bool
    seconds: float  # wall time of run_job, definitions loading included
    stages: dict[str, StageResult]
    failures: list[str] = field(default_factory=list)

    @property
    def peak_rss_bytes(self) -> int | None:
        peaks = [s.peak_rss_bytes for s in self.stages.values() if s.peak_rss_bytes]
        return max(peaks) if peaks else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "seconds": self.seconds,
            "peak_rss_bytes": self.peak_rss_bytes,
            "stages": {k: v.as_dict() for k, v in self.stages.items()},
            "failures": self.failures,
        }


@dataclass
class BenchResult:
    scale: Scale
    seed: int
    data_dir: Path
    memory_limit: str | None
    threads: int | None
    started_at: datetime
    generate: StageResult
    generation: dict[str, Any]
    full_runs: list[PipelineRun]
    baseline_runs: list[BaselineResult]
    baseline_peak_rss_bytes: int | None
    delta: DailyDelta | None = None
    delta_run: PipelineRun | None = None
    # The delta's events delivered again: a daily run that changes no score, the floor of
    # every daily run (Dagster, ingest, checks, starting dbt, its nodes, publish).
    floor: DailyDelta | None = None
    floor_run: PipelineRun | None = None
    # Whether that run left marts.fct_partner_scores as it was; None when it has no marts.
    floor_scores_unchanged: bool | None = None
    finished_at: datetime | None = None
    # The earlier bench result the baseline was taken from (--baseline-from), else None.
    baseline_source: Path | None = None
    # Parsing the dbt project when this version of it was never parsed: once per project
    # version, like compiling, so it is timed on its own and not in the pipeline total.
    dbt_parse: StageResult | None = None
    # 1-minute load average at start and end: other work on the machine skews every figure.
    load_average: tuple[float, float] | None = None

    # The full build reported is the median run by total time (a real run, not a blend).
    @property
    def full(self) -> PipelineRun | None:
        """None for --baseline-only."""
        if not self.full_runs:
            return None
        ordered = sorted(self.full_runs, key=lambda r: r.seconds)
        return ordered[(len(ordered) - 1) // 2]

    @property
    def baseline_seconds(self) -> float:
        return statistics.median(r.seconds for r in self.baseline_runs)

    @property
    def baseline_rows(self) -> int:
        return self.baseline_runs[0].total_rows_loaded

    @property
    def ratio(self) -> float | None:
        return None if self.full is None else self.full.seconds / self.baseline_seconds

    @property
    def overhead_seconds(self) -> float | None:
        """Pipeline time beyond 1.5 x the baseline; the target allows at most 20 s."""
        if self.full is None:
            return None
        return self.full.seconds - TARGET_FACTOR * self.baseline_seconds

    @property
    def meets_target(self) -> bool | None:
        overhead = self.overhead_seconds
        return None if overhead is None else overhead <= TARGET_SLACK_SECONDS

    def _share_of_full(self, run: PipelineRun | None) -> float | None:
        if run is None or self.full is None:
            return None
        return run.seconds / self.full.seconds

    @property
    def delta_ratio(self) -> float | None:
        return self._share_of_full(self.delta_run)

    @property
    def floor_ratio(self) -> float | None:
        return self._share_of_full(self.floor_run)

    def _day_run(self, day: DailyDelta | None, run: PipelineRun | None) -> dict[str, Any] | None:
        """A daily run in the JSON: the day's extracts, its time and its share of the build."""
        if day is None or run is None:
            return None
        return {
            "extract_date": day.extract_date.isoformat(),
            "rows": day.rows,
            "seconds": run.seconds,
            "ratio_to_full": self._share_of_full(run),
            "run": run.as_dict(),
        }

    def stage_rows(self) -> list[StageResult]:
        """generate, then the median full run's stages (startup and Dagster time included)."""
        parse = [self.dbt_parse] if self.dbt_parse else []
        return [self.generate, *parse, *(self.full.stages.values() if self.full else ())]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale.name,
            "parameters": {**self.scale.as_dict(), "seed": self.seed},
            "git_commit": git_commit(),
            "machine": {**machine_info(), "load_average_1min": self.load_average},
            "memory_limit": self.memory_limit,
            "dbt_profile_sets_memory_limit": dbt_profile_sets_memory_limit(),
            "threads": self.threads,
            "data_dir": str(self.data_dir),
            "timestamps": {
                "started_at": self.started_at.isoformat(),
                "finished_at": (self.finished_at or datetime.now(UTC)).isoformat(),
            },
            "generation": self.generation,
            "stages": {s.name: s.as_dict() for s in self.stage_rows()},
            "pipeline": None
            if self.full is None
            else {
                "seconds": self.full.seconds,
                "peak_rss_bytes": self.full.peak_rss_bytes,
                "repeats": [r.as_dict() for r in self.full_runs],
            },
            "baseline": {
                "seconds": self.baseline_seconds,
                "rows_loaded": self.baseline_rows,
                "rows_scored": self.baseline_runs[0].rows_scored,
                "peak_rss_bytes": self.baseline_peak_rss_bytes,
                "step_seconds": self.baseline_runs[0].step_seconds,
                "repeats": [r.seconds for r in self.baseline_runs],
                "measured_in": str(self.baseline_source) if self.baseline_source else "this run",
            },
            "ratio": self.ratio,
            "overhead_seconds": self.overhead_seconds,
            "target": {
                "rule": (
                    f"pipeline <= {TARGET_FACTOR} x baseline + {TARGET_SLACK_SECONDS:.0f} s"
                    " (set for scale M)"
                ),
                "met": self.meets_target,
            },
            "delta": None
            if (delta := self._day_run(self.delta, self.delta_run)) is None
            else {
                **delta,
                "target_ratio": DELTA_TARGET,
                "met": (self.delta_ratio or 0) <= DELTA_TARGET,
            },
            "floor": None
            if (floor := self._day_run(self.floor, self.floor_run)) is None
            else {**floor, "scores_unchanged": self.floor_scores_unchanged},
        }


def git_commit() -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def machine_info() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def dbt_profile_sets_memory_limit() -> bool:
    """Whether dbt's profile passes a memory_limit to DuckDB (profiles.yml is the dbt side's)."""
    profile = PROJECT_DIR / "profiles.yml"
    return profile.exists() and "memory_limit" in profile.read_text()


def bench_dir(outer: Settings, scale: Scale, seed: int) -> Path:
    return outer.data_dir / "bench" / scale.name / f"seed-{seed}"


def results_dir(outer: Settings) -> Path:
    return outer.data_dir / "bench" / "results"


@contextmanager
def bench_environment(data_dir: Path, memory_limit: str | None) -> Iterator[Settings]:
    """Point this process and its children (dbt) at the bench data directory for a while.

    The Dagster assets and dbt read the environment, not our Settings object, so the data
    dir, Dagster home and memory limit are exported and restored afterwards.
    """
    names = (
        "PARTNERSCORE_DATA_DIR",
        "DAGSTER_HOME",
        "PARTNERSCORE_DUCKDB_TEMP_DIR",
        "PARTNERSCORE_DUCKDB_MEMORY_LIMIT",
        "DBT_TARGET_PATH",
        "DBT_LOG_PATH",
        "PATH",
        "PARTNERSCORE_CACHE_DIR",
    )
    saved = {name: os.environ.get(name) for name in names}
    # Every bench data dir shares the outer data dir's dbt manifest cache: no parse per scale.
    os.environ["PARTNERSCORE_CACHE_DIR"] = str(Settings.from_env().dbt_manifest_cache_dir.parent)
    # dbt runs as a subprocess found on PATH; an unactivated venv (.venv/bin/partnerscore)
    # would not find it, so put this interpreter's bin directory first.
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("dbt", path=bin_dir) and bin_dir not in os.environ.get("PATH", "").split(
        os.pathsep
    ):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    os.environ["PARTNERSCORE_DATA_DIR"] = str(data_dir)
    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster_home")
    # Spill files too: a full build empties its temp dir first, so benches of two scales (or a
    # bench and a run) sharing the outer one would delete each other's spill files mid-query.
    os.environ["PARTNERSCORE_DUCKDB_TEMP_DIR"] = str(data_dir / "tmp" / "duckdb")
    if memory_limit:
        os.environ["PARTNERSCORE_DUCKDB_MEMORY_LIMIT"] = memory_limit
    try:
        settings = Settings.from_env()
        settings.export_env()
        settings.ensure_dirs()
        yield settings
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- data --------------------------------------------------------------------------------------


def _read_marker(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _write_marker(data_dir: Path, marker: dict[str, Any]) -> None:
    (data_dir / MARKER).write_text(json.dumps(marker, indent=2, default=str) + "\n")


def prepare_data(
    settings: Settings,
    scale: Scale,
    seed: int,
    *,
    reuse: bool,
    progress: Any = None,
    sampler: RssSampler | None = None,
) -> tuple[StageResult, dict[str, Any]]:
    """Generate the scale's landing data, or reuse what a previous run left there."""
    from orchestration.generate import default_end_month, generate_demo

    end_month = default_end_month().strftime("%Y-%m")
    wanted = {**scale.as_dict(), "seed": seed, "end_month": end_month}
    marker = _read_marker(settings.data_dir)
    if marker:
        remove_delta([Path(p) for p in marker.get("delta_folders", [])])
    current = marker and {k: marker.get(k) for k in wanted} == wanted
    if reuse and current and any(settings.landing_dir.rglob("*.*")):
        stage = StageResult(
            "generate",
            float(marker["generate_seconds"]),
            marker.get("rows_written"),
            marker.get("generate_peak_rss_bytes"),
            note=f"reused, generated {marker.get('generated_at', '?')}",
        )
        return stage, marker
    shutil.rmtree(settings.landing_dir, ignore_errors=True)
    shutil.rmtree(settings.ground_truth_dir, ignore_errors=True)
    (settings.data_dir / MARKER).unlink(missing_ok=True)
    started = time.time()
    summary = generate_demo(
        settings,
        partners=scale.partners,
        months=scale.months,
        seed=seed,
        defects=False,
        events=scale.events,
        end_month=end_month,
        progress=progress,
        overwrite=True,
    )
    finished = time.time()
    rows = sum(summary.rows.values())
    peak = sampler.peak_between(started, finished) if sampler else None
    marker = {
        **wanted,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generate_seconds": finished - started,
        "generate_peak_rss_bytes": peak,
        "rows_written": rows,
        "rows_by_extract": summary.rows,
        "files": summary.files,
        "first_month": summary.first_month,
        "delta_folders": [],
    }
    _write_marker(settings.data_dir, marker)
    return StageResult("generate", finished - started, rows, peak), marker


def reset_warehouse(settings: Settings) -> None:
    """Start a full build from nothing: no warehouse, no published copy, no spill files."""
    for path in (settings.warehouse_path, settings.warehouse_path.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(settings.published_path.parent, ignore_errors=True)
    shutil.rmtree(settings.duckdb_temp_dir, ignore_errors=True)
    settings.ensure_dirs()


# -- counting ----------------------------------------------------------------------------------


def _table_rows(database: Path, schemas: tuple[str, ...] | None, settings: Settings) -> int:
    """Rows in the base tables of ``schemas`` (all schemas when None); 0 without a database."""
    from orchestration.warehouse import connect

    if not database.exists():
        return 0
    with connect(settings, read_only=True, path=database) as conn:
        where = "table_type = 'BASE TABLE'"
        params: list[str] = []
        if schemas:
            where += f" and table_schema in ({', '.join('?' for _ in schemas)})"
            params = list(schemas)
        tables = conn.execute(
            f"select table_schema, table_name from information_schema.tables where {where}",
            params,
        ).fetchall()
        return sum(
            conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            for schema, table in tables
        )


def scores_fingerprint(settings: Settings) -> tuple[int, int] | None:
    """Rows and the sum of row hashes of ``marts.fct_partner_scores``; None without it."""
    from orchestration.warehouse import connect, table_exists

    if not settings.warehouse_path.exists():
        return None
    with connect(settings, read_only=True) as conn:
        if not table_exists(conn, "marts", "fct_partner_scores"):
            return None
        rows, total = conn.execute(
            "select count(*), coalesce(sum(hash(scores)::hugeint), 0) "
            "from marts.fct_partner_scores as scores"
        ).fetchone()
    return int(rows), int(total)


# -- pipeline ----------------------------------------------------------------------------------


def ensure_dbt_manifest(settings: Settings) -> None:
    """Make the bench data dir's dbt manifest current before Dagster loads definitions.

    Importing ``orchestration.defs.dbt`` builds the dbt assets, which needs the manifest; a
    fresh bench data dir takes it from the shared manifest cache (``prepare_manifest``), so
    it parses only when the dbt project changed since any data dir last parsed it.
    """
    from orchestration.dbt_project import prepare_manifest

    settings.export_env()
    # with its partial-parse state, so that the timed first build does not parse the project
    prepare_manifest(with_parse_state=True)


def _prepare_dbt(settings: Settings, sampler: RssSampler) -> StageResult:
    """Bring the dbt manifest up to date before the timed runs: a parse when this version of
    the project was never parsed (or the manifest cache copy when it was)."""
    started = time.time()
    ensure_dbt_manifest(settings)
    finished = time.time()
    return StageResult(
        "dbt_parse",
        finished - started,
        peak_rss_bytes=sampler.peak_between(started, finished),
        note="once per project version, not in the total",
    )


def run_pipeline(
    settings: Settings, sampler: RssSampler, on_step: Callable[[str, str], None] | None = None
) -> PipelineRun:
    """One run of the full pipeline job, broken down by stage with rows and peak memory."""
    from orchestration.defs.jobs import PIPELINE_JOB_NAME
    from orchestration.pipeline import run_job

    raw_before = _table_rows(settings.warehouse_path, RAW_SCHEMAS, settings)
    started = time.time()
    ensure_dbt_manifest(settings)
    outcome = run_job(settings, PIPELINE_JOB_NAME, on_step=on_step)
    finished = time.time()
    raw_rows = _table_rows(settings.warehouse_path, RAW_SCHEMAS, settings) - raw_before
    built_rows = _table_rows(settings.warehouse_path, DBT_SCHEMAS, settings)
    published_rows = _table_rows(settings.published_path, None, settings)
    rows = {
        "ingest": raw_rows,
        "checks": raw_rows,
        "dbt_build": built_rows,
        "publish": published_rows,
    }

    # Steps run one at a time in-process, so a stage's time is the sum of its steps' times
    # and its peak the highest sample taken while one of its steps ran.
    stages: dict[str, StageResult] = {}
    first_step = min((s.started_at for s in outcome.steps), default=finished)
    stages["startup"] = StageResult(
        "startup",
        max(first_step - started, 0.0),
        peak_rss_bytes=sampler.peak_between(started, first_step),
    )
    for stage in PIPELINE_STAGES:
        steps = [s for s in outcome.steps if s.stage == stage]
        seconds = sum(s.seconds for s in steps)
        peaks = [sampler.peak_between(s.started_at, s.finished_at or finished) for s in steps]
        peaks = [p for p in peaks if p is not None]
        stages[stage] = StageResult(
            stage, seconds, rows[stage], max(peaks) if peaks else None, note=f"{len(steps)} steps"
        )
    in_steps = sum(s.seconds for s in stages.values())
    stages["orchestration"] = StageResult(
        "orchestration",
        max(finished - started - in_steps, 0.0),
        note="Dagster between and around steps",
    )
    return PipelineRun(
        run_id=outcome.run_id,
        success=outcome.success,
        seconds=finished - started,
        stages=stages,
        failures=outcome.failures,
    )


def _one_line(failure: str) -> str:
    """A step failure as one line: its first line and, when different, the root error."""
    lines = [line.strip() for line in failure.splitlines() if line.strip()]
    if not lines:
        return failure
    root = next((line for line in reversed(lines) if "Error" in line.split(":")[0]), lines[-1])
    return lines[0] if root == lines[0] else f"{lines[0]} ... {root}"


def _check_run(run: PipelineRun, settings: Settings, what: str) -> None:
    if run.success:
        return
    first = _one_line(run.failures[0]) if run.failures else "see the Dagster run log"
    raise BenchError(
        f"the {what} failed ({len(run.failures)} failures), first: {first}",
        hint=(
            f"inspect it with PARTNERSCORE_DATA_DIR={settings.data_dir} partnerscore run, "
            "or `partnerscore dev` for the run log"
        ),
    )


def run_bench(
    outer: Settings,
    scale: Scale,
    *,
    seed: int = 42,
    repeat: int = 1,
    memory_limit: str | None = None,
    reuse: bool = True,
    keep: bool = True,
    delta: bool = True,
    pipeline: bool = True,
    baseline_from: Path | None = None,
    notify: Notify | None = None,
    on_step: Callable[[str, str], None] | None = None,
    generate_progress: Any = None,
) -> BenchResult:
    """Measure ``scale``: generate/reuse, K full builds, K baselines, one daily delta.

    With ``pipeline=False`` only the data and the baseline are measured: what this machine
    needs at the least for the essential work. ``baseline_from`` takes the baseline from an
    earlier result on the same generated data instead of running it again (at scale L it takes
    over 20 minutes).
    """
    if repeat < 1:
        raise BenchError("--repeat must be at least 1")
    say = notify or (lambda _m: None)
    data_dir = bench_dir(outer, scale, seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    load_at_start = os.getloadavg()[0]
    memory_limit = memory_limit or outer.duckdb_memory_limit
    with bench_environment(data_dir, memory_limit) as settings, RssSampler() as sampler:
        say(f"data: {scale.description} in {data_dir}")
        if memory_limit and pipeline and not dbt_profile_sets_memory_limit():
            say(
                f"warning: profiles.yml sets no memory_limit, so dbt build runs with DuckDB's "
                f"default (80 % of RAM), not {memory_limit}"
            )
        generate, marker = prepare_data(
            settings, scale, seed, reuse=reuse, progress=generate_progress, sampler=sampler
        )
        # checked before the long runs: an earlier baseline must be of this very data
        earlier = _earlier_baseline(baseline_from, scale, seed, marker) if baseline_from else None
        dbt_parse = _prepare_dbt(settings, sampler) if pipeline else None
        full_runs: list[PipelineRun] = []
        for i in range(repeat if pipeline else 0):
            say(f"full build {i + 1}/{repeat}")
            reset_warehouse(settings)
            run = run_pipeline(settings, sampler, on_step)
            _check_run(run, settings, f"full build {i + 1}")
            full_runs.append(run)
        baseline_runs: list[BaselineResult] = []
        baseline_db = data_dir / "baseline" / "baseline.duckdb"
        for i in range(0 if earlier else repeat):
            say(f"baseline {i + 1}/{repeat}")
            baseline_runs.append(
                run_baseline(
                    settings.landing_dir,
                    baseline_db,
                    memory_limit=memory_limit,
                    threads=settings.duckdb_threads,
                    temp_dir=settings.duckdb_temp_dir / "baseline",
                )
            )
        baseline_peak = max(
            (sampler.peak_between(r.started_at, r.finished_at) or 0 for r in baseline_runs),
            default=None,
        )
        if earlier:
            baseline_runs, baseline_peak = earlier
        shutil.rmtree(baseline_db.parent, ignore_errors=True)
        result = BenchResult(
            scale=scale,
            seed=seed,
            data_dir=data_dir,
            memory_limit=memory_limit,
            threads=settings.duckdb_threads,
            started_at=started_at,
            generate=generate,
            generation={k: marker.get(k) for k in ("generated_at", "end_month", "first_month")},
            full_runs=full_runs,
            baseline_runs=baseline_runs,
            baseline_peak_rss_bytes=baseline_peak,
            baseline_source=baseline_from if earlier else None,
            dbt_parse=dbt_parse,
        )
        if delta and pipeline:
            # The warehouse holds the last full build; add a day and run again.
            say("daily delta")
            result.delta = write_daily_delta(settings.landing_dir)
            folders = list(result.delta.folders)
            marker["delta_folders"] = [str(p) for p in folders]
            _write_marker(data_dir, marker)
            try:
                run = run_pipeline(settings, sampler, on_step)
                _check_run(run, settings, "daily delta run")
                result.delta_run = run
                say("daily run floor: the same day delivered again")
                result.floor = write_redelivery(settings.landing_dir, result.delta)
                folders += result.floor.folders
                marker["delta_folders"] = [str(p) for p in folders]
                _write_marker(data_dir, marker)
                scores_before = scores_fingerprint(settings)
                run = run_pipeline(settings, sampler, on_step)
                _check_run(run, settings, "daily floor run")
                result.floor_run = run
                if scores_before is not None:
                    result.floor_scores_unchanged = scores_fingerprint(settings) == scores_before
            finally:
                remove_delta(folders)
                marker["delta_folders"] = []
                _write_marker(data_dir, marker)
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    result.finished_at = datetime.now(UTC)
    result.load_average = (round(load_at_start, 2), round(os.getloadavg()[0], 2))
    return result


def _earlier_baseline(
    path: Path, scale: Scale, seed: int, marker: dict[str, Any]
) -> tuple[list[BaselineResult], int | None]:
    """The baseline of an earlier result, if it was measured on this very generated data."""
    try:
        earlier = json.loads(path.read_text())
        baseline = earlier["baseline"]
        same = (
            earlier["scale"] == scale.name
            and earlier["parameters"]["seed"] == seed
            and earlier["generation"]["generated_at"] == marker.get("generated_at")
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"cannot read a bench result from {path}: {exc}") from exc
    if not same:
        raise BenchError(
            f"{path} was not measured on this data (scale {scale.name}, seed {seed}, "
            f"generated at {marker.get('generated_at')})",
            hint="run the baseline again: leave out --baseline-from",
        )
    runs = [
        BaselineResult(
            seconds=seconds,
            step_seconds=baseline["step_seconds"],
            rows_loaded={"all extracts": baseline["rows_loaded"]},
            rows_scored=baseline["rows_scored"],
            started_at=0.0,
            finished_at=0.0,
        )
        for seconds in baseline["repeats"]
    ]
    return runs, baseline.get("peak_rss_bytes")


def write_json(result: BenchResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.as_dict(), indent=2, default=_json_default) + "\n")
    return path


def default_json_path(outer: Settings, result: BenchResult) -> Path:
    stamp = result.started_at.strftime("%Y%m%dT%H%M%SZ")
    return results_dir(outer) / f"{result.scale.name}-{stamp}.json"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
