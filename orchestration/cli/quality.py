"""``partnerscore quality`` and ``partnerscore alerts``: read check results and alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum

import duckdb
import typer
from rich.table import Table

from expectations.report import report_path
from orchestration.cli.app import UserError, app, console, friendly_errors
from orchestration.settings import get_settings
from orchestration.warehouse import connect, table_exists


class Format(StrEnum):
    table = "table"
    json = "json"


@contextmanager
def _warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    settings = get_settings()
    if not settings.warehouse_path.exists():
        raise UserError(
            f"no warehouse at {settings.warehouse_path}", hint="run `partnerscore run` first"
        )
    with connect(settings, read_only=True) as conn:
        yield conn


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


@app.command("alerts")
@friendly_errors
def alerts(
    since: str = typer.Option(
        None, "--since", help="Only alerts first seen on or after YYYY-MM-DD."
    ),
    format: Format = typer.Option(Format.table, "--format", help="table or json."),
    open_only: bool = typer.Option(False, "--open", help="Only alerts not yet resolved."),
) -> None:
    """Data-quality alerts sent to partner ops (newest first)."""
    try:
        since_date = date.fromisoformat(since) if since else date(1970, 1, 1)
    except ValueError as exc:
        raise UserError(f"invalid --since {since!r}", hint="use YYYY-MM-DD") from exc
    with _warehouse() as conn:
        if not table_exists(conn, "quality", "alerts"):
            rows: list[dict] = []
        else:
            cur = conn.execute(
                "select first_seen_at, status, severity, check_name, asset_key, batch_id, "
                "rows_affected, partner_ids, message, resolved_at from quality.alerts "
                "where first_seen_at >= ? and (not ? or status = 'open') "
                "order by first_seen_at desc, check_name",
                [since_date, open_only],
            )
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        r["partner_ids"] = json.loads(r["partner_ids"] or "[]")
    if format == Format.json:
        typer.echo(json.dumps(rows, default=_json_default, indent=2))
        return
    table = Table(title=f"{len(rows)} alerts", show_lines=False)
    for col in ("first seen", "status", "severity", "check", "asset", "batch", "rows", "partners"):
        table.add_column(col)
    for r in rows:
        partners = r["partner_ids"]
        shown = ", ".join(partners[:5]) + (f" +{len(partners) - 5}" if len(partners) > 5 else "")
        style = "red" if r["status"] == "open" and r["severity"] == "ERROR" else None
        table.add_row(
            f"{r['first_seen_at']:%Y-%m-%d %H:%M}", r["status"], r["severity"], r["check_name"],
            r["asset_key"], r["batch_id"] or "", str(r["rows_affected"]), shown, style=style,
        )  # fmt: skip
    console.print(table)


@app.command("quality")
@friendly_errors
def quality(
    failed: bool = typer.Option(False, "--failed", help="Only failing checks."),
    gaps: bool = typer.Option(
        False, "--gaps", help="Also list data gaps and quarantined rows per partner."
    ),
) -> None:
    """Latest data-quality check results, and where the full report is."""
    settings = get_settings()
    with _warehouse() as conn:
        if not table_exists(conn, "quality", "check_results"):
            raise UserError("no check results yet", hint="run `partnerscore run` first")
        rows = conn.execute(
            """
            with latest_run as (
                select check_name, asset_key, arg_max(run_id, checked_at) as run_id
                from quality.check_results group by all
            )
            select check_name, asset_key, batch_id, extract_date, severity, passed,
                   observed_value, threshold, rows_affected, partner_ids, checked_at
            from quality.check_results join latest_run using (check_name, asset_key, run_id)
            qualify row_number() over (
                partition by check_name, asset_key order by passed, extract_date desc nulls last
            ) = 1
            order by passed, asset_key, check_name
            """
        ).fetchall()
        gap_rows = []
        if gaps and table_exists(conn, "quality", "partner_data_gaps"):
            gap_rows = conn.execute(
                "select partner_id, gap_kind, source, entity, period, detail "
                "from quality.partner_data_gaps order by partner_id nulls first, period"
            ).fetchall()
    if failed:
        rows = [r for r in rows if not r[5]]
    table = Table(title="Latest data-quality checks (worst result per check and asset)")
    for col in (
        "verdict",
        "check",
        "asset",
        "extract",
        "observed",
        "threshold",
        "rows",
        "partners",
    ):
        # Check and asset names are what people search for: never cut them.
        keep_whole = col in ("check", "asset")
        table.add_column(col, no_wrap=keep_whole, min_width=22 if keep_whole else None)
    for r in rows:
        check, asset, _batch, extract, severity, passed, observed, threshold, n, partners, _ = r
        verdict = "[green]pass[/]" if passed else (
            "[red]ERROR[/]" if severity == "ERROR" else "[yellow]WARN[/]"
        )  # fmt: skip
        plist = json.loads(partners or "[]")
        shown = ", ".join(plist[:5]) + (f" +{len(plist) - 5}" if len(plist) > 5 else "")
        table.add_row(
            verdict, check, asset, str(extract or ""),
            "" if observed is None else f"{observed:.4g}", threshold or "", str(n), shown,
        )  # fmt: skip
    console.print(table)
    if gaps:
        gt = Table(title=f"{len(gap_rows)} data gaps")
        for col in ("partner", "gap", "source", "entity", "period", "detail"):
            gt.add_column(col)
        for g in gap_rows:
            gt.add_row(*[str(v) if v is not None else "(all partners)" for v in g])
        console.print(gt)
    console.print(f"Report: {report_path(settings)}")
