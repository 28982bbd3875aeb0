"""Dagster's SQLite event log, with its connections kept open between events.

Dagster's ``SqliteEventLogStorage`` creates a SQLAlchemy engine, opens a connection, commits
and disposes of it for every write, and writes each asset or check event to two database
files (the run's shard and the index), so one event costs several fsyncs and several
connects. A pipeline run writes about a thousand events (238 "planned" events alone before
the first step, one per asset and check; one per check result), which at scale M took 8 to
20 s of a run's startup and 5 s of its checks step on a busy 2-core machine.

This storage is the same class with the same files and tables (``dagster dev`` and older
instances read them as before). It differs only in how it connects: one engine per database
file, kept for the life of the process (a few of them, least recently used first out), and
``synchronous=NORMAL``, SQLite's recommended setting in WAL mode (Dagster creates its files
in WAL mode): a commit no longer waits for the disk, a crash of the process loses nothing,
and a power cut can lose only the last events, never corrupt the file.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

# Engines kept open: the index, the running run's shard and a few recently read runs.
MAX_OPEN_SHARDS = 4
BUSY_TIMEOUT_SECONDS = 15  # as Dagster's own SQLite storages wait for a lock


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that reuses one engine per database file.

    Configured in ``dagster.yaml`` (``event_log_storage``, see :data:`DAGSTER_YAML_ENTRY`)
    with ``dagster_home``; the databases are where a default instance keeps them,
    ``<dagster_home>/history/runs``, so a copied or moved data dir keeps working.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(events_dir(config_value["dagster_home"]), inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine; the caller holds ``_db_lock``."""
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = db.create_engine(
            self.conn_string_for_shard(shard),
            connect_args={"timeout": BUSY_TIMEOUT_SECONDS},
        )
        db.event.listen(engine, "connect", _tune_sqlite)
        self._engines[shard] = engine
        while len(self._engines) > MAX_OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()

    def wipe(self) -> None:
        self._close_engines()  # the shard files are deleted: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_engines()


def events_dir(dagster_home: str | os.PathLike[str]) -> str:
    """Where Dagster's default SQLite storage keeps the event databases of an instance."""
    return os.path.join(os.fspath(dagster_home), "history", "runs")


# Appended to an instance's dagster.yaml that configures no storage of its own (the project's
# template, orchestration/dagster.yaml, has it already). DAGSTER_HOME, not a path: bench data
# dirs are copied and moved.
DAGSTER_YAML_ENTRY = f"""
# Dagster's SQLite event log with its connections kept open (orchestration/instance_storage.py).
event_log_storage:
  module: {__name__}
  class: {PooledSqliteEventLogStorage.__name__}
  config:
    dagster_home:
      env: DAGSTER_HOME
"""

STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")

__all__ = [
    "DAGSTER_YAML_ENTRY",
    "STORAGE_KEYS",
    "PooledSqliteEventLogStorage",
    "events_dir",
]
