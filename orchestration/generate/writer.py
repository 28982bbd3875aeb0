"""Writing landing files: DuckDB COPY from Arrow tables, plus the counts ingest should see.

DuckDB formats and compresses in C++ (and its gzip output carries no timestamp, so files
are byte-identical across runs), which keeps the event streams fast and deterministic.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
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
        self.conn.execute("set enable_progress_bar = false")  # the CLI shows its own
        self.max_threads = int(self.conn.execute("select current_setting('threads')").fetchone()[0])
        self._threads = self.max_threads
        self.counts: dict[str, EntityCounts] = defaultdict(EntityCounts)
        self.rows_in_file: dict[str, int] = {}
        self.files = 0

    def folder(self, source: str, entity: str, extract_date: date) -> Path:
        path = self.landing_dir / source / entity / extract_date.isoformat()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.landing_dir).as_posix()

    def _register(self, table: pa.Table) -> None:
        # Small files: one thread avoids DuckDB's per-query thread hand-offs, which dominate.
        threads = 1 if table.num_rows < 100_000 else self.max_threads
        if threads != self._threads:
            self.conn.execute(f"set threads = {threads}")
            self._threads = threads
        self.conn.register("t", table)

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
        self._register(table)
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

    def write_lines(
        self,
        source: str,
        entity: str,
        extract_date: date,
        filename: str,
        table: pa.Table,
        sql: str,
        level: int = 1,
    ) -> Path:
        """Write text lines rendered by ``sql`` (one varchar column, each ending in a newline).

        DuckDB renders the lines; we stream its Arrow batches straight into zlib. Each batch's
        string data is one contiguous buffer, so no per-line Python work happens. This is
        several times faster than DuckDB's JSON COPY with gzip, and zlib output (no mtime in
        the header) is deterministic. Optional xAPI members can be left out, which a JSON
        writer with fixed columns cannot do.
        """
        path = self.folder(source, entity, extract_date) / filename
        self._register(table)
        try:
            reader = self.conn.execute(sql).to_arrow_reader(200_000)
            packer = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip container
            with path.open("wb") as fh:
                for batch in reader:
                    column = batch.column(0)
                    if len(column):
                        fh.write(packer.compress(_string_bytes(column)))
                fh.write(packer.flush())
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


def _string_bytes(column: pa.Array) -> memoryview:
    """The concatenated UTF-8 bytes of a string array, without copying."""
    if column.type == pa.string_view():
        column = column.cast(pa.large_string())
    width = np.int64 if column.type == pa.large_string() else np.int32
    offsets = np.frombuffer(column.buffers()[1], dtype=width)
    start, stop = offsets[column.offset], offsets[column.offset + len(column)]
    return memoryview(column.buffers()[2])[start:stop]


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
