"""Offline report, corrections loading and per-partner data gaps."""

from __future__ import annotations

import re

import pytest
from quality_builders import TODAY, Spec, build

from expectations.remediation import CorrectionError, load_corrections, refresh_partner_data_gaps
from expectations.runner import run_all
from orchestration.warehouse import connect

HEADER = "entity,record_key,column_name,corrected_value,submitted_by,submitted_at,reason\n"


def test_report_is_self_contained(qsettings):
    with connect(qsettings) as conn:
        build(conn, Spec(defects={"orphan_partner_id"}))
    run = run_all(qsettings, run_id="r1", today=TODAY)
    html = (qsettings.reports_dir / "quality.html").read_text(encoding="utf-8")
    assert run.report_path == str(qsettings.reports_dir / "quality.html")
    assert not re.search(r"https?://", html)
    assert not re.search(r"<(script|link)\b", html)
    assert "<style>" in html and "referential_integrity" in html and "P99999" in html
    assert "opportunities-20261101" in html  # the blocked batch is listed


def test_corrections_load_idempotently_and_reject_unknown_names(qsettings):
    folder = qsettings.corrections_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2026-11-20-ops.csv").write_text(
        HEADER
        + "opportunities,OPP-1,amount,1250.00,ana@vendor.example,2026-11-20T09:00:00Z,typo\n"
        + "crm/partners,P00003,tier,gold,ana@vendor.example,2026-11-20T09:05:00,upgrade\n",
        encoding="utf-8",
    )
    with connect(qsettings) as conn:
        first = load_corrections(conn, folder)
        assert first.loaded == {"2026-11-20-ops.csv": 2} and not first.rejected
        second = load_corrections(conn, folder)
        assert second.loaded == {} and second.skipped == ["2026-11-20-ops.csv"]
        rows = conn.execute(
            "select source, entity, record_key, column_name, corrected_value, submitted_by "
            "from raw_meta.corrections order by entity"
        ).fetchall()
        assert rows == [
            ("crm", "opportunities", "OPP-1", "amount", "1250.00", "ana@vendor.example"),
            ("crm", "partners", "P00003", "tier", "gold", "ana@vendor.example"),
        ]
        # The same line in a second file is not loaded twice.
        (folder / "copy.csv").write_text(
            HEADER + "opportunities,OPP-1,amount,1250.00,ana@vendor.example,"
            "2026-11-20T09:00:00Z,typo\n",
            encoding="utf-8",
        )
        third = load_corrections(conn, folder)
        assert third.loaded == {"copy.csv": 0}
        (folder / "bad.csv").write_text(
            HEADER + "invoices,INV-1,amount,1,bo@vendor.example,2026-11-20T10:00:00,x\n",
            encoding="utf-8",
        )
        (folder / "badcol.csv").write_text(
            HEADER + "partners,P00001,favourite_colour,red,bo@vendor.example,2026-11-20,x\n",
            encoding="utf-8",
        )
        fourth = load_corrections(conn, folder)
        assert "unknown entity 'invoices'" in fourth.rejected["bad.csv"]
        assert "bad.csv line 2" in fourth.rejected["bad.csv"]
        assert (
            "column 'favourite_colour' cannot be corrected on partners"
            in (fourth.rejected["badcol.csv"])
        )
        with pytest.raises(CorrectionError, match="unknown entity"):
            load_corrections(conn, folder, strict=True)
        assert conn.execute("select count(*) from raw_meta.corrections").fetchone()[0] == 2
        audit = conn.execute(
            "select file_name, status from quality.correction_files "
            "where status = 'loaded' order by file_name"
        ).fetchall()
        assert audit == [("2026-11-20-ops.csv", "loaded"), ("copy.csv", "loaded")]


def test_partner_data_gaps(qsettings):
    with connect(qsettings) as conn:
        build(conn, Spec(defects={"stale_source"}))
        conn.execute(
            "delete from raw_portal.activity_events where partner_id = 'P00004' "
            "and occurred_at >= timestamp '2026-06-01' and occurred_at < timestamp '2026-07-01'"
        )
        conn.execute("delete from raw_lms.learning_records where partner_id = 'P00005'")
        conn.execute(
            "insert into raw_meta.quarantined_rows (source, entity, source_file, source_row, "
            "extract_date, column_name, reason, original_text) values ('portal', "
            "'activity_events', 'f', 3, date '2026-11-01', null, 'malformed json', "
            '\'{"event_id": "E", "partner_id": "P00007", "occurred_at": \')'
        )
        n = refresh_partner_data_gaps(conn)
        gaps = conn.execute(
            "select partner_id, gap_kind, entity, period from quality.partner_data_gaps "
            "order by all"
        ).fetchall()
    assert n == len(gaps)
    assert ("P00004", "missing_month", "activity_events", "2026-06") in gaps
    assert ("P00005", "missing_source", "learning_records", None) in gaps
    assert ("P00007", "quarantined_rows", "activity_events", "2026-11-01") in gaps
    assert {g for g in gaps if g[1] == "missing_month"} == {
        ("P00004", "missing_month", "activity_events", "2026-06")
    }
