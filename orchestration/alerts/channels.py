"""Alert channels: structured log line, Slack-compatible webhook, SMTP e-mail."""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import TYPE_CHECKING

from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.alerts.dispatch import Alert

log = logging.getLogger("partnerscore.alerts")
MAX_BLOCKS = 48  # Slack accepts 50 blocks per message
TIMEOUT_S = 10


def log_alert(alert: Alert) -> None:
    """One JSON line per alert, for log collectors."""
    log.warning(json.dumps({"event": "quality_alert", **alert.as_record()}, default=str))


def webhook_payload(alerts: list[Alert], report_path: str | None) -> dict:
    title = f"partnerscore: {len(alerts)} new data-quality alert{'s' * (len(alerts) != 1)}"
    text = "\n".join([title, *(a.message for a in alerts)])
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    shown = alerts[: MAX_BLOCKS - 2]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": a.message[:2900]}} for a in shown
    ]
    more = len(alerts) - len(shown)
    footer = f"Details: {report_path}" if report_path else "Details: `partnerscore quality`"
    if more:
        footer = f"+{more} more alerts. " + footer
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    return {"text": text, "blocks": blocks}


def send_webhook(url: str, alerts: list[Alert], report_path: str | None) -> None:
    body = json.dumps(webhook_payload(alerts, report_path)).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        if response.status >= 300:
            raise RuntimeError(f"webhook answered HTTP {response.status}")


def send_email(settings: Settings, alerts: list[Alert], report_path: str | None) -> None:
    msg = EmailMessage()
    n = len(alerts)
    msg["Subject"] = f"[partnerscore] {n} new data-quality alert{'s' * (n != 1)}"
    msg["From"] = settings.smtp_sender
    msg["To"] = ", ".join(settings.smtp_recipients)
    lines = [a.message for a in alerts]
    lines += ["", f"Details: {report_path}" if report_path else "Details: partnerscore quality"]
    msg.set_content("\n\n".join(lines))
    with smtplib.SMTP(
        settings.smtp_host or "localhost", settings.smtp_port, timeout=TIMEOUT_S
    ) as s:
        s.send_message(msg)
