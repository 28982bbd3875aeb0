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


def ensure_profiles(conn: duckdb.DuckDBPyConnection, entity: Entity, asset: str) -> None:
    """Profile every batch of ``entity`` not yet in ``quality.batch_profiles``."""
    conn.execute("create schema if not exists quality")
    conn.execute(PROFILE_DDL)
    cols = nullable_columns(entity)
    null_exprs = "".join(f', count(*) filter (where "{c}" is null) as "{c}"' for c in cols)
    frame = conn.execute(
        f"""
        select _batch_id as batch_id, min(_extract_date) as extract_date,
               count(*) as row_count{null_exprs}
        from {entity.raw_table}
        where _batch_id is not null
          and _batch_id not in (
              select batch_id from quality.batch_profiles where asset_key = ?
          )
        group by _batch_id
        """,
        [asset],
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
