"""Measure ingest throughput on a synthetic extract (not part of the test suite).

    PARTNERSCORE_DATA_DIR=/tmp/ps-bench .venv/bin/python tests/orchestration/ingest/throughput.py \
        --rows 10000000 --part-rows 2000000 --plain
    ... throughput.py --format csv --rows 2000000 --part-rows 2000000 --plain

jsonl: portal/activity_events as .jsonl.gz parts; csv: crm/opportunities as .csv.gz parts.

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

DATE = "2025-03-01"
# entity, file suffix, plain DuckDB reader of the same files (contract types spelled out)
FORMATS = {
    "jsonl": (
        "portal/activity_events",
        "jsonl.gz",
        "read_json('{files}', format = 'newline_delimited', columns = {{event_id: 'VARCHAR', "
        "partner_id: 'VARCHAR', user_id: 'VARCHAR', event_type: 'VARCHAR', "
        "occurred_at: 'TIMESTAMP', properties: 'JSON'}})",
    ),
    "csv": (
        "crm/opportunities",
        "csv.gz",
        "read_csv('{files}', header = true, columns = {{opportunity_id: 'VARCHAR', "
        "partner_id: 'VARCHAR', customer_id: 'VARCHAR', amount: 'DECIMAL(18, 2)', "
        "currency: 'VARCHAR', stage: 'VARCHAR', created_date: 'DATE', closed_date: 'DATE', "
        "is_won: 'BOOLEAN', product_line: 'VARCHAR', deal_registration_id: 'VARCHAR'}})",
    ),
}

_ROWS = {
    "jsonl": """
                    'E' || lpad(i::varchar, 10, '0') as event_id,
                    'P' || lpad((i % 5000)::varchar, 5, '0') as partner_id,
                    'U' || (i % 90000)::varchar as user_id,
                    (['login', 'content_view', 'mdf_claim'])[1 + (i % 3)::int] as event_type,
                    strftime(timestamp '2025-02-01' + to_seconds(i % 2000000),
                             '%Y-%m-%dT%H:%M:%SZ') as occurred_at,
                    {'content_id': 'C' || (i % 777)::varchar, 'n': i % 10} as properties,
    """,
    "csv": """
                    'O' || lpad(i::varchar, 10, '0') as opportunity_id,
                    'P' || lpad((i % 5000)::varchar, 5, '0') as partner_id,
                    'C' || (i % 70000)::varchar as customer_id,
                    ((i % 100000) / 7.0)::decimal(18, 2) as amount,
                    'USD' as currency,
                    (['prospecting', 'closed_won', 'closed_lost'])[1 + (i % 3)::int] as stage,
                    date '2024-01-01' + (i % 400)::int as created_date,
                    case when i % 3 > 0 then date '2024-06-01' + (i % 200)::int end
                        as closed_date,
                    case i % 3 when 1 then true when 2 then false end as is_won,
                    'core' as product_line,
                    null::varchar as deal_registration_id,
    """,
}


def write_extract(folder_rows: int, part_rows: int, file_format: str = "jsonl") -> None:
    """One extract as gz parts, written by DuckDB COPY (ids unique across parts)."""
    entity, suffix, _ = FORMATS[file_format]
    settings = get_settings()
    folder = settings.landing_dir / entity / DATE
    folder.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect()
    options = "format json" if file_format == "jsonl" else "format csv, header"
    for part, start in enumerate(range(0, folder_rows, part_rows), 1):
        target = folder / f"{entity.split('/')[1]}-part-{part:04d}.{suffix}"
        if target.exists():
            continue
        n = min(part_rows, folder_rows - start)
        conn.execute(
            f"""
            copy (
                select {_ROWS[file_format]}
                from range({start}, {start + n}) as t(i)
                order by i
            ) to '{target}' ({options}, compression gzip)
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
    parser.add_argument("--format", choices=sorted(FORMATS), default="jsonl", dest="file_format")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--part-rows", type=int, default=2_000_000)
    parser.add_argument(
        "--plain", action="store_true", help="also time plain DuckDB reading the same files"
    )
    args = parser.parse_args()
    entity, suffix, reader = FORMATS[args.file_format]
    write_extract(args.rows, args.part_rows, args.file_format)
    settings = get_settings()
    for path in (settings.warehouse_path, settings.warehouse_path.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)  # a fresh warehouse: otherwise the extract is skipped

    def ingest() -> int:
        with connect(settings) as conn:
            report = ingest_entity(conn, settings, entity)
        print(report.summary())
        return report.rows_read

    _measure(f"ingest {entity}", ingest)
    if args.plain:
        files = settings.landing_dir / entity / DATE / f"*.{suffix}"
        plain_db = settings.data_dir / "tmp" / "plain_read.duckdb"

        def plain() -> int:
            plain_db.parent.mkdir(parents=True, exist_ok=True)
            plain_db.unlink(missing_ok=True)
            conn = duckdb.connect(str(plain_db))
            try:
                conn.execute(f"create table t as select * from {reader.format(files=files)}")
                row = conn.execute("select count(*) from t").fetchone()
            finally:
                conn.close()
            plain_db.unlink(missing_ok=True)
            return int(row[0]) if row else 0

        _measure(f"plain {reader.split('(')[0]}", plain)


if __name__ == "__main__":
    main()
