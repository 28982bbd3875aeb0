"""Headless runs of the Dagster jobs, for `partnerscore run`, `partnerscore ingest` and `bench`.

The jobs run in-process against the persistent instance in ``$DAGSTER_HOME``, so
their history shows in `dagster dev` afterwards, without a process per step
(which costs seconds per step and buys nothing on one machine).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dagster as dg
import yaml

from orchestration.settings import PROJECT_DIR, Settings

StepCallback = Callable[[str, str], None]  # (step_key, status)


@dataclass
class StepTiming:
    step_key: str
    stage: str
    started_at: float
    finished_at: float | None = None
    status: str = "running"

    @property
    def seconds(self) -> float:
        return (self.finished_at or time.time()) - self.started_at


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    started_at: datetime
    seconds: float
    steps: list[StepTiming] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def stage_seconds(self) -> dict[str, float]:
        """Time spent per stage: the sum of its steps (steps run one at a time in-process)."""
        totals: dict[str, float] = {}
        for step in self.steps:
            totals[step.stage] = totals.get(step.stage, 0.0) + step.seconds
        return totals


def ensure_instance(settings: Settings) -> dg.DagsterInstance:
    """A persistent Dagster instance under the data dir, with the warehouse pool limited to 1.

    Its event log is Dagster's SQLite one with connections kept open
    (``orchestration.instance_storage``); an instance created before that, whose dagster.yaml
    configures no storage of its own, gets the entry added (same files, nothing to migrate).
    """
    settings.export_env()  # dagster.yaml reads DAGSTER_HOME
    settings.ensure_dirs()
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(PROJECT_DIR / "orchestration" / "dagster.yaml", config)
    else:
        _add_event_log_storage(config)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def _add_event_log_storage(config: Path) -> None:
    from orchestration.instance_storage import DAGSTER_YAML_ENTRY, STORAGE_KEYS

    text = config.read_text()
    current = yaml.safe_load(text) or {}
    if isinstance(current, dict) and not any(key in current for key in STORAGE_KEYS):
        config.write_text(text.rstrip("\n") + "\n" + DAGSTER_YAML_ENTRY)


def _stage_of_steps(defs: dg.Definitions) -> dict[str, str]:
    """Map each op name to its pipeline stage (ingest, checks, dbt_build, publish)."""
    from orchestration.defs import dbt, ingest, quality, serving

    stages: dict[str, str] = {}
    for module, stage in (
        (ingest, "ingest"),
        (quality, "checks"),
        (dbt, "dbt_build"),
        (serving, "publish"),
    ):
        for definition in [*getattr(module, "assets", []), *getattr(module, "asset_checks", [])]:
            node = getattr(definition, "node_def", None)
            if node is not None:
                stages[node.name] = stage
    # asset checks defined on an ingest asset but living in the quality package run as
    # separate ops named after the check function; unknown ops fall back to "checks".
    return stages


def run_job(
    settings: Settings,
    job_name: str,
    on_step: StepCallback | None = None,
) -> RunOutcome:
    """Execute a job in-process, reporting step starts and ends as they happen."""
    from dagster._core.events import DagsterEventType

    from orchestration.dbt_project import prepare_manifest

    settings.export_env()
    log_level = os.environ.get("PARTNERSCORE_LOG_LEVEL", "CRITICAL").upper()
    instance = ensure_instance(settings)
    prepare_manifest()
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    stage_of = _stage_of_steps(defs)
    run_id = str(uuid.uuid4())
    steps: dict[str, StepTiming] = {}
    done = threading.Event()

    def poll_events() -> None:
        seen = 0
        wanted = {
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.STEP_SKIPPED,
        }
        while True:
            finished = done.is_set()
            records = instance.all_logs(run_id, of_type=wanted)
            for record in records[seen:]:
                event = record.dagster_event
                key = event.step_key or "?"
                if event.event_type == DagsterEventType.STEP_START:
                    op_name = key.split("[")[0]
                    steps[key] = StepTiming(key, stage_of.get(op_name, "checks"), record.timestamp)
                    status = "started"
                else:
                    timing = steps.setdefault(
                        key, StepTiming(key, stage_of.get(key, "checks"), record.timestamp)
                    )
                    timing.finished_at = record.timestamp
                    status = event.event_type.value.removeprefix("STEP_").lower()
                    timing.status = status
                if on_step:
                    on_step(key, status)
            seen = len(records)
            if finished:
                return
            done.wait(0.5)

    poller = threading.Thread(target=poll_events, daemon=True)
    poller.start()
    started = time.time()
    started_at = datetime.now()
    try:
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            # Quiet by default: progress comes through on_step, details stay in the run's
            # event log (dagster dev shows them). PARTNERSCORE_LOG_LEVEL=DEBUG for everything.
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    finally:
        done.set()
        poller.join()
    failures = []
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            error = data.error if data else None
            # User code errors arrive wrapped by Dagster: the cause is what a person can act on.
            while error is not None and error.cause is not None and not data.user_failure_data:
                error = error.cause
            message = error.message.strip() if error else "failed"
            if data and data.user_failure_data and data.user_failure_data.description:
                message = data.user_failure_data.description
            failures.append(f"{event.step_key}: {message}")
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                severity = evaluation.severity.value
                failures.append(
                    f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                    f" failed ({severity})"
                    + (f": {evaluation.description}" if evaluation.description else "")
                )
    return RunOutcome(
        run_id=run_id,
        success=result.success,
        started_at=started_at,
        seconds=time.time() - started,
        steps=list(steps.values()),
        failures=failures,
    )
