"""Writing landing files: DuckDB COPY from Arrow tables, plus the counts ingest should see.

DuckDB formats and compresses in C++ (and its gzip output carries no timestamp, so files
are byte-identical across runs), which keeps the event streams fast and deterministic.
"""

from __future__ import annotations

import gzip
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.extracts import Entity, get_entity


@dataclass
class EntityCounts:
    rows_written: int = 0
    rows_expected_loaded: int = 0
    rows_expected_quarantined: int = 0
    files_expected_rejected: int = 0


def contract_select(entity: Entity, relation: str = "t") -> str:
    """A SELECT that renders ``relation``'s columns in contract order and text formats."""
    parts = []
    for col in entity.columns:
        name = f'"{col.name}"'
        if col.type == "date":
            expr = f"cast({name} as date)"
        elif col.type == "decimal":
            expr = f"cast({name} as decimal(18, 2))"
        elif col.type == "timestamp":
            expr = f"strftime({name}, '%Y-%m-%dT%H:%M:%SZ')"
        elif col.type == "integer":
            expr = f"cast({name} as bigint)"
        else:
            expr = name
        parts.append(f"{expr} as {name}")
    return f"select {', '.join(parts)} from {relation}"


class LandingWriter:
    """Writes extracts under ``landing/<source>/<entity>/<extract_date>/`` and tallies rows."""

    def __init__(self, landing_dir: Path) -> None:
        self.landing_dir = landing_dir
        self.conn = duckdb.connect()
        # Row order must not depend on thread scheduling, or files would differ between runs.
        self.conn.execute("set preserve_insertion_order = true")
        self.counts: dict[str, EntityCounts] = defaultdict(EntityCounts)
        self.rows_in_file: dict[str, int] = {}
        self.files = 0

    def folder(self, source: str, entity: str, extract_date: date) -> Path:
        path = self.landing_dir / source / entity / extract_date.isoformat()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.landing_dir).as_posix()

    def copy(
        self,
        source: str,
        entity: str,
        extract_date: date,
        filename: str,
        table: pa.Table,
        select_sql: str,
        fmt: str,
        compress: bool,
    ) -> Path:
        """Run ``select_sql`` (reading relation ``t``) over ``table`` into one landing file."""
        path = self.folder(source, entity, extract_date) / filename
        self.conn.register("t", table)
        try:
            options = "format csv, header true" if fmt == "csv" else "format json"
            if compress:
                options += ", compression gzip"
            target = str(path).replace("'", "''")
            self.conn.execute(f"copy ({select_sql}) to '{target}' ({options})")
        finally:
            self.conn.unregister("t")
        self.record(source, entity, path, table.num_rows)
        return path

    def copy_lines(
        self, source: str, entity: str, extract_date: date, filename: str, table: pa.Table, sql: str
    ) -> Path:
        """Write pre-rendered JSON lines (one varchar column ``line``) without CSV quoting.

        Used for xAPI, where optional members (``result``, certification expiry) must be
        absent rather than null, which DuckDB's JSON writer cannot express.
        """
        path = self.folder(source, entity, extract_date) / filename
        self.conn.register("t", table)
        try:
            target = str(path).replace("'", "''")
            self.conn.execute(
                f"copy ({sql}) to '{target}' "
                "(format csv, header false, quote '', escape '', delimiter '\x01', "
                "compression gzip)"
            )
        finally:
            self.conn.unregister("t")
        self.record(source, entity, path, table.num_rows)
        return path

    def write_contract_csv(
        self, source: str, entity: str, extract_date: date, table: pa.Table, compress: bool = True
    ) -> Path:
        contract = get_entity(source, entity)
        assert contract is not None, f"{source}/{entity} is not in the extract contract"
        name = f"{entity}.csv.gz" if compress else f"{entity}.csv"
        select = contract_select(contract)
        return self.copy(source, entity, extract_date, name, table, select, "csv", compress)

    def record(self, source: str, entity: str, path: Path, rows: int, loaded: bool = True) -> None:
        key = f"{source}/{entity}"
        self.counts[key].rows_written += rows
        if loaded:
            self.counts[key].rows_expected_loaded += rows
        else:
            self.counts[key].files_expected_rejected += 1
        self.rows_in_file[self.relative(path)] = rows
        self.files += 1

    def close(self) -> None:
        self.conn.close()


def read_text(path: Path, encoding: str = "utf-8") -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode(encoding)


def write_bytes(path: Path, data: bytes) -> None:
    """Write (gzip when the name says so) with a zero mtime so output stays deterministic."""
    if path.suffix == ".gz":
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
        data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
