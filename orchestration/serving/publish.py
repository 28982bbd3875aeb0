"""The published copy BI tools read.

BI clients hold read locks that would block the pipeline's writer, so they never
read ``warehouse.duckdb``. Each successful run writes a fresh database next to
the published one and swaps it in with ``os.replace`` (atomic on POSIX): a
reader sees either the old copy or the new one, never a half-written file.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration.settings import Settings
from orchestration.warehouse import connect

PUBLISHED_SCHEMAS = ("marts", "scoring_config")


# Tables with these columns are published per period: a daily run rewrites the periods whose
# rows changed, not years of history. Other tables are small and rewritten when they change.
PARTITION_COLUMNS = ("period_grain", "period_start")
# In the published file: what each table's partitions held at the last publish.
STATE_TABLE = "main.publish_partitions"
STORAGE_TABLE = "main.publish_storage"


@dataclass(frozen=True)
class PublishReport:
    path: str
    tables: dict[str, int]
    published_at: datetime
    mode: str = "full"  # "full": every table written; "incremental": changed partitions only
    rows_written: int = 0
    # Wall seconds per phase (fingerprint, copy, write, swap): what a daily publish spends.
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _TableState:
    """A table's shape and, per partition, its row count and content fingerprint."""

    schema: str
    table: str
    signature: str  # column names and types: a change rewrites the whole table
    partitioned: bool
    partitions: dict[tuple, tuple[int, int]]  # (grain, start) or () -> (rows, fingerprint)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def rows(self) -> int:
        return sum(n for n, _ in self.partitions.values())


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


def _table_state(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> _TableState:
    """Fingerprint a warehouse table by partition: one read of it, no write."""
    cols = conn.execute(
        """
        select column_name, data_type from information_schema.columns
        where table_catalog = current_database() and table_schema = ? and table_name = ?
        order by ordinal_position
        """,
        [schema, table],
    ).fetchall()
    names = [c for c, _ in cols]
    partitioned = all(c in names for c in PARTITION_COLUMNS)
    keys = ", ".join(PARTITION_COLUMNS) if partitioned else ""
    hashed = ", ".join(f'"{c}"' for c in names)
    # Sum of row hashes (hugeint: no overflow) with the count: equal contents, equal values;
    # unlike xor, a duplicated row still changes it.
    rows = conn.execute(
        f"""
        select {keys + "," if keys else ""} count(*), coalesce(sum(hash({hashed})::hugeint), 0)
        from {schema}."{table}" {"group by all" if keys else ""}
        """
    ).fetchall()
    partitions = {
        tuple(r[: len(PARTITION_COLUMNS)]) if partitioned else (): (int(r[-2]), int(r[-1]))
        for r in rows
        if r[-2]
    }
    signature = "; ".join(f"{c} {t}" for c, t in cols)
    return _TableState(schema, table, signature, partitioned, partitions)


def _published_state(conn: duckdb.DuckDBPyConnection) -> tuple[dict, int, int] | None:
    """The state recorded in the attached ``published`` copy; None when it has none."""
    try:
        rows = conn.execute(
            "select table_schema, table_name, signature, is_partitioned, period_grain, "
            f"period_start, row_count, fingerprint from published.{STATE_TABLE}"
        ).fetchall()
        storage = conn.execute(
            f"select rows_at_full_publish, rows_rewritten_since from published.{STORAGE_TABLE}"
        ).fetchone()
    except duckdb.Error:
        return None
    if storage is None:
        return None
    states: dict[str, _TableState] = {}
    for schema, table, signature, partitioned, grain, start, n, fp in rows:
        state = states.setdefault(
            f"{schema}.{table}", _TableState(schema, table, signature, partitioned, {})
        )
        if n:
            state.partitions[(grain, start) if partitioned else ()] = (int(n), int(fp))
    return states, int(storage[0]), int(storage[1])


def _changed_partitions(current: _TableState, before: _TableState | None) -> list[tuple] | None:
    """Partitions to rewrite; None = the whole table (new, reshaped or unpartitioned)."""
    if before is None or before.signature != current.signature:
        return None
    keys = [
        k
        for k in current.partitions.keys() | before.partitions.keys()
        if current.partitions.get(k) != before.partitions.get(k)
    ]
    if keys and not current.partitioned:
        return None
    return keys


def _write_table(conn: duckdb.DuckDBPyConnection, state: _TableState, keys: list | None) -> int:
    """Write one table into ``published``; returns the rows written."""
    target = f'published.{state.schema}."{state.table}"'
    source = f'{state.schema}."{state.table}"'
    if keys is None:
        conn.execute(f"create schema if not exists published.{state.schema}")
        conn.execute(f"drop table if exists {target}")
        conn.execute(f"create table {target} as select * from {source}")
        return state.rows
    if not keys:
        return 0
    # Literal predicates, not a join on a key table: DuckDB prunes row groups on them and skips
    # the scan of every unchanged period (a semi join read the whole table: 3x slower).
    match = " or ".join(_partition_predicate(k) for k in keys)
    conn.execute(f"delete from {target} where {match}")
    conn.execute(f"insert into {target} select * from {source} where {match}")
    return sum(state.partitions[k][0] for k in keys if k in state.partitions)


def _literal(value: object) -> str:
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _partition_predicate(key: tuple) -> str:
    parts = [
        f"{col} is null" if v is None else f"{col} = {_literal(v)}"
        for col, v in zip(PARTITION_COLUMNS, key, strict=True)
    ]
    return "(" + " and ".join(parts) + ")"


def _write_state(
    conn: duckdb.DuckDBPyConnection, states: list[_TableState], storage: tuple
) -> None:
    conn.execute(
        f"""
        create or replace table published.{STATE_TABLE} (
            table_schema varchar, table_name varchar, signature varchar, is_partitioned boolean,
            period_grain varchar, period_start date, row_count bigint, fingerprint hugeint
        )
        """
    )
    rows = [
        [s.schema, s.table, s.signature, s.partitioned, *(k or (None, None)), n, str(fp)]
        for s in states
        for k, (n, fp) in (s.partitions.items() or [((), (0, 0))])
    ]
    # One statement: executemany runs one insert per row (seconds for a hundred rows).
    values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?::hugeint)" for _ in rows)
    conn.execute(
        f"insert into published.{STATE_TABLE} values {values}", [v for r in rows for v in r]
    )
    conn.execute(
        f"create or replace table published.{STORAGE_TABLE} "
        "(rows_at_full_publish bigint, rows_rewritten_since bigint)"
    )
    conn.execute(f"insert into published.{STORAGE_TABLE} values (?, ?)", list(storage))


@dataclass
class _Plan:
    changes: dict[str, list[tuple] | None]  # table -> partitions to rewrite (None: all of it)
    dropped: list[tuple[str, str]]  # published tables the warehouse no longer has
    rows_at_full: int
    rewritten_since: int
    full: bool = False


def _incremental_plan(
    conn: duckdb.DuckDBPyConnection, target: Path, staging_path: Path, states: list[_TableState]
) -> _Plan | None:
    """Attach a copy of the published file as ``published`` and plan the partitions to rewrite
    in it; None (nothing left attached) when a full publish is due."""
    if not target.exists():
        return None
    shutil.copyfile(target, staging_path)
    try:
        conn.execute(f"attach '{staging_path.as_posix()}' as published")
    except duckdb.Error:  # unreadable, or written by an incompatible DuckDB: start afresh
        return None
    recorded = _published_state(conn)
    if recorded is not None:
        previous, rows_at_full, rewritten_since = recorded
        changes = {s.name: _changed_partitions(s, previous.get(s.name)) for s in states}
        to_write = sum(
            s.rows if keys is None else sum(s.partitions.get(k, (0, 0))[0] for k in keys)
            for s in states
            for keys in [changes[s.name]]
        )
        if rewritten_since + to_write <= rows_at_full:
            names = {s.name for s in states}
            dropped = [(p.schema, p.table) for p in previous.values() if p.name not in names]
            return _Plan(changes, dropped, rows_at_full, rewritten_since)
    conn.execute("detach published")
    return None


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


def publish(settings: Settings, run_id: str | None = None, *, full: bool = False) -> PublishReport:
    """Copy the marts and the scoring configuration to the published database, atomically.

    The new copy starts from the current published file (a file copy) and rewrites only the
    partitions (period_grain, period_start) whose rows changed since it was written, so a daily
    run writes a few periods rather than every table. It is still built beside the published
    file and swapped in with ``os.replace``: readers see the old copy or the new one. A full
    rewrite happens with ``full=True``, when there is no usable earlier copy, and once the
    rows rewritten since the last full publish exceed the rows it wrote (deleted rows leave
    free space in a DuckDB file; a full rewrite compacts it).
    """
    target = settings.published_path
    target.parent.mkdir(parents=True, exist_ok=True)
    staging_path = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    published_at = datetime.now(UTC).replace(tzinfo=None)
    laps = _Laps()
    try:
        with connect(settings) as conn:
            states = [_table_state(conn, s, t) for s, t in _tables(conn, PUBLISHED_SCHEMAS)]
            laps.lap("fingerprint")
            plan = None if full else _incremental_plan(conn, target, staging_path, states)
            if plan is None:
                staging_path.unlink(missing_ok=True)
                conn.execute(f"attach '{staging_path.as_posix()}' as published")
                total = sum(s.rows for s in states)
                plan = _Plan({s.name: None for s in states}, [], total, 0, full=True)
            laps.lap("copy")
            for schema, table in plan.dropped:
                conn.execute(f'drop table if exists published.{schema}."{table}"')
            written = sum(_write_table(conn, s, plan.changes[s.name]) for s in states)
            rewritten = 0 if plan.full else plan.rewritten_since + written
            _write_state(conn, states, (plan.rows_at_full, rewritten))
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
            laps.lap("write")
        os.replace(staging_path, target)
        laps.lap("swap")
    finally:
        staging_path.unlink(missing_ok=True)
    return PublishReport(
        path=str(target),
        tables={s.name: s.rows for s in states},
        published_at=published_at,
        mode="full" if plan.full else "incremental",
        rows_written=written,
        seconds=laps.seconds,
    )


class _Laps:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 3)
        self._last = now


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
