"""The published copy BI tools read.

BI clients hold read locks that would block the pipeline's writer, so they never
read ``warehouse.duckdb``. Each successful run writes a fresh database next to
the published one and swaps it in with ``os.replace`` (atomic on POSIX): a
reader sees either the old copy or the new one, never a half-written file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from orchestration.settings import Settings
from orchestration.warehouse import connect

PUBLISHED_SCHEMAS = ("marts", "scoring_config")


@dataclass(frozen=True)
class PublishReport:
    path: str
    tables: dict[str, int]
    published_at: datetime


def _tables(conn: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" for _ in schemas)
    return conn.execute(
        f"""
        select table_schema, table_name
        from information_schema.tables
        where table_catalog = current_database() and table_schema in ({placeholders})
        order by 1, 2
        """,
        list(schemas),
    ).fetchall()


def _open_blocks(conn: duckdb.DuckDBPyConnection) -> str | None:
    """Blocked batches still waiting for partner ops: scores built without them are stale."""
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw_meta' and table_name = 'blocked_batches'"
    ).fetchone()[0]
    if not exists:
        return None
    rows = conn.execute(
        """
        select distinct source || '/' || entity || ' ' || extract_date::varchar
        from raw_meta.blocked_batches
        where released_at is null
        order by 1
        """
    ).fetchall()
    return "; ".join(r[0] for r in rows) or None


def _status_table_sql(alias: str) -> str:
    return f"""
        create or replace table {alias}.main.publish_status (
            published_at timestamp not null,
            run_id varchar,
            is_stale boolean not null,
            stale_reason varchar,
            stale_since timestamp
        )
    """


def publish(settings: Settings, run_id: str | None = None) -> PublishReport:
    """Copy the marts and the scoring configuration to the published database, atomically."""
    target = settings.published_path
    target.parent.mkdir(parents=True, exist_ok=True)
    staging_path = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    published_at = datetime.now(UTC).replace(tzinfo=None)
    counts: dict[str, int] = {}
    try:
        with connect(settings) as conn:
            conn.execute(f"attach '{staging_path.as_posix()}' as published")
            for schema, table in _tables(conn, PUBLISHED_SCHEMAS):
                conn.execute(f"create schema if not exists published.{schema}")
                conn.execute(
                    f'create table published.{schema}."{table}" as select * from {schema}."{table}"'
                )
                counts[f"{schema}.{table}"] = conn.execute(
                    f'select count(*) from published.{schema}."{table}"'
                ).fetchone()[0]
            blocked = _open_blocks(conn)
            conn.execute(_status_table_sql("published"))
            conn.execute(
                "insert into published.main.publish_status values (?, ?, ?, ?, ?)",
                [
                    published_at,
                    run_id,
                    bool(blocked),
                    f"scores exclude blocked extracts: {blocked}" if blocked else None,
                    published_at if blocked else None,
                ],
            )
            conn.execute("detach published")
        os.replace(staging_path, target)
    finally:
        staging_path.unlink(missing_ok=True)
    return PublishReport(path=str(target), tables=counts, published_at=published_at)


def mark_published_stale(settings: Settings, reason: str) -> bool:
    """Flag the last good publish as stale (kept for readers) when a run could not refresh it.

    Returns False when nothing has been published yet.
    """
    target = settings.published_path
    if not target.exists():
        return False
    staging_path = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(target, staging_path)
        conn = duckdb.connect(str(staging_path))
        try:
            conn.execute(
                """
                update publish_status
                set is_stale = true,
                    stale_reason = ?,
                    stale_since = coalesce(stale_since, now()::timestamp)
                """,
                [reason],
            )
        finally:
            conn.close()
        os.replace(staging_path, target)
    finally:
        staging_path.unlink(missing_ok=True)
    return True


def published_status(settings: Settings) -> dict | None:
    if not settings.published_path.exists():
        return None
    conn = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        row = conn.execute(
            "select published_at, run_id, is_stale, stale_reason from publish_status"
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    return dict(zip(("published_at", "run_id", "is_stale", "stale_reason"), row, strict=True))
