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
