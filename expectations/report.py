"""The offline quality report: one self-contained HTML file (inline CSS, no external assets).

GX Data Docs load their CSS and JavaScript from a CDN, which partner ops may not reach;
this page only needs a browser and the file.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import duckdb

from expectations.results import ensure_quality_schema, utcnow
from orchestration.settings import Settings
from orchestration.warehouse import table_exists

REPORT_NAME = "quality.html"
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d2330}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid #e1e4ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8}tr.fail td{background:#fff1f0}tr.warn td{background:#fffbe6}
.pill{display:inline-block;padding:0 8px;border-radius:9px;font-weight:600}
.ok{background:#e6f6ea;color:#146c2e}.bad{background:#fde2e1;color:#a4161a}
.w{background:#fff3c4;color:#7a5a00}code,small{color:#555}
details pre{white-space:pre-wrap;font-size:12px;background:#f7f7f9;padding:6px}
"""


def report_path(settings: Settings) -> Path:
    return settings.reports_dir / REPORT_NAME


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(rows) or f"<tr><td colspan='{len(headers)}'>none</td></tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(conn: duckdb.DuckDBPyConnection) -> str:
    latest = conn.execute(
        """
        select check_name, asset_key, batch_id, extract_date, severity, passed,
               observed_value, threshold, rows_affected, partner_ids, details, checked_at,
               source_files
        from quality.check_results
        qualify row_number() over (
            partition by check_name, asset_key, coalesce(batch_id, '') order by checked_at desc
        ) = 1
        order by passed, asset_key, check_name, extract_date desc nulls last
        limit 2000
        """
    ).fetchall()
    n_fail = sum(1 for r in latest if not r[5])
    rows = []
    for r in latest:
        (check, asset, batch, extract, sev, passed, observed, threshold, affected, partners,
         details, checked_at, files) = r  # fmt: skip
        cls = "" if passed else ("fail" if sev == "ERROR" else "warn")
        pill = (
            "<span class='pill ok'>pass</span>"
            if passed
            else f"<span class='pill {'bad' if sev == 'ERROR' else 'w'}'>{_e(sev)}</span>"
        )
        pretty = json.dumps(json.loads(details or "{}"), indent=1)[:4000]
        plist = ", ".join(json.loads(partners or "[]")[:30])
        rows.append(
            f"<tr class='{cls}'><td>{pill}</td><td>{_e(check)}</td><td>{_e(asset)}</td>"
            f"<td>{_e(extract)}<br><small>{_e(batch)}</small><br><small>"
            f"{_e(', '.join(json.loads(files or '[]'))[:300])}</small></td>"
            f"<td>{_e('' if observed is None else f'{observed:.4g}')}</td><td>{_e(threshold)}</td>"
            f"<td>{_e(affected)}</td><td>{_e(plist)}</td>"
            f"<td><details><summary>{_e(checked_at)}</summary><pre>{_e(pretty)}</pre>"
            "</details></td></tr>"
        )
    alerts = conn.execute(
        "select status, severity, check_name, asset_key, message, first_seen_at, resolved_at "
        "from quality.alerts order by status, first_seen_at desc limit 500"
    ).fetchall()
    alert_rows = [
        f"<tr class='{'warn' if a[0] == 'open' else ''}'>"
        + "".join(f"<td>{_e(v)}</td>" for v in a)
        + "</tr>"
        for a in alerts
    ]
    blocked = conn.execute(
        "select batch_id, source, entity, extract_date, check_name, blocked_at, released_at "
        "from raw_meta.blocked_batches order by blocked_at desc limit 500"
    ).fetchall()
    blocked_rows = ["<tr>" + "".join(f"<td>{_e(v)}</td>" for v in b) + "</tr>" for b in blocked]
    gaps_html = ""
    if table_exists(conn, "quality", "partner_data_gaps"):
        gaps = conn.execute(
            "select partner_id, gap_kind, source, entity, period, detail "
            "from quality.partner_data_gaps order by partner_id, period limit 1000"
        ).fetchall()
        gap_rows = ["<tr>" + "".join(f"<td>{_e(v)}</td>" for v in g) + "</tr>" for g in gaps]
        gaps_html = "<h2>Data gaps per partner</h2>" + _table(
            ["partner", "gap", "source", "entity", "period", "detail"], gap_rows
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>partnerscore data quality</title>"
        f"<style>{CSS}</style></head><body>"
        "<h1>partnerscore data quality</h1>"
        f"<p>Generated {_e(utcnow().isoformat(timespec='seconds'))} UTC. "
        f"{len(latest)} latest check results, <b>{n_fail}</b> failing. "
        "ERROR failures block their batch; WARN failures alert only. "
        "Runbook: <code>docs/quality.md</code>.</p>"
        "<h2>Check results (latest per check, asset and batch)</h2>"
        + _table(
            [
                "verdict",
                "check",
                "asset",
                "extract / batch / files",
                "observed",
                "threshold",
                "rows",
                "partners",
                "checked at / details",
            ],
            rows,
        )
        + "<h2>Alerts</h2>"
        + _table(
            ["status", "severity", "check", "asset", "message", "first seen", "resolved"],
            alert_rows,
        )
        + "<h2>Blocked batches</h2>"
        + _table(
            ["batch", "source", "entity", "extract", "check", "blocked", "released"], blocked_rows
        )
        + gaps_html
        + "</body></html>"
    )


def write_report(conn: duckdb.DuckDBPyConnection, settings: Settings) -> Path:
    """Render to ``reports_dir/quality.html`` atomically; returns its path."""
    ensure_quality_schema(conn)
    path = report_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(conn), encoding="utf-8")
    os.replace(tmp, path)
    return path
