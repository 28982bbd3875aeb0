"""Helpers for ingest tests: write small landing files and run the engine on them."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import EntityIngestReport, ingest_entity
from orchestration.settings import Settings
from orchestration.warehouse import connect


@pytest.fixture
def landing(data_dir: Settings) -> Callable[..., Path]:
    """Write a landing file: landing(source, entity, date, name, text_or_bytes, gz=False)."""

    def write(
        source: str, entity: str, date: str, name: str, content: str | bytes, gz: bool = False
    ) -> Path:
        path = data_dir.landing_dir / source / entity / date / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        # mtime=0: identical content gives identical bytes, as a real re-delivery would
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        return path

    return write


@pytest.fixture
def run_ingest(data_dir: Settings) -> Callable[[str], EntityIngestReport]:
    def run(entity: str, **kwargs: object) -> EntityIngestReport:
        with connect(data_dir) as conn:
            return ingest_entity(conn, data_dir, entity, **kwargs)  # type: ignore[arg-type]

    return run


@pytest.fixture
def query(data_dir: Settings) -> Callable[[str], list[tuple]]:
    def run(sql: str, params: list | None = None) -> list[tuple]:
        conn = duckdb.connect(str(data_dir.warehouse_path), read_only=True)
        try:
            return conn.execute(sql, params or []).fetchall()
        finally:
            conn.close()

    return run
