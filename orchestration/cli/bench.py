"""`partnerscore bench`: the pipeline against hand-written DuckDB SQL at a fixed scale."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from orchestration.cli.app import UserError, app, console, friendly_errors
from orchestration.settings import get_settings

_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$", re.IGNORECASE)


@app.command()
@friendly_errors
def bench(
    scale: str = typer.Option(
        "S",
        "--scale",
        help="S: 500 partners, 24 months, ~1 M events; M: 10,000 / 24 / 10 M; L: 50,000 / 36 / 100 M.",
    ),
    repeat: int = typer.Option(
        1, "--repeat", min=1, help="Full builds and baselines to run; the median is reported."
    ),
    json_path: Path | None = typer.Option(
        None,
        "--json",
        help="Write the result here (default $PARTNERSCORE_DATA_DIR/bench/results/<scale>-<timestamp>.json).",
    ),
    memory_limit: str | None = typer.Option(
        None,
        "--memory-limit",
        help="DuckDB memory limit for the pipeline and the baseline, e.g. 8GB (exported as PARTNERSCORE_DUCKDB_MEMORY_LIMIT).",
    ),
    seed: int = typer.Option(42, help="Generator seed; data is reused per scale and seed."),
    reuse: bool = typer.Option(
        True,
        "--reuse/--regenerate",
        help="Reuse landing data generated earlier for this scale and seed.",
    ),
    keep: bool = typer.Option(
        True,
        "--keep/--no-keep",
        help="Keep the bench data directory (landing and warehouse) afterwards.",
    ),
    delta: bool = typer.Option(
        True,
        "--delta/--no-delta",
        help="Also measure a daily delta run, then the same day delivered again (the floor).",
    ),
    baseline_from: Path | None = typer.Option(
        None,
        "--baseline-from",
        help="Take the baseline from an earlier bench JSON on the same generated data "
        "instead of running it again.",
    ),
    baseline_only: bool = typer.Option(
        False, "--baseline-only", help="Measure only data generation and the DuckDB baseline."
    ),
) -> None:
    """Benchmark the pipeline against plain DuckDB SQL: time, rows/s and peak memory per stage."""
    from orchestration.bench.report import render
    from orchestration.bench.runner import BenchError, default_json_path, run_bench, write_json
    from orchestration.bench.scales import get_scale, public_scale_names

    chosen = get_scale(scale)
    if chosen is None:
        raise UserError(
            f"unknown scale {scale!r}", hint=f"choose one of {', '.join(public_scale_names())}"
        )
    if memory_limit is not None and not _MEMORY.match(memory_limit.strip()):
        raise UserError(
            f"not a memory size: {memory_limit!r}",
            hint="write it as DuckDB does, e.g. 8GB or 512MB",
        )
    outer = get_settings()

    def on_step(step_key: str, status: str) -> None:
        if status != "started":
            colour = {"success": "green", "failure": "red", "skipped": "yellow"}.get(
                status, "white"
            )
            console.print(f"    [{colour}]{status:>8}[/] [dim]{step_key}[/]")

    console.print(f"[bold]Benchmarking scale {chosen.name}[/]: {chosen.description}")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} months"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as generate_progress:
        try:
            result = run_bench(
                outer,
                chosen,
                seed=seed,
                repeat=repeat,
                memory_limit=memory_limit.strip() if memory_limit else None,
                reuse=reuse,
                keep=keep,
                delta=delta,
                pipeline=not baseline_only,
                baseline_from=baseline_from,
                notify=lambda message: console.print(f"[bold cyan]>[/] {message}"),
                on_step=on_step,
                generate_progress=generate_progress,
            )
        except BenchError as exc:
            raise UserError(str(exc), hint=exc.hint) from exc
    console.print(render(result))
    path = write_json(result, json_path or default_json_path(outer, result))
    console.print(f"Result: {path}")
