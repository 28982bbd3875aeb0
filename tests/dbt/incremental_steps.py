"""What the incremental-model tests share: run dbt as Dagster does, ingest, read the warehouse,
and compare an incremental build with a full refresh of the same warehouse."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import duckdb

from orchestration.extracts import ENTITIES
from orchestration.settings import PROJECT_DIR, Settings
from orchestration.warehouse import connect


def run_dbt(settings: Settings, *args: str, may_fail: bool = False) -> dict:
    """Run dbt as Dagster does, in a subprocess on the test's data dir; returns run_results."""
    from orchestration.dbt_project import dbt_executable

    command = [dbt_executable(), *args, "--project-dir", str(PROJECT_DIR)]
    command += ["--profiles-dir", str(PROJECT_DIR), "--quiet", "--log-format-file", "json"]
    done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, env=os.environ)
    if not may_fail:
        assert done.returncode == 0, f"dbt {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads((settings.dbt_target_dir / "run_results.json").read_text())


def replace_scope_counts(settings: Settings, run_results: dict) -> dict[str, tuple[int, int]]:
    """(rows in scope, rows inserted) per incremental model of that run, from the log line the
    replace_scope strategy writes."""
    invocation = run_results["metadata"]["invocation_id"]
    found: dict[str, tuple[int, int]] = {}
    # dbt rotates dbt.log at 10 MB, also in the middle of a run: read dbt.log.1 too
    logs = sorted(settings.dbt_log_dir.glob("dbt.log.*"), reverse=True)
    lines = [line for log in [*logs, settings.dbt_log_dir / "dbt.log"]
             for line in log.read_text().splitlines()]  # fmt: skip
    for line in lines:
        if line.startswith("{") and invocation in line:
            message = json.loads(line)["info"]["msg"]
            match = re.match(r"replace_scope (\w+): (\d+) rows in scope, (\d+) rows", message)
            if match:
                found[match[1]] = (int(match[2]), int(match[3]))
    return found


def ingest(settings: Settings) -> None:
    from orchestration.ingest import ingest_entity

    with connect(settings) as conn:
        for entity in ENTITIES:
            ingest_entity(conn, settings, entity)


def execute(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(sql, params or []).fetchall()


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def sorted_rows(path: Path, table: str) -> list[tuple]:
    """Every row, sorted; doubles to 9 significant digits (sums of doubles depend on the order
    DuckDB's threads add them in, in a full build as much as in an incremental one)."""
    rows = query(path, f"select * from {table}")
    return sorted(
        (tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in row) for row in rows),
        key=repr,
    )


def build_and_compare(
    settings: Settings, select: Sequence[str], full_refresh: Sequence[str], tables: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Incremental build, then a full refresh of a copy; every table must be equal row for row.
    Carries on from the incremental state (so each step tests incremental after incremental) and
    returns each model's (rows in scope, rows inserted)."""
    scope = replace_scope_counts(settings, run_dbt(settings, "run", *select))
    # same file name: DuckDB names the catalog after it, and views refer to "warehouse"
    incremental = settings.data_dir / "incremental" / settings.warehouse_path.name
    incremental.parent.mkdir(exist_ok=True)
    shutil.copyfile(settings.warehouse_path, incremental)
    run_dbt(settings, "run", *full_refresh)
    for table in tables:
        full, incr = sorted_rows(settings.warehouse_path, table), sorted_rows(incremental, table)
        assert len(full) > 0, table
        assert incr == full, f"{table}: incremental differs from full refresh"
    shutil.copyfile(incremental, settings.warehouse_path)
    return scope


def write_events(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")


def read_events(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as lines:
            rows.extend(json.loads(line) for line in lines if line.strip())
    return rows
