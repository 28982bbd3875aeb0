from __future__ import annotations

import duckdb
import pytest

from orchestration.serving.publish import mark_published_stale, publish, published_status
from orchestration.warehouse import connect


def _build_marts(settings, scores: list[tuple[str, float]]) -> None:
    with connect(settings) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("create schema if not exists staging")
        conn.execute(
            "create or replace table marts.fct_partner_scores (partner_id varchar, score double)"
        )
        conn.executemany("insert into marts.fct_partner_scores values (?, ?)", scores)
        conn.execute("create or replace table staging.not_published as select 1 as x")


def test_publish_copies_marts_only_with_a_fresh_status(data_dir):
    _build_marts(data_dir, [("P1", 80.0), ("P2", 40.5)])

    report = publish(data_dir, run_id="run-1")

    assert report.tables == {"marts.fct_partner_scores": 2}
    conn = duckdb.connect(str(data_dir.published_path), read_only=True)
    try:
        assert (
            conn.execute("select sum(score) from marts.fct_partner_scores").fetchone()[0] == 120.5
        )
        schemas = {
            r[0]
            for r in conn.execute("select schema_name from information_schema.schemata").fetchall()
        }
        assert "staging" not in schemas
    finally:
        conn.close()
    status = published_status(data_dir)
    assert status["run_id"] == "run-1" and status["is_stale"] is False


def test_reader_keeps_its_snapshot_while_a_refresh_replaces_the_file(data_dir):
    _build_marts(data_dir, [("P1", 10.0)])
    publish(data_dir)
    reader = duckdb.connect(str(data_dir.published_path), read_only=True)
    try:
        _build_marts(data_dir, [("P1", 99.0), ("P2", 1.0)])
        publish(data_dir)  # must not be blocked by the open reader
        assert reader.execute("select count(*) from marts.fct_partner_scores").fetchone()[0] == 1
    finally:
        reader.close()
    fresh = duckdb.connect(str(data_dir.published_path), read_only=True)
    try:
        assert fresh.execute("select count(*) from marts.fct_partner_scores").fetchone()[0] == 2
    finally:
        fresh.close()
    leftovers = [
        p.name for p in data_dir.published_path.parent.iterdir() if p.name.endswith(".tmp")
    ]
    assert leftovers == []


def test_mark_stale_keeps_scores_and_records_the_reason(data_dir):
    assert mark_published_stale(data_dir, "nothing yet") is False
    _build_marts(data_dir, [("P1", 70.0)])
    publish(data_dir)

    assert mark_published_stale(data_dir, "batch blocked by referential_integrity") is True

    status = published_status(data_dir)
    assert status["is_stale"] is True
    assert status["stale_reason"] == "batch blocked by referential_integrity"
    conn = duckdb.connect(str(data_dir.published_path), read_only=True)
    try:
        assert conn.execute("select score from marts.fct_partner_scores").fetchone()[0] == 70.0
    finally:
        conn.close()


@pytest.mark.parametrize("limit", ["512MB"])
def test_connect_applies_memory_limit(data_dir, monkeypatch, limit):
    monkeypatch.setenv("PARTNERSCORE_DUCKDB_MEMORY_LIMIT", limit)
    from orchestration.settings import get_settings

    with connect(get_settings()) as conn:
        value = conn.execute("select current_setting('memory_limit')").fetchone()[0]
    assert value.replace(" ", "").upper().startswith("488")  # DuckDB reports 512MB as 488.2 MiB


def test_publish_flags_scores_stale_while_a_batch_is_blocked(data_dir):
    _build_marts(data_dir, [("P1", 70.0)])
    with connect(data_dir) as conn:
        conn.execute("create schema raw_meta")
        conn.execute(
            "create table raw_meta.blocked_batches (batch_id varchar, source varchar, "
            "entity varchar, extract_date date, check_name varchar, reason varchar, "
            "blocked_at timestamp, released_at timestamp)"
        )
        conn.execute(
            "insert into raw_meta.blocked_batches values ('b1', 'crm', 'opportunities', "
            "'2026-10-01', 'referential_integrity', 'unknown partners', now(), null)"
        )
    publish(data_dir)
    status = published_status(data_dir)
    assert status["is_stale"] is True
    assert status["stale_reason"] == "scores exclude blocked extracts: crm/opportunities 2026-10-01"

    with connect(data_dir) as conn:
        conn.execute("update raw_meta.blocked_batches set released_at = now()")
    publish(data_dir)
    assert published_status(data_dir)["is_stale"] is False


