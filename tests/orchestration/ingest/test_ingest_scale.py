"""What makes ingest at scale cheap keeps every guarantee: concurrent extracts load exactly what
one-at-a-time loading does, and an unchanged file is recognised without being read."""

from __future__ import annotations

import json
import os

import pytest
from ingest_helpers import OPP_HEADER, opp_row

from orchestration.ingest import engine, ingest_entity
from orchestration.warehouse import connect

RAW = (
    "select * exclude (_loaded_at, _batch_id) replace (_extra_columns::varchar as _extra_columns)"
    " from raw_portal.activity_events order by _source_file, _source_row"
)
QUARANTINE = (
    "select source_file, source_row, column_name, reason, original_text "
    "from raw_meta.quarantined_rows order by source_file, source_row"
)
MANIFEST = (
    "select extract_date::varchar, source_file, file_sha256, status, rows_read, rows_loaded, "
    "rows_quarantined, extra_columns, error from raw_meta.file_manifest order by source_file"
)
DATES = ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]


def _event(event_id: str, occurred_at: str = "2025-03-02T10:00:00", **extra: object) -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "partner_id": "P00001",
            "user_id": "U1",
            "event_type": "login",
            "occurred_at": occurred_at,
            "properties": {"page": "home"},
            **extra,
        }
    )


def _deliver_months(landing) -> None:
    """Five monthly extracts, gzip and plain, with a bad value, a duplicate key, an extra key
    and one unreadable file."""
    for month, date in enumerate(DATES, 1):
        lines = [
            _event(f"E{month}01"),
            _event(f"E{month}02", occurred_at=f"2025-0{month}-03T08:00:00+02:00", device="ios"),
            _event(f"E{month}03", occurred_at="yesterday"),
            _event(f"E{month}01"),  # duplicate of row 1
        ]
        name = "activity_events.jsonl" + (".gz" if month % 2 else "")
        landing("portal", "activity_events", date, name, "\n".join(lines), month % 2 == 1)
    landing("portal", "activity_events", DATES[2], "activity_events-part-0002.jsonl", "\xff\xfe")


def _state(query) -> tuple:
    return query(RAW), query(QUARANTINE), query(MANIFEST)


def test_concurrent_extracts_load_what_one_at_a_time_loads(landing, data_dir, query):
    _deliver_months(landing)
    runs = []
    for threads in (1, 2):  # threads = 1: one extract at a time; 2: two at once
        if data_dir.warehouse_path.exists():
            data_dir.warehouse_path.unlink()
        with connect(data_dir) as conn:
            conn.execute(f"set threads = {threads}")
            report = ingest_entity(conn, data_dir, "portal/activity_events")
            assert conn.execute("select current_setting('threads')").fetchone() == (threads,)
        runs.append((report, _state(query)))
    (one, state_one), (two, state_two) = runs
    assert state_two == state_one
    assert [f.source_file for f in two.files] == [f.source_file for f in one.files]
    assert two.summary() == one.summary()
    assert len(set(two.batch_ids)) == 5
    assert (two.rows_read, two.rows_loaded, two.rows_quarantined) == (20, 10, 10)
    assert two.files_rejected == 1
    raw, quarantine, _ = state_two
    # naive text is UTC and offsets are honoured on every concurrent session
    times = {row[0]: row[4].isoformat() for row in raw}
    assert (times["E101"], times["E402"]) == ("2025-03-02T10:00:00", "2025-04-03T06:00:00")
    assert [q[1:4] for q in quarantine if q[0].endswith("2025-02-01/activity_events.jsonl")] == [
        (3, "occurred_at", "occurred_at: 'yesterday' is not an ISO 8601 timestamp"),
        (4, "event_id", "duplicate key event_id 'E201': first seen in row 1"),
    ]


def test_a_failing_extract_among_concurrent_ones_restores_the_threads(
    landing, data_dir, query, monkeypatch
):
    _deliver_months(landing)
    load = engine._load_extract

    def fail_march(conn, entity, folder, *args, **kwargs):
        if str(folder.extract_date) == "2025-03-01":
            raise RuntimeError("disk full")
        return load(conn, entity, folder, *args, **kwargs)

    monkeypatch.setattr(engine, "_load_extract", fail_march)
    with connect(data_dir) as conn:
        conn.execute("set threads = 2")
        with pytest.raises(RuntimeError, match="disk full"):
            ingest_entity(conn, data_dir, "portal/activity_events")
        assert conn.execute("select current_setting('threads')").fetchone() == (2,)
    # March left nothing behind; what committed is whole and recorded
    loaded = query(
        "select _extract_date::varchar, count(*) from raw_portal.activity_events group by 1"
    )
    assert "2025-03-01" not in {d for d, _ in loaded} and all(n == 2 for _, n in loaded)
    assert sorted(d for d, _ in loaded) == sorted(
        r[0] for r in query("select distinct extract_date::varchar from raw_meta.file_manifest")
    )
    monkeypatch.setattr(engine, "_load_extract", load)
    with connect(data_dir) as conn:
        again = ingest_entity(conn, data_dir, "portal/activity_events")
    assert again.files_loaded + again.files_rejected + again.files_skipped == 6
    assert query("select count(*) from raw_portal.activity_events") == [(10,)]


def _csv(*rows: str) -> str:
    return "\n".join([OPP_HEADER, *rows]) + "\n"


def test_unchanged_files_are_recognised_without_reading_them(
    landing, run_ingest, query, monkeypatch
):
    paths = [
        landing("crm", "opportunities", date, "opportunities.csv", _csv(opp_row(f"O{i}")))
        for i, date in enumerate(DATES[:3])
    ]
    first = run_ingest("crm/opportunities")
    assert first.files_loaded == 3

    digested: list[str] = []
    digest = engine.digest

    def recording(file):
        digested.append(file.relative)
        return digest(file)

    monkeypatch.setattr(engine, "digest", recording)
    second = run_ingest("crm/opportunities")
    assert digested == []
    assert (second.files_loaded, second.files_skipped) == (0, 3)

    # Touched (same bytes, new mtime): read and hashed again, still unchanged by content.
    stat = paths[0].stat()
    os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = run_ingest("crm/opportunities")
    assert digested == ["crm/opportunities/2025-01-01/opportunities.csv"]
    assert (third.files_loaded, third.files_skipped) == (0, 3)

    # Same size, other bytes: hashed again and the extract reloaded.
    digested.clear()
    size = paths[1].stat().st_size
    landing("crm", "opportunities", DATES[1], "opportunities.csv", _csv(opp_row("O9")))
    assert paths[1].stat().st_size == size
    fourth = run_ingest("crm/opportunities")
    assert digested == ["crm/opportunities/2025-02-01/opportunities.csv"]
    assert (fourth.files_loaded, fourth.files_skipped) == (1, 2)
    assert query("select opportunity_id from raw_crm.opportunities order by 1") == [
        ("O0",),
        ("O2",),
        ("O9",),
    ]
