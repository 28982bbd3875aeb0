"""Measure ingest throughput on a synthetic portal extract (not part of the test suite).

    PARTNERSCORE_DATA_DIR=/tmp/ps-bench .venv/bin/python tests/orchestration/ingest/throughput.py \
        --rows 10000000 --part-rows 2000000
"""

from __future__ import annotations

import argparse
import time

import duckdb

from orchestration.ingest import ingest_entity
from orchestration.settings import get_settings
from orchestration.warehouse import connect


def write_extract(folder_rows: int, part_rows: int) -> None:
    """Portal events as JSONL gz parts, written by DuckDB COPY (ids unique across parts)."""
    settings = get_settings()
    folder = settings.landing_dir / "portal" / "activity_events" / "2025-03-01"
    folder.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect()
    for part, start in enumerate(range(0, folder_rows, part_rows), 1):
        target = folder / f"activity_events-part-{part:04d}.jsonl.gz"
        if target.exists():
            continue
        n = min(part_rows, folder_rows - start)
        conn.execute(
            f"""
            copy (
                select
                    'E' || lpad(i::varchar, 10, '0') as event_id,
                    'P' || lpad((i % 5000)::varchar, 5, '0') as partner_id,
                    'U' || (i % 90000)::varchar as user_id,
                    (['login', 'content_view', 'mdf_claim'])[1 + (i % 3)::int] as event_type,
                    strftime(timestamp '2025-02-01' + to_seconds(i % 2000000),
                             '%Y-%m-%dT%H:%M:%SZ') as occurred_at,
                    {{'content_id': 'C' || (i % 777)::varchar, 'n': i % 10}} as properties,
                from range({start}, {start + n}) as t(i)
                order by i
            ) to '{target}' (format json, compression gzip)
            """
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--part-rows", type=int, default=2_000_000)
    args = parser.parse_args()
    write_extract(args.rows, args.part_rows)
    settings = get_settings()
    with connect(settings) as conn:
        started = time.perf_counter()
        report = ingest_entity(conn, settings, "portal/activity_events")
        elapsed = time.perf_counter() - started
    print(report.summary())
    print(
        f"{report.rows_read:,} rows in {elapsed:.1f} s = {report.rows_read / elapsed:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
