"""Turn failed check results into deduplicated alerts and send the new ones."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from expectations.results import CheckResult, ensure_quality_schema, utcnow
from orchestration.alerts import channels
from orchestration.settings import Settings

log = logging.getLogger("partnerscore.alerts")

# Checks judged on the whole table: a pass resolves any open alert of that check and asset.
TABLE_SCOPED_CHECKS = {"freshness", "landing_layout"}
# Checks whose problem is the set of paths they name: a new path is a new alert.
PATH_SCOPED_CHECKS = {"landing_layout"}
TABLE_SCOPED_PREFIXES = ("marts/",)


def resolve_scope_key(result: CheckResult) -> tuple[str, str, str | None]:
    """What a passing result clears: the same check on the same asset and batch."""
    if result.check_name in TABLE_SCOPED_CHECKS or result.asset_key.startswith(
        TABLE_SCOPED_PREFIXES
    ):
        return result.check_name, result.asset_key, None
    return result.check_name, result.asset_key, result.batch_id


def fingerprint(result: CheckResult) -> str:
    parts = [
        result.check_name,
        result.asset_key,
        result.batch_id or "",
        ",".join(sorted(result.partner_ids)),
    ]
    if result.check_name in PATH_SCOPED_CHECKS:
        parts.append(",".join(sorted(result.source_files)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


@dataclass
class Alert:
    fingerprint: str
    result: CheckResult
    message: str
    report_path: str | None
    channels: dict[str, str] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        r = self.result
        return {
            "fingerprint": self.fingerprint,
            "check_name": r.check_name,
            "asset_key": r.asset_key,
            "severity": r.severity,
            "batch_id": r.batch_id,
            "extract_date": r.extract_date.isoformat() if r.extract_date else None,
            "source_files": r.source_files,
            "rows_affected": r.rows_affected,
            "partner_ids": r.partner_ids,
            "observed_value": r.observed_value,
            "threshold": r.threshold,
            "report_path": self.report_path,
        }


def alert_message(result: CheckResult, report_path: str | None) -> str:
    r = result
    where = f"on {r.asset_key}"
    if r.batch_id:
        extract = r.extract_date.isoformat() if r.extract_date else "?"
        files = ", ".join(r.source_files[:3]) + (" ..." if len(r.source_files) > 3 else "")
        where += f", extract {extract} (batch {r.batch_id}; file {files or 'n/a'})"
    observed = "n/a" if r.observed_value is None else f"{r.observed_value:.4g}"
    text = (
        f"[{r.severity}] {r.check_name} failed {where}: observed {observed}, "
        f"threshold {r.threshold}; {r.rows_affected} rows affected"
    )
    if r.details.get("message"):
        text += f" ({r.details['message']})"
    if r.partner_ids:
        shown = ", ".join(r.partner_ids[:15])
        more = f" and {len(r.partner_ids) - 15} more" if len(r.partner_ids) > 15 else ""
        text += f"; partners {shown}{more}"
    if r.severity == "ERROR" and r.batch_id:
        text += ". The batch is blocked: staging excludes it until it is released"
    text += f". Details: {report_path or 'partnerscore quality'}"
    return text


def dispatch(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    run_id: str,
    results: list[CheckResult],
    *,
    report_path: Path | str | None = None,
) -> int:
    """Record, log and send alerts for new failures; resolve cleared ones. Returns alerts sent."""
    ensure_quality_schema(conn)
    report = str(report_path) if report_path else None
    now = utcnow()
    new: list[Alert] = []
    failing = {fingerprint(r) for r in results if not r.passed}
    known = {
        fp: (status, (check, asset, batch))
        for fp, status, check, asset, batch in conn.execute(
            "select fingerprint, status, check_name, asset_key, batch_id from quality.alerts"
        ).fetchall()
    }
    # Resolve open alerts whose scope was evaluated in this run and no longer fails as is.
    scopes = {resolve_scope_key(r) for r in results}
    for fp, (status, (check, asset, batch)) in known.items():
        if status != "open" or fp in failing:
            continue
        if (check, asset, batch) in scopes or (check, asset, None) in scopes:
            conn.execute(
                "update quality.alerts set status = 'resolved', resolved_at = ? "
                "where fingerprint = ?",
                [now, fp],
            )
            known[fp] = ("resolved", (check, asset, batch))
            log.info(json.dumps({"event": "quality_alert_resolved", "fingerprint": fp}))
    for r in results:
        if r.passed:
            continue
        fp = fingerprint(r)
        if known.get(fp, ("",))[0] == "open":
            conn.execute(
                "update quality.alerts set last_seen_at = ?, run_id = ? where fingerprint = ?",
                [now, run_id, fp],
            )
            continue
        alert = Alert(fp, r, alert_message(r, report), report)
        channels.log_alert(alert)
        alert.channels["table"] = "recorded"
        alert.channels["log"] = "logged"
        new.append(alert)
    if not new:
        return 0
    _send(settings, new, report)
    for a in new:
        r = a.result
        conn.execute("delete from quality.alerts where fingerprint = ?", [a.fingerprint])
        conn.execute(
            "insert into quality.alerts values (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
            [
                a.fingerprint,
                r.check_name,
                r.asset_key,
                r.batch_id,
                r.severity,
                a.message,
                json.dumps(sorted(r.partner_ids)),
                int(r.rows_affected),
                report,
                json.dumps(a.channels),
                run_id,
                now,
                now,
                now,
            ],
        )
    return len(new)


def _send(settings: Settings, alerts: list[Alert], report: str | None) -> None:
    def mark(name: str, status: str) -> None:
        for a in alerts:
            a.channels[name] = status

    if settings.alert_webhook_url:
        try:
            channels.send_webhook(settings.alert_webhook_url, alerts, report)
            mark("webhook", "sent")
        except Exception as exc:  # a channel outage must not fail the checks
            log.error("alert webhook failed: %s", exc)
            mark("webhook", f"error: {exc}")
    if settings.smtp_host and settings.smtp_recipients:
        try:
            channels.send_email(settings, alerts, report)
            mark("email", "sent")
        except Exception as exc:
            log.error("alert e-mail failed: %s", exc)
            mark("email", f"error: {exc}")
