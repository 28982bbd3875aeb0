"""``partnerscore scores`` and ``partnerscore explain``: read the published partner scores."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import duckdb
import typer
from rich.table import Table

from orchestration.cli.app import UserError, app, console, friendly_errors
from orchestration.settings import get_settings
from orchestration.warehouse import connect

GRAINS = ("month", "quarter")
BANDS = ("excellent", "good", "needs_improvement", "at_risk")
BAND_STYLES = {
    "excellent": "green",
    "good": "cyan",
    "needs_improvement": "yellow",
    "at_risk": "red",
}


@contextmanager
def _scores_db() -> Iterator[duckdb.DuckDBPyConnection]:
    """The published copy when it exists (what BI sees), else the warehouse, read-only."""
    settings = get_settings()
    path = settings.published_path if settings.published_path.exists() else settings.warehouse_path
    if not path.exists():
        raise UserError(
            f"no warehouse at {settings.warehouse_path}", hint="run `partnerscore run` first"
        )
    with connect(settings, read_only=True, path=path) as conn:
        found = conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_partner_scores'"
        ).fetchone()
        if not found or not found[0]:
            raise UserError(f"no scores in {path}", hint="run `partnerscore run` to build them")
        yield conn


def parse_period(period: str, grain: str) -> date:
    """Period start from 'YYYY-MM', 'YYYY-Qn' or 'YYYY-MM-DD' (any day inside the period)."""
    text = period.strip().upper()
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = int(match[1]), int(match[2])
        day = date(year, 3 * quarter - 2, 1)
    elif match := re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text):
        try:
            day = date(int(match[1]), int(match[2]), int(match[3] or 1))
        except ValueError as exc:
            raise UserError(f"invalid period {period!r}: {exc}") from exc
    else:
        raise UserError(f"invalid period {period!r}", hint="use 2025-06, 2025-Q2 or 2025-06-15")
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, day.month, 1)


def _check_grain(grain: str) -> None:
    if grain not in GRAINS:
        raise UserError(f"unknown grain {grain!r}", hint="use --grain month or --grain quarter")


def _resolve_period(
    conn: duckdb.DuckDBPyConnection, grain: str, period: str | None, partner_id: str | None = None
) -> date:
    if period is not None:
        return parse_period(period, grain)
    where, params = "period_grain = ?", [grain]
    if partner_id is not None:
        where, params = where + " and partner_id = ?", [*params, partner_id]
    # the latest period the data covers to its last day: the one in progress is provisional
    row = conn.execute(
        "select coalesce(max(period_start) filter (where is_period_complete), max(period_start)) "
        f"from marts.fct_partner_scores where {where}",
        params,
    ).fetchone()
    if not row or row[0] is None:
        raise UserError(f"no {grain} scores yet", hint="run `partnerscore run` first")
    return row[0]


def _period_title(conn: duckdb.DuckDBPyConnection, grain: str, start: date) -> str:
    """'month starting 2026-11-01', marked provisional while the data does not cover it all."""
    row = conn.execute(
        "select bool_and(is_period_complete) from marts.fct_partner_scores "
        "where period_grain = ? and period_start = ?",
        [grain, start],
    ).fetchone()
    provisional = row is not None and row[0] is False
    return f"{grain} starting {start}" + (
        " (provisional: period in progress)" if provisional else ""
    )


def _fmt(value: object, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _band(band: str | None) -> str:
    return f"[{BAND_STYLES.get(band or '', 'white')}]{band}[/]" if band else "-"


def _change(value: object) -> str:
    if value is None:
        return "-"
    number = float(value)  # type: ignore[arg-type]
    color = "green" if number > 0 else "red" if number < 0 else "white"
    return f"[{color}]{number:+.2f}[/]"


@app.command()
@friendly_errors
def scores(
    period: str | None = typer.Option(
        None, "--period", help="2025-06, 2025-Q2; default: the latest complete period."
    ),
    grain: str = typer.Option("month", "--grain", help="month or quarter."),
    band: str | None = typer.Option(None, "--band", help="Only this band."),
    top: int = typer.Option(20, "--top", min=1, help="Show the N best scores."),
) -> None:
    """Partner scores for a period, best first."""
    _check_grain(grain)
    if band is not None and band not in BANDS:
        raise UserError(f"unknown band {band!r}", hint="one of " + ", ".join(BANDS))
    with _scores_db() as conn:
        start = _resolve_period(conn, grain, period)
        sql = """
            select s.partner_id, s.score, s.band, s.score_change, s.trend_direction, s.rank_in_segment,
                s.peer_segment, s.is_early_warning, s.current_tier, s.recommended_tier
            from marts.fct_partner_scores as s
            where s.period_grain = ? and s.period_start = ? and (? is null or s.band = ?)
            order by s.score desc, s.partner_id
            limit ?
        """
        rows = conn.execute(sql, [grain, start, band, band, top]).fetchall()
        title = _period_title(conn, grain, start)
    if not rows:
        raise UserError(f"no scores for {grain} starting {start}", hint="try another --period")
    table = Table(title=f"Partner scores, {title}")
    columns = (
        "partner",
        "score",
        "band",
        "change",
        "trend",
        "rank",
        "peer segment",
        "warn",
        "tier",
    )
    for name in columns:
        table.add_column(name, justify="right" if name in ("score", "change", "rank") else "left")
    for r in rows:
        table.add_row(
            r[0],
            f"{float(r[1]):.2f}",
            _band(r[2]),
            _change(r[3]),
            _fmt(r[4]),
            str(r[5]),
            r[6],
            "[red]yes[/]" if r[7] else "",
            f"{r[8]} -> {r[9]}" if r[8] != r[9] else r[8],
        )
    console.print(table)


@app.command()
@friendly_errors
def explain(
    partner: str = typer.Argument(..., help="Partner id, e.g. P00001."),
    period: str | None = typer.Option(
        None, "--period", help="2025-06, 2025-Q2; default: the latest complete period."
    ),
    grain: str = typer.Option("month", "--grain", help="month or quarter."),
) -> None:
    """Why a partner has its score: components and the change since the previous period."""
    _check_grain(grain)
    with _scores_db() as conn:
        known = conn.execute(
            "select count(*) from marts.dim_partners where partner_id = ?", [partner]
        ).fetchone()
        if not known or not known[0]:
            raise UserError(f"unknown partner {partner!r}", hint="see `partnerscore scores`")
        start = _resolve_period(conn, grain, period, partner)
        head = conn.execute(
            """select score, band, previous_band, score_change, rank_in_segment, peer_group_size,
                   peer_segment, scorecard_version, is_rescored, is_early_warning, next_steps,
                   current_tier, recommended_tier, tier_recommendation, below_benchmark_metrics,
                   is_restated, percentile_in_segment, rescoring_id, is_version_change,
                   partner_type, attributes_extract_date
               from marts.fct_partner_scores
               where partner_id = ? and period_grain = ? and period_start = ?""",
            [partner, grain, start],
        ).fetchone()
        if head is None:
            raise UserError(f"{partner} has no {grain} score starting {start}")
        components = conn.execute(
            """select metric_key, raw_value, normalized_value, is_missing, is_excluded,
                   weight, contribution_points
               from marts.fct_partner_score_components
               where partner_id = ? and period_grain = ? and period_start = ?
               order by contribution_points desc, metric_key""",
            [partner, grain, start],
        ).fetchall()
        changes = conn.execute(
            """select metric_key, previous_contribution_points, contribution_points,
                   contribution_change, previous_period_start
               from marts.fct_partner_score_changes
               where partner_id = ? and period_grain = ? and period_start = ?
               order by abs(contribution_change) desc, metric_key""",
            [partner, grain, start],
        ).fetchall()
        title = _period_title(conn, grain, start)
    (
        score,
        band,
        previous_band,
        change,
        rank,
        group,
        segment,
        version,
        rescored,
        warning,
        steps,
        tier,
        recommended,
        tier_move,
        below,
        restated,
        pct,
        rescoring,
        version_change,
        partner_type,
        attributes_extract,
    ) = head
    console.print(
        f"[bold]{partner}[/] {title}: score [bold]{float(score):.2f}[/] "
        f"{_band(band)} (previous band {_band(previous_band)}), change {_change(change)}"
    )
    console.print(
        f"rank {rank} of {group} in peer segment '{segment}' (percentile {float(pct):.0f}) "
        f"as a {partner_type} (CRM extract of {attributes_extract}); "
        f"scorecard {version}{f' (rescored by {rescoring})' if rescored else ''}"
        f"{'; [red]early warning[/]' if warning else ''}{'; inputs restated' if restated else ''}"
    )
    if version_change:
        console.print(
            "previous period scored with another scorecard: the change includes the change of"
            " method (no early warning on it)"
        )
    console.print(f"tier {tier} -> recommended {recommended} ({tier_move})")
    if below:
        console.print(f"below tier benchmark: {below}")
    console.print(f"next steps: {steps}")
    table = Table(title="Components (contributions sum to the score)")
    for name in ("metric", "raw value", "normalized 0-100", "weight", "points"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for metric, raw, norm, missing, excluded, weight, points in components:
        note = " (excluded: missing)" if excluded else " (missing: rule applied)" if missing else ""
        table.add_row(
            metric + note, _fmt(raw), _fmt(norm, 1), _fmt(weight, 1), f"{float(points):.2f}"
        )
    console.print(table)
    if changes:
        table = Table(title=f"Change since {changes[0][4]} (deltas sum to the score change)")
        for name in ("metric", "before", "now", "delta"):
            table.add_column(name, justify="left" if name == "metric" else "right")
        for metric, before, now, delta, _ in changes:
            table.add_row(metric, f"{float(before):.2f}", f"{float(now):.2f}", _change(delta))
        console.print(table)
    else:
        console.print("first scored period: no change to explain")
