"""The fast paths give the same answer as the careful ones, and a failed load leaves no trace."""

from __future__ import annotations

import datetime as dt
import json
import logging

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_helpers import OPP_HEADER, opp_row

from orchestration.ingest import engine, ingest_entity
from orchestration.ingest.checked import RetryCarefully, lit, timestamp_cast
from orchestration.warehouse import connect

DATE = "2025-03-01"

RAW = (
    "select * exclude (_loaded_at, _batch_id) replace (_extra_columns::varchar as _extra_columns)"
    " from {} order by _source_file, _source_row"
)
QUARANTINE = (
    "select source_file, source_row, column_name, reason, original_text "
    "from raw_meta.quarantined_rows order by source_file, source_row"
)


def _event(event_id: str, **extra: object) -> str:
    event = {
        "event_id": event_id,
        "partner_id": "P00001",
        "user_id": "U1",
        "event_type": "login",
        "occurred_at": "2025-03-02T10:00:00Z",
        "properties": {"page": "home"},
    }
    event.update(extra)
    return json.dumps(event)


def _deliver(landing) -> None:
    """Two portal parts and two CRM parts with every kind of bad row the readers know."""
    part1 = [
        _event("E1"),
        _event("E2", occurred_at="2025-03-02T12:30:00+02:00", browser="firefox"),
        "",
        _event("E4", occurred_at="not a time", device="tablet"),
        "[1, 2]",
        _event("E6", occurred_at="2025-03-02 08:00:00"),
    ]
    part2 = [_event("E7"), _event("E1", user_id="U9"), _event("", user_id="U3")]
    folder = ("portal", "activity_events", DATE)
    landing(*folder, "activity_events-part-0001.jsonl.gz", "\n".join(part1), True)
    landing(*folder, "activity_events-part-0002.jsonl", "\n".join(part2) + "\n")
    rows = [opp_row("O1"), opp_row("O2", amount="x"), opp_row("O3") + ",surplus", opp_row("O1")]
    landing(
        "crm", "opportunities", DATE, "opportunities-part-0001.csv", "\n".join([OPP_HEADER, *rows])
    )
    landing(
        "crm",
        "opportunities",
        DATE,
        "opportunities-part-0002.csv.gz",
        f"{OPP_HEADER}\n{opp_row('O2')}\n",
        True,
    )


def _snapshot(query) -> tuple:
    return (
        query(RAW.format("raw_portal.activity_events")),
        query(RAW.format("raw_crm.opportunities")),
        query(QUARANTINE),
        query(
            "select source_file, status, rows_read, rows_loaded, rows_quarantined, extra_columns "
            "from raw_meta.file_manifest order by source_file"
        ),
    )


def test_careful_load_gives_the_same_rows_as_the_direct_load(
    landing, run_ingest, query, data_dir, monkeypatch
):
    _deliver(landing)
    direct = [run_ingest("portal/activity_events"), run_ingest("crm/opportunities")]
    expected = _snapshot(query)
    assert query(
        "select count(*) from raw_portal.activity_events where _batch_id like '%:quarantine'"
    ) == [(0,)]

    # Same files in a fresh warehouse, but every direct load is turned down.
    data_dir.warehouse_path.unlink()
    load = engine._load
    calls: list[bool] = []

    def careful_only(conn, target, *args):
        calls.append(target.direct)
        if target.direct:
            raise RetryCarefully("forced by the test")
        return load(conn, target, *args)

    monkeypatch.setattr(engine, "_load", careful_only)
    careful = [run_ingest("portal/activity_events"), run_ingest("crm/opportunities")]

    assert calls == [True, False, True, False]
    assert _snapshot(query) == expected
    assert [r.summary() for r in careful] == [r.summary() for r in direct]
    # and the expected rows are the right ones
    assert [(r[0], r[7]) for r in expected[0]] == [("E1", 1), ("E2", 2), ("E6", 6), ("E7", 1)]
    assert [(q[1], q[2], q[3]) for q in expected[2] if q[0].endswith("part-0001.jsonl.gz")] == [
        (3, None, "malformed row: empty line"),
        (4, "occurred_at", "occurred_at: 'not a time' is not an ISO 8601 timestamp"),
        (5, None, "malformed row: not a JSON object"),
    ]
    assert expected[0][1][-1] == '{"browser":"firefox"}'  # _extra_columns of E2
    # the extra key of a quarantined row (E4's device) is reported too
    assert expected[3][2][-1] == ["browser", "device"]


def test_a_broken_json_object_switches_to_the_careful_load(landing, data_dir, query, caplog):
    lines = [_event("E1"), '{"event_id": "E2", "partner_id": ', _event("E3")]
    landing("portal", "activity_events", DATE, "activity_events.jsonl.gz", "\n".join(lines), True)
    with caplog.at_level(logging.INFO, logger="partnerscore.ingest"), connect(data_dir) as conn:
        conn.execute("set threads = 3")
        report = ingest_entity(conn, data_dir, "portal/activity_events")
        # gzip files are read with one thread; the setting is restored after the rollback
        assert conn.execute("select current_setting('threads')").fetchone() == (3,)
    assert any("ingest.careful_load" in r.getMessage() for r in caplog.records)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    assert query("select source_row, reason, original_text from raw_meta.quarantined_rows") == [
        (2, "malformed row: not valid JSON", lines[1])
    ]


def test_a_failed_reload_keeps_the_previous_load(landing, run_ingest, query, monkeypatch):
    landing("crm", "opportunities", DATE, "opportunities.csv", f"{OPP_HEADER}\n{opp_row('O1')}\n")
    run_ingest("crm/opportunities")
    before = _snapshot(query)

    rows = [opp_row("O1", amount="5.00"), opp_row("O2", amount="x")]
    landing("crm", "opportunities", DATE, "opportunities.csv", "\n".join([OPP_HEADER, *rows]))

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(engine, "_write_manifest", broken)
    with pytest.raises(OSError, match="disk full"):
        run_ingest("crm/opportunities")
    assert _snapshot(query) == before
    assert query("select count(*) from raw_crm.opportunities where _batch_id like '%:q%'") == [(0,)]


# Text ending in 'Z' takes the plain cast; it must give the instant timestamptz gives.
_texts = st.one_of(
    st.builds(
        lambda d, sep, frac: d.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + "Z",
        st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        st.sampled_from(["T", " "]),
        st.sampled_from(["", ".5", ".123", ".123456", ".123456789"]),
    ),
    st.text(alphabet="0123456789-:T .+Z", max_size=30).map(lambda s: s + "Z"),
)


# database=None: nothing written into the checkout (the end-to-end test compares git status)
@settings(max_examples=300, deadline=None, database=None)
@given(texts=st.lists(_texts, min_size=1, max_size=20))
def test_z_timestamps_take_a_cast_that_agrees_with_timestamptz(texts: list[str]) -> None:
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'Asia/Kolkata'")  # not UTC: the cast must not depend on it
    values = ", ".join(f"({lit(t)})" for t in texts)
    rows = conn.execute(
        f"select t, {timestamp_cast('t')}, timezone('UTC', try_cast(t as timestamptz)) "
        f"from (values {values}) as v(t)"
    ).fetchall()
    for text, fast, careful in rows:
        assert fast == careful, text
