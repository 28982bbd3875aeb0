"""Alerts reach a local webhook and SMTP server once per problem and are resolved later."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from quality_builders import TODAY, Spec, build, insert

from expectations.runner import run_all
from orchestration.settings import get_settings
from orchestration.warehouse import connect


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp():
    messages: list[str] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    # aiosmtpd's readiness probe connects to the configured port, so pick a free one first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, messages
    controller.stop()


def test_alert_sent_once_to_webhook_and_smtp_then_resolved(qsettings, monkeypatch, webhook, smtp):
    url, posts = webhook
    port, mails = smtp
    monkeypatch.setenv("PARTNERSCORE_ALERT_WEBHOOK_URL", url)
    monkeypatch.setenv("PARTNERSCORE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PARTNERSCORE_SMTP_PORT", str(port))
    monkeypatch.setenv("PARTNERSCORE_ALERT_EMAIL_TO", "ops@example.com")
    settings = get_settings()
    with connect(settings) as conn:
        build(conn, Spec(defects={"orphan_partner_id", "stale_source"}))

    first = run_all(settings, run_id="r1", today=TODAY)
    assert first.alerts_sent == 2
    assert len(posts) == 1 and len(mails) == 1
    text = posts[0]["text"]
    assert "referential_integrity" in text and "raw_crm/opportunities" in text
    assert "P99999" in text and "opportunities-20261101" in text
    assert "crm/opportunities/2026-11-01/opportunities.csv.gz" in text
    assert "freshness" in text and "raw_crm/leads" in text
    assert str(settings.reports_dir / "quality.html") in json.dumps(posts[0]["blocks"])
    assert posts[0]["blocks"][0]["type"] == "header"
    mail = mails[0]
    assert "Subject: [partnerscore] 2 new data-quality alerts" in mail
    assert "referential_integrity" in mail and "P99999" in mail and "ops@example.com" in mail

    # Same problems on the next run: nothing new is sent.
    second = run_all(settings, run_id="r2", today=TODAY)
    assert second.alerts_sent == 0 and len(posts) == 1 and len(mails) == 1
    with connect(settings) as conn:
        rows = conn.execute(
            "select check_name, status, run_id, channels from quality.alerts order by check_name"
        ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("freshness", "open", "r2"),
        ("referential_integrity", "open", "r1"),
    ]
    assert json.loads(rows[0][3]) == {
        "table": "recorded", "log": "logged", "webhook": "sent", "email": "sent",
    }  # fmt: skip

    # A new leads extract arrives: freshness passes and its alert is marked resolved.
    with connect(settings) as conn:
        insert(conn, "leads", [
            {"lead_id": f"L-NEW-{i}", "partner_id": f"P{i:05d}", "created_date": TODAY,
             "lead_source": "partner_sourced", "is_converted": False}
            for i in range(1, 11)
        ], batch_id="leads-new", extract_date=TODAY)  # fmt: skip
    run_all(settings, run_id="r3", today=TODAY)
    with connect(settings) as conn:
        status = dict(conn.execute("select check_name, status from quality.alerts").fetchall())
    assert status == {"freshness": "resolved", "referential_integrity": "open"}
    assert len(posts) == 1  # resolving sends nothing


def test_alert_log_line_is_structured_json(qsettings, caplog):
    with connect(qsettings) as conn:
        build(conn, Spec(defects={"out_of_range_value"}))
    with caplog.at_level("WARNING", logger="partnerscore.alerts"):
        run = run_all(qsettings, run_id="r1", today=TODAY)
    assert run.alerts_sent == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "partnerscore.alerts"]
    (line,) = [json.loads(x) for x in lines if x.startswith("{")]
    assert line["event"] == "quality_alert" and line["check_name"] == "value_ranges"
    assert line["asset_key"] == "raw_crm/csat_responses" and line["partner_ids"] == ["P00010"]
    assert line["batch_id"] == "csat_responses-20261101" and line["rows_affected"] == 1


def test_channel_outage_does_not_fail_checks(qsettings, monkeypatch):
    monkeypatch.setenv("PARTNERSCORE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/unreachable")
    settings = get_settings()
    with connect(settings) as conn:
        build(conn, Spec(defects={"orphan_partner_id"}))
    run = run_all(settings, run_id="r1", today=TODAY)
    assert run.alerts_sent == 1
    with connect(settings) as conn:
        (channels,) = conn.execute("select channels from quality.alerts").fetchone()
    assert re.match(r"error: ", json.loads(channels)["webhook"])
