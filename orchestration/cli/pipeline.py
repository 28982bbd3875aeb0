"""`partnerscore run`, `ingest` and `dev`: the pipeline, headless or in the Dagster UI."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from orchestration.cli.app import UserError, app, console, err_console, friendly_errors
from orchestration.settings import PROJECT_DIR, Settings, get_settings

if TYPE_CHECKING:  # Dagster takes seconds to import: only commands that run it pay for it.
    from orchestration.pipeline import RunOutcome


def landing_is_empty(settings: Settings) -> bool:
    return not settings.landing_dir.exists() or not any(
        p.is_file() for p in settings.landing_dir.rglob("*")
    )


def _generate_demo_if_empty(settings: Settings) -> None:
    if not landing_is_empty(settings):
        return
    from orchestration.generate import generate_demo

    console.print(f"[bold]No extracts in {settings.landing_dir}[/]: generating demo data.")
    generate_demo(settings)


def _print_step(step_key: str, status: str) -> None:
    if status != "started":
        colour = {"success": "green", "failure": "red", "skipped": "yellow"}.get(status, "white")
        console.print(f"  [{colour}]{status:>8}[/] {step_key}")


def _ingest_summary(settings: Settings, since: datetime) -> Table | None:
    from orchestration.warehouse import connect, table_exists

    if not settings.warehouse_path.exists():
        return None
    with connect(settings, read_only=True) as conn:
        if not table_exists(conn, "raw_meta", "file_manifest"):
            return None
        rows = conn.execute(
            """
            select
                source || '/' || entity as extract,
                count(*) filter (where status = 'loaded') as files,
                count(*) filter (where status = 'loaded' and loaded_at >= ?) as new_files,
                coalesce(sum(rows_loaded) filter (where status = 'loaded'), 0) as rows_loaded,
                coalesce(sum(rows_quarantined) filter (where status = 'loaded'), 0) as quarantined,
                count(*) filter (where status = 'rejected') as rejected_files
            from raw_meta.file_manifest
            group by all
            order by 1
            """,
            [since],
        ).fetchall()
    table = Table(title="Extracts in the warehouse", title_justify="left")
    for column in (
        "extract",
        "files",
        "new this run",
        "rows loaded",
        "quarantined",
        "rejected files",
    ):
        if column == "extract":
            table.add_column(column, no_wrap=True, min_width=24)
        else:
            table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    return table


def _print_outcome(settings: Settings, outcome: RunOutcome, since: datetime) -> None:
    from orchestration.serving.publish import published_status

    summary = _ingest_summary(settings, since)
    if summary is not None:
        console.print(summary)
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(outcome.stage_seconds().items()))
    console.print(f"Run {outcome.run_id} took {outcome.seconds:.1f}s ({stages}).")
    for failure in outcome.failures:
        err_console.print(f"[red]- {failure}[/]")
    skipped = {step.step_key for step in outcome.steps if step.status == "skipped"}
    if outcome.success and "serving__published_warehouse" in skipped:
        # the dbt asset ran no dbt (orchestration/dbt_changes.py), so there was nothing to publish
        console.print(
            "No input changed since the last build: no dbt model ran, nothing to publish."
        )
    status = published_status(settings)
    console.print(f"Warehouse: {settings.warehouse_path}")
    if status:
        stale = f" [yellow]STALE: {status['stale_reason']}[/]" if status["is_stale"] else ""
        console.print(
            f"Published for BI: {settings.published_path} ({status['published_at']}){stale}"
        )


@app.command()
@friendly_errors
def run(
    generate_if_empty: bool = typer.Option(
        True, help="Generate demo extracts when the landing zone is empty."
    ),
) -> None:
    """Run the whole pipeline headless: ingest, quality checks, dbt build, publish."""
    from orchestration.defs.jobs import PIPELINE_JOB_NAME
    from orchestration.pipeline import run_job
    from orchestration.serving.publish import mark_published_stale

    settings = get_settings()
    settings.ensure_dirs()
    if generate_if_empty:
        _generate_demo_if_empty(settings)
    elif landing_is_empty(settings):
        raise UserError(
            f"no extracts in {settings.landing_dir}",
            hint="drop extracts there (see docs/extracts.md) or run `partnerscore generate`",
        )
    since = datetime.now()
    console.print("[bold]Running the pipeline[/] (ingest, checks, dbt build, publish)")
    outcome = run_job(settings, PIPELINE_JOB_NAME, on_step=_print_step)
    if not outcome.success:
        mark_published_stale(settings, f"run {outcome.run_id} failed; see `partnerscore quality`")
    _print_outcome(settings, outcome, since)
    if not outcome.success:
        raise UserError(
            "the run did not complete; the last good scores stay published, marked stale",
            hint="see the failures above, `partnerscore alerts` and `partnerscore quality`",
        )


@app.command()
@friendly_errors
def ingest() -> None:
    """Load new landing files into the raw tables (with their quality checks)."""
    from orchestration.defs.jobs import INGEST_JOB_NAME
    from orchestration.pipeline import run_job

    settings = get_settings()
    if landing_is_empty(settings):
        raise UserError(
            f"no extracts in {settings.landing_dir}",
            hint="drop extracts there (see docs/extracts.md) or run `partnerscore generate`",
        )
    since = datetime.now()
    outcome = run_job(settings, INGEST_JOB_NAME, on_step=_print_step)
    _print_outcome(settings, outcome, since)
    if not outcome.success:
        raise UserError("some extracts could not be loaded", hint="see the failures above")


@app.command()
@friendly_errors
def dev(
    port: int = typer.Option(3000, help="Port for the Dagster UI."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
) -> None:
    """Start `dagster dev` on this project, with its history kept in the data directory."""
    from orchestration.dbt_project import prepare_manifest
    from orchestration.pipeline import ensure_instance

    settings = get_settings()
    ensure_instance(settings)
    prepare_manifest()
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or "dagster"
    os.chdir(PROJECT_DIR)
    os.execv(
        dagster,
        [dagster, "dev", "-m", "orchestration.definitions", "-h", host, "-p", str(port)],
    )
