"""One way to open the DuckDB warehouse, with the configured limits applied.

DuckDB allows a single writing process per file, so every Dagster asset and
check that opens it runs in the ``duckdb_warehouse`` pool (limit 1, see
``dagster.yaml``) and closes its connection before dbt's process starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.settings import Settings, get_settings

WAREHOUSE_POOL = "duckdb_warehouse"


def database_config(settings: Settings) -> dict[str, str | int]:
    """Limits given when the database opens, not SET afterwards: DuckDB refuses to set
    temp_directory again (even to the same path) once a query has spilled to it, and a second
    connect() to an open file in this process shares its database."""
    settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int] = {"temp_directory": settings.duckdb_temp_dir.as_posix()}
    if settings.duckdb_memory_limit:
        config["memory_limit"] = settings.duckdb_memory_limit
    if settings.duckdb_threads:
        config["threads"] = int(settings.duckdb_threads)
    return config


@contextmanager
def connect(
    settings: Settings | None = None, *, read_only: bool = False, path: Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    settings = settings or get_settings()
    target = path or settings.warehouse_path
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(target), read_only=read_only, config=database_config(settings))
    try:
        yield conn
    finally:
        conn.close()


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` (a table or a view) exists in the open database."""
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )
