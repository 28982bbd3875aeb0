"""Per-batch profiles (row count, null counts) kept in ``quality.batch_profiles``.

Volume and null-rate anomalies compare a batch with the batches before it; profiling each
batch once keeps those checks from rescanning months of raw rows on every run.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from expectations.suites import nullable_columns
from orchestration.extracts import Entity

PROFILE_DDL = """
create table if not exists quality.batch_profiles (
    asset_key varchar not null,
    batch_id varchar not null,
    extract_date date,
    row_count bigint not null,
    null_counts json,
    profiled_at timestamp default current_timestamp
)
"""


def raw_batch_ids(conn: duckdb.DuckDBPyConnection, entity: Entity) -> set[str | None]:
    """Distinct ``_batch_id`` of a raw table: one dictionary-encoded column, cheap at 10 M rows."""
    return {
        r[0] for r in conn.execute(f"select distinct _batch_id from {entity.raw_table}").fetchall()
    }


def ensure_profiles(conn: duckdb.DuckDBPyConnection, entity: Entity, asset: str) -> None:
    """Profile every batch of ``entity`` not yet in ``quality.batch_profiles``."""
    conn.execute("create schema if not exists quality")
    conn.execute(PROFILE_DDL)
    cols = nullable_columns(entity)
    null_exprs = "".join(f', count(*) filter (where "{c}" is null) as "{c}"' for c in cols)
    profiled = {
        r[0]
        for r in conn.execute(
            "select batch_id from quality.batch_profiles where asset_key = ?", [asset]
        ).fetchall()
    }
    todo = [b for b in raw_batch_ids(conn, entity) if b is not None and b not in profiled]
    if not todo:
        return
    # An IN list of the new batches: an anti-join on the profiles table read all history.
    frame = conn.execute(
        f"""
        select _batch_id as batch_id, min(_extract_date) as extract_date,
               count(*) as row_count{null_exprs}
        from {entity.raw_table}
        where _batch_id in ({", ".join("?" for _ in todo)})
        group by _batch_id
        """,
        todo,
    ).df()
    rows = [
        (
            asset,
            r["batch_id"],
            r["extract_date"],
            int(r["row_count"]),
            json.dumps({c: int(r[c]) for c in cols}),
        )
        for _, r in frame.iterrows()
    ]
    if rows:
        new = pd.DataFrame(  # noqa: F841 (read by DuckDB below)
            rows, columns=["asset_key", "batch_id", "extract_date", "row_count", "null_counts"]
        )
        conn.execute(
            "insert into quality.batch_profiles "
            "(asset_key, batch_id, extract_date, row_count, null_counts) "
            "select asset_key, batch_id, extract_date, row_count, null_counts from new"
        )


def profiles(conn: duckdb.DuckDBPyConnection, asset: str) -> pd.DataFrame:
    """One profile per extract date (the latest batch of a re-delivered extract), not blocked."""
    return conn.execute(
        """
        select batch_id, extract_date, row_count, null_counts
        from quality.batch_profiles
        where asset_key = ?
          and batch_id not in (
              select batch_id from raw_meta.blocked_batches where released_at is null
          )
        qualify row_number() over (partition by extract_date order by profiled_at desc) = 1
        order by extract_date
        """,
        [asset],
    ).df()


# -- partner-month activity counts per batch -----------------------------------------------------
# The revenue-spike support signals and the partner data gaps need, per partner and month, how
# many rows an entity holds. Counting them from raw rows costs a scan of all history (10 M
# portal events at scale M) on every run; counted once per batch they cost the new rows only.
MONTH_COLUMNS = {
    ("portal", "activity_events"): "occurred_at",
    ("lms", "learning_records"): "occurred_at",
    ("crm", "deal_registrations"): "submitted_date",
}
PARTNER_MONTHS_DDL = """
create table if not exists quality.batch_partner_months (
    asset_key varchar not null,
    batch_id varchar,            -- null for rows loaded without a batch (kept, like raw)
    partner_id varchar,
    month date,
    row_count bigint not null
)
"""


def _month_sql(entity: Entity) -> str:
    return f"date_trunc('month', \"{MONTH_COLUMNS[(entity.source, entity.name)]}\")::date"


def ensure_partner_months(conn: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Bring ``quality.batch_partner_months`` in line with the raw table's batches.

    Batches gone from raw (an extract delivered again replaces its rows) are dropped, new
    batches are counted; the stored counts must then add up to the raw table's row count
    (O(1) in DuckDB), else rows changed inside a batch and the entity is counted afresh.
    """
    asset = f"{entity.raw_schema}/{entity.name}"
    conn.execute("create schema if not exists quality")
    conn.execute(PARTNER_MONTHS_DDL)
    present = raw_batch_ids(conn, entity)
    stored = {
        r[0]
        for r in conn.execute(
            "select distinct batch_id from quality.batch_partner_months where asset_key = ?",
            [asset],
        ).fetchall()
    }
    gone = [b for b in stored - present if b is not None]
    if gone:
        conn.execute(
            "delete from quality.batch_partner_months where asset_key = ? and batch_id in "
            f"({', '.join('?' for _ in gone)})",
            [asset, *gone],
        )
    if None in stored - present:
        conn.execute(
            "delete from quality.batch_partner_months where asset_key = ? and batch_id is null",
            [asset],
        )
    new = [b for b in present - stored if b is not None]
    filters = []
    if new:
        filters.append(f"_batch_id in ({', '.join('?' for _ in new)})")
    if None in present - stored:
        filters.append("_batch_id is null")
    if filters:
        _count_partner_months(conn, entity, asset, " or ".join(filters), new)
    total = conn.execute(f"select count(*) from {entity.raw_table}").fetchone()[0]
    counted = conn.execute(
        "select coalesce(sum(row_count), 0) from quality.batch_partner_months where asset_key = ?",
        [asset],
    ).fetchone()[0]
    if counted != total:
        conn.execute("delete from quality.batch_partner_months where asset_key = ?", [asset])
        _count_partner_months(conn, entity, asset, "true", [])


def _count_partner_months(
    conn: duckdb.DuckDBPyConnection, entity: Entity, asset: str, where: str, params: list
) -> None:
    conn.execute(
        f"""
        insert into quality.batch_partner_months
        select ?, _batch_id, partner_id, {_month_sql(entity)}, count(*)
        from {entity.raw_table}
        where {where}
        group by all
        """,
        [asset, *params],
    )
