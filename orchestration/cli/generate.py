"""``partnerscore generate``: write a realistic demo landing zone and its ground truth."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestration.cli.app import UserError, app, console, friendly_errors
from orchestration.generate import LandingNotEmptyError, generate_demo
from orchestration.generate.core import parse_month
from orchestration.settings import get_settings


@app.command()
@friendly_errors
def generate(
    partners: int = typer.Option(300, "--partners", min=1, help="Number of partners."),
    months: int = typer.Option(24, "--months", min=1, help="Months of monthly extracts."),
    seed: int = typer.Option(42, "--seed", help="Random seed; same arguments, same bytes."),
    defects: bool = typer.Option(
        False, "--defects", help="Inject ingest and data-quality faults (see ground_truth)."
    ),
    events: int | None = typer.Option(
        None, "--events", min=0, help="Total portal events (default ~40 per partner-month)."
    ),
    end_month: str | None = typer.Option(
        None, "--end-month", help="Last data month YYYY-MM (default: last full month)."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Clear the landing zone and ground truth first."
    ),
) -> None:
    """Generate demo extracts into the landing zone (and the answers into ground_truth/)."""
    settings = get_settings()
    if end_month is not None:
        try:
            parse_month(end_month)
        except ValueError as exc:
            raise UserError(str(exc), hint="use --end-month 2025-06") from exc
    columns = (
        TextColumn("[bold]generating[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            summary = generate_demo(
                settings,
                partners=partners,
                months=months,
                seed=seed,
                defects=defects,
                events=events,
                end_month=end_month,
                progress=progress,
                overwrite=overwrite,
            )
    except LandingNotEmptyError as exc:
        raise UserError(
            f"landing zone {exc} is not empty",
            hint="pass --overwrite to replace it (this also clears ground_truth/)",
        ) from exc
    except ValueError as exc:
        raise UserError(str(exc)) from exc

    table = Table(title=f"{summary.first_month} .. {summary.end_month}, seed {summary.seed}")
    table.add_column("source/entity")
    table.add_column("rows", justify="right")
    for key, rows in summary.rows.items():
        table.add_row(key, f"{rows:,}")
    console.print(table)
    console.print(
        f"{summary.files} files in {summary.landing_dir} ({summary.seconds:.1f}s); "
        f"{summary.defects} injected defects; ground truth in {summary.ground_truth_dir}"
    )
