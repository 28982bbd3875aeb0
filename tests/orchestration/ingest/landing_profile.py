"""Measure ingest of a whole landing zone against plain DuckDB (not part of the test suite).

    PARTNERSCORE_DATA_DIR=/tmp/ps-m PARTNERSCORE_DUCKDB_MEMORY_LIMIT=8GB \
        .venv/bin/python tests/orchestration/ingest/landing_profile.py --plain [--statements]

$PARTNERSCORE_DATA_DIR/landing may be a symlink to a read-only landing zone (for example
data/bench/M/seed-42/landing). The script deletes $PARTNERSCORE_DATA_DIR/warehouse.duckdb,
ingests every entity (wall and CPU per entity), re-ingests (everything unchanged) and, with
--plain, loads the same files with plain DuckDB into <data dir>/plain.duckdb: the `load_*`
steps of orchestration/bench/baseline.sql (all eight entities). --statements times every statement on the main connection (the
concurrent extracts' cursors are not proxied). CPU is user+sys of this process.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import time
from pathlib import Path

import duckdb

from orchestration.bench.baseline import baseline_steps
from orchestration.extracts import ENTITIES
from orchestration.ingest import ingest_entity
from orchestration.settings import get_settings
from orchestration.warehouse import connect


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


STATS: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])


class Timed:
    """Connection proxy that sums wall and CPU per statement shape (literals blanked)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        wall, used = time.perf_counter(), cpu()
        try:
            return self._conn.execute(sql, *args)
        finally:
            key = re.sub(r"'[^']*'", "?", re.sub(r"\s+", " ", sql.strip()))[:90]
            stat = STATS[key]
            stat[0] += 1
            stat[1] += time.perf_counter() - wall
            stat[2] += cpu() - used

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def ingest(statements: bool) -> None:
    settings = get_settings()
    settings.warehouse_path.unlink(missing_ok=True)
    print(f"load average {os.getloadavg()}")
    wall, used, rows = time.perf_counter(), cpu(), 0
    with connect(settings) as conn:
        target = Timed(conn) if statements else conn
        for entity in ENTITIES:
            t, u = time.perf_counter(), cpu()
            report = ingest_entity(target, settings, entity)  # type: ignore[arg-type]
            rows += report.rows_read
            print(
                f"{entity.source}/{entity.name}: {time.perf_counter() - t:.1f} s wall, "
                f"{cpu() - u:.1f} s CPU, {report.rows_read:,} rows, "
                f"{report.rows_quarantined:,} quarantined, {report.files_loaded} files",
                flush=True,
            )
    wall = time.perf_counter() - wall
    print(
        f"INGEST {wall:.1f} s wall, {cpu() - used:.1f} s CPU, {rows:,} rows, "
        f"{rows / wall:,.0f} rows/s, load average {os.getloadavg()}"
    )
    for key, (n, w, c) in sorted(STATS.items(), key=lambda kv: -kv[1][1])[:25]:
        print(f"  {w:7.1f} s {c:7.1f} s CPU  n={int(n):4d}  {key}")
    t = time.perf_counter()
    with connect(settings) as conn:
        skipped = sum(ingest_entity(conn, settings, e).files_skipped for e in ENTITIES)
    print(f"RE-INGEST {time.perf_counter() - t:.2f} s wall, {skipped} files unchanged")


def plain() -> None:
    settings = get_settings()
    landing = settings.landing_dir.resolve()
    # the extracts' loads (load_seeds reads the FX rates, not the landing zone)
    steps = [
        (n, body)
        for n, body in baseline_steps(landing)
        if n.startswith("load_") and n != "load_seeds"
    ]
    db = Path(settings.data_dir) / "plain.duckdb"
    db.unlink(missing_ok=True)
    conn = duckdb.connect(str(db))
    if settings.duckdb_memory_limit:
        conn.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
    wall, used, rows = time.perf_counter(), cpu(), 0
    for name, body in steps:
        t, u = time.perf_counter(), cpu()
        conn.execute(body)
        table = name.strip().removeprefix("load_")
        count = conn.execute(f"select count(*) from {table}").fetchone()
        rows += count[0] if count else 0
        print(f"plain {table}: {time.perf_counter() - t:.1f} s wall, {cpu() - u:.1f} s CPU")
    wall = time.perf_counter() - wall
    print(
        f"PLAIN {wall:.1f} s wall, {cpu() - used:.1f} s CPU, {rows:,} rows, "
        f"{rows / wall:,.0f} rows/s, load average {os.getloadavg()}"
    )
    conn.close()
    db.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="then load with plain DuckDB")
    parser.add_argument("--statements", action="store_true", help="time every statement")
    args = parser.parse_args()
    ingest(args.statements)
    if args.plain:
        plain()


if __name__ == "__main__":
    main()
