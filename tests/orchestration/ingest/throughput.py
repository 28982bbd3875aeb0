"""Measure ingest throughput on a synthetic portal extract (not part of the test suite).

    PARTNERSCORE_DATA_DIR=/tmp/ps-bench .venv/bin/python tests/orchestration/ingest/throughput.py \
        --rows 10000000 --part-rows 2000000 --plain

Prints wall and CPU time (user+sys of this process, all DuckDB threads included) and the load
average, for the ingest into a fresh warehouse and, with --plain, for plain DuckDB `read_json`
of the same files into a fresh database right after. On a shared machine compare CPU seconds,
measured in the same minute: wall time depends on what else runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable

import duckdb

from orchestration.ingest import ingest_entity
from orchestration.settings import get_settings
from orchestration.warehouse import connect

PLAIN_COLUMNS = (
    "{event_id: 'VARCHAR', partner_id: 'VARCHAR', user_id: 'VARCHAR', event_type: 'VARCHAR', "
    "occurred_at: 'TIMESTAMP', properties: 'JSON'}"
)


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


def _measure(label: str, work: Callable[[], int]) -> None:
    before, load = resource.getrusage(resource.RUSAGE_SELF), os.getloadavg()
    started = time.perf_counter()
    rows = work()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        f"{label}: {rows:,} rows in {wall:.1f} s wall = {rows / wall:,.0f} rows/s; "
        f"{cpu:.1f} s CPU; load average {load[0]:.1f} -> {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--part-rows", type=int, default=2_000_000)
    parser.add_argument(
        "--plain", action="store_true", help="also time plain read_json of the same files"
    )
    args = parser.parse_args()
    write_extract(args.rows, args.part_rows)
    settings = get_settings()
    for path in (settings.warehouse_path, settings.warehouse_path.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)  # a fresh warehouse: otherwise the extract is skipped

    def ingest() -> int:
        with connect(settings) as conn:
            report = ingest_entity(conn, settings, "portal/activity_events")
        print(report.summary())
        return report.rows_read

    _measure("ingest", ingest)
    if args.plain:
        files = settings.landing_dir / "portal" / "activity_events" / "2025-03-01" / "*.jsonl.gz"
        plain_db = settings.data_dir / "tmp" / "plain_read_json.duckdb"

        def plain() -> int:
            plain_db.parent.mkdir(parents=True, exist_ok=True)
            plain_db.unlink(missing_ok=True)
            conn = duckdb.connect(str(plain_db))
            try:
                conn.execute(
                    f"create table t as select * from read_json('{files}', "
                    f"format = 'newline_delimited', columns = {PLAIN_COLUMNS})"
                )
                row = conn.execute("select count(*) from t").fetchone()
            finally:
                conn.close()
            plain_db.unlink(missing_ok=True)
            return int(row[0]) if row else 0

        _measure("plain read_json", plain)


if __name__ == "__main__":
    main()
