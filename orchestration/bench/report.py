"""The benchmark as a rich table and a verdict against the targets."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from orchestration.bench.runner import (
    DELTA_TARGET,
    STAGE_LABELS,
    TARGET_FACTOR,
    TARGET_SLACK_SECONDS,
    BenchResult,
    StageResult,
    machine_info,
)


def human_bytes(value: int | None) -> str:
    if not value:
        return "-"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit in ("B", "KB") else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"  # pragma: no cover - loop always returns


def _rate(stage: StageResult) -> str:
    rate = stage.rows_per_second
    return "-" if rate is None else f"{rate:,.0f}"


def _rows(stage: StageResult) -> str:
    return "-" if stage.rows is None else f"{stage.rows:,}"


def _row(table: Table, label: str, stage: StageResult, total: float | None) -> None:
    share = f"{100 * stage.seconds / total:.0f} %" if total else ""
    table.add_row(
        label,
        f"{stage.seconds:,.1f}",
        share,
        _rows(stage),
        _rate(stage),
        human_bytes(stage.peak_rss_bytes),
        stage.note or "",
    )


def render(result: BenchResult) -> Group:
    scale = result.scale
    full = result.full
    limit = result.memory_limit or "DuckDB default"
    table = Table(
        title=(
            f"partnerscore bench, scale {scale.name}: {scale.partners:,} partners, "
            f"{scale.months} months, ~{scale.events:,} events (memory limit {limit}, "
            f"median of {len(result.baseline_runs)} run(s))"
        ),
        title_justify="left",
    )
    for column, justify in (
        ("stage", "left"),
        ("wall s", "right"),
        ("of pipeline", "right"),
        ("rows", "right"),
        ("rows/s", "right"),
        ("peak RSS", "right"),
        ("", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    _row(table, STAGE_LABELS["generate"], result.generate, None)
    if result.dbt_parse is not None:
        _row(table, STAGE_LABELS.get("dbt_parse", "dbt parse"), result.dbt_parse, None)
    if full is not None:
        for name, stage in full.stages.items():
            _row(table, STAGE_LABELS.get(name, name), stage, full.seconds)
    table.add_section()
    if full is not None:
        table.add_row(
            Text("pipeline total", style="bold"),
            f"{full.seconds:,.1f}",
            "100 %",
            "",
            "",
            human_bytes(full.peak_rss_bytes),
            f"run {full.run_id[:8]}",
        )
    baseline_rows = result.baseline_rows
    table.add_row(
        Text("baseline (DuckDB SQL)", style="bold"),
        f"{result.baseline_seconds:,.1f}",
        "",
        f"{baseline_rows:,}",
        f"{baseline_rows / result.baseline_seconds:,.0f}" if result.baseline_seconds else "-",
        human_bytes(result.baseline_peak_rss_bytes),
        "the same scores by hand: load, facts, windows, normalize, weight, band",
    )
    if result.delta_run is not None and result.delta is not None:
        delta = result.delta_run
        table.add_row(
            Text("daily delta run", style="bold"),
            f"{delta.seconds:,.1f}",
            f"{100 * (result.delta_ratio or 0):.0f} %",
            f"{result.delta.total_rows:,}",
            "",
            human_bytes(delta.peak_rss_bytes),
            f"extract {result.delta.extract_date}",
        )
    if result.floor_run is not None and result.floor is not None:
        floor = result.floor_run
        unchanged = {True: "no score changed", False: "SCORES CHANGED", None: "no scores"}
        table.add_row(
            Text("daily run floor", style="bold"),
            f"{floor.seconds:,.1f}",
            f"{100 * (result.floor_ratio or 0):.0f} %",
            f"{result.floor.total_rows:,}",
            "",
            human_bytes(floor.peak_rss_bytes),
            f"the day delivered again: {unchanged[result.floor_scores_unchanged]}",
        )

    machine = machine_info()
    load = (
        f", load average {result.load_average[0]:.1f} -> {result.load_average[1]:.1f}"
        if result.load_average
        else ""
    )
    lines: list = [
        table,
        Text(
            f"machine: {machine['cores']} cores, {human_bytes(machine['memory_bytes'])}{load}",
            style="dim",
        ),
    ]
    if result.baseline_source:
        lines.append(Text(f"baseline taken from {result.baseline_source} (same data)", style="dim"))
    if result.ratio is None or result.overhead_seconds is None:
        lines.append(Text("baseline only: the pipeline was not run (--baseline-only)"))
        return Group(*lines)
    verdict = "meets" if result.meets_target else "misses"
    colour = "green" if result.meets_target else "red"
    lines.append(
        Text.from_markup(
            f"pipeline / baseline = [bold]{result.ratio:.2f}x[/]; "
            f"pipeline - {TARGET_FACTOR} x baseline = [bold]{result.overhead_seconds:+.1f} s[/] "
            f"([{colour}]{verdict}[/] the target: at most {TARGET_FACTOR}x the baseline "
            f"plus {TARGET_SLACK_SECONDS:.0f} s, set for scale M)"
        )
    )
    if result.delta_run is not None:
        ok = (result.delta_ratio or 0) <= DELTA_TARGET
        lines.append(
            Text.from_markup(
                f"daily delta / full build = [bold]{100 * (result.delta_ratio or 0):.1f} %[/] "
                f"([{'green' if ok else 'red'}]{'meets' if ok else 'misses'}[/] the target "
                f"of at most {100 * DELTA_TARGET:.0f} %)"
            )
        )
        slowest = max(result.delta_run.stages.values(), key=lambda s: s.seconds, default=None)
        if slowest is not None:
            lines.append(
                Text(
                    f"delta run dominated by {STAGE_LABELS.get(slowest.name, slowest.name)}: "
                    f"{slowest.seconds:.1f} s of {result.delta_run.seconds:.1f} s"
                )
            )
    if result.delta_run is not None and result.floor_run is not None:
        lines.append(
            Text(
                f"a daily run costs {result.floor_run.seconds:.1f} s when its data changes no "
                f"score (the floor); the delta's day added "
                f"{result.delta_run.seconds - result.floor_run.seconds:+.1f} s to that"
            )
        )
    return Group(*lines)
