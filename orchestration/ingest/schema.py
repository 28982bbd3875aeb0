"""Raw and ingest-metadata tables: created here so dbt sources always exist."""

from __future__ import annotations

import duckdb

from orchestration.extracts import DUCKDB_TYPES, ENTITIES, LINEAGE_COLUMNS, Entity

RAW_SCHEMAS = ("raw_crm", "raw_portal", "raw_lms", "raw_meta")

# Columns of the ingest metadata tables, as agreed in the team decisions.
META_TABLES: dict[str, dict[str, str]] = {
    "file_manifest": {
        "source": "varchar",
        "entity": "varchar",
        "extract_date": "date",
        "source_file": "varchar",
        "file_sha256": "varchar",
        "size_bytes": "bigint",
        "file_format": "varchar",
        "rows_read": "bigint",
        "rows_loaded": "bigint",
        "rows_quarantined": "bigint",
        "extra_columns": "varchar[]",
        "status": "varchar",  # 'loaded' | 'replaced' | 'rejected'
        "error": "varchar",
        "batch_id": "varchar",
        "loaded_at": "timestamp",
    },
    "quarantined_rows": {
        "source": "varchar",
        "entity": "varchar",
        "source_file": "varchar",
        "source_row": "bigint",
        "extract_date": "date",
        "column_name": "varchar",
        "reason": "varchar",
        "original_text": "varchar",
        "file_sha256": "varchar",
        "batch_id": "varchar",
        "quarantined_at": "timestamp",
    },
    "blocked_batches": {
        "batch_id": "varchar",
        "source": "varchar",
        "entity": "varchar",
        "extract_date": "date",
        "check_name": "varchar",
        "reason": "varchar",
        "blocked_at": "timestamp",
        "released_at": "timestamp",
    },
    # Ingest's own cache: the sha256 (and gzip check) of a landing file at a size and mtime,
    # so an unchanged file is recognised by a stat instead of being read again.
    "file_digests": {
        "source_file": "varchar",
        "size_bytes": "bigint",
        "mtime_ns": "bigint",
        "file_sha256": "varchar",
        "gzip_error": "varchar",
        "digested_at": "timestamp",
    },
    "corrections": {
        "correction_id": "varchar",
        "source": "varchar",
        "entity": "varchar",
        "record_key": "varchar",
        "column_name": "varchar",
        "corrected_value": "varchar",
        "submitted_by": "varchar",
        "submitted_at": "timestamp",
        "reason": "varchar",
        "applied_at": "timestamp",
    },
}


def raw_columns(entity: Entity) -> dict[str, str]:
    """Column name -> DuckDB type of the raw table: contract columns, then lineage."""
    cols = {c.name: DUCKDB_TYPES[c.type] for c in entity.columns}
    cols.update(LINEAGE_COLUMNS)
    return cols


def _create(conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    body = ",\n    ".join(f"{name} {type_}" for name, type_ in columns.items())
    conn.execute(f"create table if not exists {table} (\n    {body}\n)")


def ensure_raw_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schemas, every raw table and the raw_meta tables, if absent."""
    for schema in RAW_SCHEMAS:
        conn.execute(f"create schema if not exists {schema}")
    for entity in ENTITIES:
        _create(conn, entity.raw_table, raw_columns(entity))
    for name, columns in META_TABLES.items():
        _create(conn, f"raw_meta.{name}", columns)