# -- incremental publish ------------------------------------------------------------------------
def _build_periods(settings, scores: dict[tuple[str, str], list[tuple[str, float]]]) -> None:
    """marts.fct_partner_scores with (grain, period_start) partitions, plus a small dimension."""
    with connect(settings) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            "create or replace table marts.fct_partner_scores "
            "(partner_id varchar, period_grain varchar, period_start date, score double)"
        )
        for (grain, start), rows in scores.items():
            conn.executemany(
                "insert into marts.fct_partner_scores values (?, ?, ?, ?)",
                [(p, grain, start, s) for p, s in rows],
            )
        conn.execute(
            "create or replace table marts.dim_partners as "
            "select distinct partner_id from marts.fct_partner_scores"
        )


def _published(settings, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _warehouse(settings, sql: str) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(sql).fetchall()


HISTORY = {("month", f"2026-{m:02d}-01"): [("P1", 10.0 * m), ("P2", 5.0 * m)] for m in range(1, 7)}
ALL_SCORES = "select * from marts.fct_partner_scores order by all"


def test_a_refresh_rewrites_only_the_periods_that_changed(data_dir):
    _build_periods(data_dir, HISTORY)
    first = publish(data_dir)
    assert first.mode == "full" and first.rows_written == 12 + 2

    changed = dict(HISTORY)
    changed[("month", "2026-06-01")] = [("P1", 61.0), ("P2", 30.0), ("P3", 1.0)]  # restated
    del changed[("month", "2026-01-01")]  # a period that is gone
    changed[("quarter", "2026-04-01")] = [("P1", 50.0)]  # a new one
    _build_periods(data_dir, changed)
    second = publish(data_dir, run_id="daily")

    # June (3 rows) and the new quarter (1) are written, the dimension (3 partners) too;
    # February to May are left as they were.
    assert second.mode == "incremental"
    assert second.rows_written == 3 + 1 + 3
    assert second.tables == {"marts.fct_partner_scores": 12, "marts.dim_partners": 3}
    assert _published(data_dir, ALL_SCORES) == _warehouse(data_dir, ALL_SCORES)
    assert published_status(data_dir)["run_id"] == "daily"
    # Each phase is timed, so a slow daily publish says where its seconds went.
    assert list(second.seconds) == ["fingerprint", "copy", "write", "swap"]
    assert all(0 <= s < 60 for s in second.seconds.values())

    third = publish(data_dir)
    assert third.mode == "incremental" and third.rows_written == 0
    assert _published(data_dir, ALL_SCORES) == _warehouse(data_dir, ALL_SCORES)


def test_a_duplicated_row_is_a_change(data_dir):
    _build_periods(data_dir, HISTORY)
    publish(data_dir)
    with connect(data_dir) as conn:
        conn.execute(
            "insert into marts.fct_partner_scores select * from marts.fct_partner_scores "
            "where period_start = date '2026-03-01' and partner_id = 'P1'"
        )
    report = publish(data_dir)
    assert report.rows_written == 3  # March again; the partner dimension did not change
    assert _published(data_dir, ALL_SCORES) == _warehouse(data_dir, ALL_SCORES)


def test_a_reshaped_or_dropped_table_is_rewritten_whole(data_dir):
    _build_periods(data_dir, HISTORY)
    publish(data_dir)
    with connect(data_dir) as conn:
        conn.execute("alter table marts.fct_partner_scores add column band varchar default 'A'")
        conn.execute("drop table marts.dim_partners")
    report = publish(data_dir)
    assert report.mode == "incremental" and report.rows_written == 12
    assert _published(data_dir, "select distinct band from marts.fct_partner_scores") == [("A",)]
    tables = _published(
        data_dir, "select table_name from information_schema.tables where table_schema = 'marts'"
    )
    assert tables == [("fct_partner_scores",)]


def test_rewrites_add_up_to_a_full_publish_that_compacts_the_file(data_dir):
    _build_periods(data_dir, HISTORY)
    publish(data_dir)  # 14 rows written in full
    modes = []
    for i in range(1, 5):
        changed = {k: [(p, s + i) for p, s in rows] for k, rows in HISTORY.items()}
        changed.update({k: HISTORY[k] for k in list(HISTORY)[:3]})  # 3 of 6 months change
        _build_periods(data_dir, changed)
        modes.append(publish(data_dir).mode)
        assert _published(data_dir, ALL_SCORES) == _warehouse(data_dir, ALL_SCORES)
    # 6 rows a run: 6 and 12 <= 14 rewritten; 18 would exceed it, so the third is full.
    assert modes == ["incremental", "incremental", "full", "incremental"]


def test_full_publish_on_request_and_without_a_usable_earlier_copy(data_dir):
    _build_periods(data_dir, HISTORY)
    data_dir.published_path.write_bytes(b"not a duckdb file")
    assert publish(data_dir).mode == "full"
    assert publish(data_dir, full=True).mode == "full"
    assert _published(data_dir, ALL_SCORES) == _warehouse(data_dir, ALL_SCORES)
