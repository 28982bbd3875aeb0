"""Load landing extracts into raw tables: vectorized DuckDB SQL, one transaction per extract.

The unit of work is the extract folder ``landing/<source>/<entity>/<extract_date>/``.
A folder whose files (path + sha256) match the manifest is skipped; a changed or
extended folder is reloaded as a whole under a new ``_batch_id`` and the manifest
rows of the previous load become 'replaced'. Every row read is either loaded or
quarantined with a reason; a file that cannot be read at all is 'rejected'.

Rows are cast and checked while each file is read and written once, straight into the raw
table inside the extract's transaction; rows that fail move to quarantine before commit. If a
statement fails (which aborts a DuckDB transaction) the extract is rolled back and loaded
again carefully through a temp table (see ``checked.py``).

Several pending extracts of an entity load at the same time, one per DuckDB thread, each on its
own cursor and in its own transaction (``_load_pending``). A file already digested at the same
size and mtime is not read again to learn its sha256 (``raw_meta.file_digests``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal

import duckdb

from orchestration.extracts import Entity, get_entity
from orchestration.ingest.checked import CHECKED, RetryCarefully, Target, create_checked
from orchestration.ingest.landing import ExtractFolder, LandingFile, LandingProblem, scan_landing
from orchestration.ingest.mappings import ColumnMapping, load_mappings
from orchestration.ingest.readers import FileDigest, FileRejected, digest, stage_file
from orchestration.ingest.schema import ensure_raw_schema, raw_columns
from orchestration.settings import Settings

log = logging.getLogger("partnerscore.ingest")
log.addHandler(logging.NullHandler())  # quiet unless the application configures logging

FileStatus = Literal["loaded", "rejected", "skipped", "still_rejected"]


@dataclass
class FileReport:
    source_file: str  # relative to the landing dir
    extract_date: dt.date
    status: FileStatus
    file_format: str
    size_bytes: int
    sha256: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    extra_columns: list[str] = field(default_factory=list)
    mapping: str | None = None
    error: str | None = None
    batch_id: str | None = None


@dataclass
class EntityIngestReport:
    source: str
    entity: str
    files: list[FileReport] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)
    replaced_batch_ids: list[str] = field(default_factory=list)
    files_replaced: int = 0  # manifest rows superseded by this run's reloads
    landing_problems: list[LandingProblem] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def files_loaded(self) -> int:
        return self._count("loaded")

    @property
    def files_rejected(self) -> int:
        return self._count("rejected")

    @property
    def files_skipped(self) -> int:
        return self._count("skipped") + self._count("still_rejected")

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files if f.status == "loaded")

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files if f.status == "loaded")

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files if f.status == "loaded")

    @property
    def extra_columns(self) -> list[str]:
        return sorted({c for f in self.files for c in f.extra_columns})

    @property
    def errors(self) -> list[str]:
        """Files rejected by this run (not the ones still rejected from an earlier run)."""
        return [f.error for f in self.files if f.status == "rejected" and f.error]

    @property
    def still_rejected(self) -> list[str]:
        return [f.error for f in self.files if f.status == "still_rejected" and f.error]

    def summary(self) -> str:
        return (
            f"{self.source}/{self.entity}: {self.files_loaded} file(s) loaded, "
            f"{self.files_replaced} replaced, {self.files_rejected} rejected, "
            f"{self.files_skipped} unchanged; rows read {self.rows_read:,} = "
            f"loaded {self.rows_loaded:,} + quarantined {self.rows_quarantined:,}"
        )


ProgressCallback = Callable[[FileReport], None]


def _lit(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _sql_value(value: object) -> str:
    """SQL literal for a manifest value. Statements are built with literals, not bound
    parameters: binding a Python value makes DuckDB import pandas (seconds) on first use."""
    if value is None:
        return "null"
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, dt.datetime):
        return f"timestamp {_lit(value.isoformat(sep=' '))}"
    if isinstance(value, dt.date):
        return f"date {_lit(value.isoformat())}"
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]::varchar[]"
    return _lit(value)


def _where_entity(entity: Entity) -> str:
    return f"source = {_lit(entity.source)} and entity = {_lit(entity.name)}"


def _in_batch(target: Target, batch_id: str) -> str:
    return f"_extract_date = {target.date_sql} and _batch_id = {_lit(batch_id)}"


def _mark_duplicates(conn: duckdb.DuckDBPyConnection, target: Target) -> None:
    """Later occurrences of a key among loaded rows (across the extract's files) are marked
    for quarantine, naming the first row. Keys are almost always unique: a distinct count
    proves it without the group-by."""
    entity = target.entity
    raw, key = entity.raw_table, entity.key
    loaded = _in_batch(target, target.batch_id)
    unique = conn.execute(
        f"select count({key}) = count(distinct {key}) from {raw} where {loaded}"
    ).fetchone()
    if unique and unique[0]:
        return
    conn.execute(
        f"""
        create or replace temp table _ps_dups as
        select {key} as k, min({{'f': _source_file, 'r': _source_row}}) as first
        from {raw}
        where {loaded}
        group by {key}
        having count(*) > 1
        """
    )
    # A duplicate passed its checks, so its text was not kept: quarantine its typed values.
    text = ", ".join(f"{c.name} := {raw}.{c.name}::varchar" for c in entity.columns)
    conn.execute(
        f"""
        update {raw}
        set _batch_id = {_lit(target.bad_batch_id)},
            _extra_columns = json_object(
                'column', '{key}',
                'reason', 'duplicate key {key} ''' || {raw}.{key} || ''': first seen in row '
                    || d.first.r
                    || case when d.first.f <> {raw}._source_file
                        then ' of ' || d.first.f else '' end,
                'original', to_json(struct_pack({text}))::varchar,
                'extra', {raw}._extra_columns
            )
        from _ps_dups as d
        where {raw}._extract_date = {target.date_sql}
            and {raw}._batch_id = {_lit(target.batch_id)}
            and {raw}.{key} = d.k
            and ({raw}._source_file, {raw}._source_row) <> (d.first.f, d.first.r)
        """
    )


def _quarantine(conn: duckdb.DuckDBPyConnection, target: Target) -> dict[str, tuple[int, int, int]]:
    """Move the rows marked bad from the raw table to quarantine (inside the transaction).

    Returns rows read/loaded/quarantined per source file.
    """
    entity = target.entity
    raw = entity.raw_table
    bad = _in_batch(target, target.bad_batch_id)
    _mark_duplicates(conn, target)
    counts = {
        str(row[0]): (int(row[1]), int(row[2]), int(row[3]))
        for row in conn.execute(
            f"select _source_file, count(*), "
            f"count(*) filter (where _batch_id = {_lit(target.batch_id)}), "
            f"count(*) filter (where _batch_id = {_lit(target.bad_batch_id)}) "
            f"from {raw} where _extract_date = {target.date_sql} group by all"
        ).fetchall()
    }
    if any(quarantined for _, _, quarantined in counts.values()):
        conn.execute(
            f"""
            insert into raw_meta.quarantined_rows
            select
                {_lit(entity.source)}, {_lit(entity.name)}, _source_file, _source_row,
                _extract_date, _extra_columns ->> '$.column', _extra_columns ->> '$.reason',
                _extra_columns ->> '$.original', _file_sha256, {_lit(target.batch_id)},
                {target.at_sql},
            from {raw}
            where {bad}
            """
        )
        conn.execute(f"delete from {raw} where {bad}")
    return counts


def _replace_extract(conn: duckdb.DuckDBPyConnection, target: Target) -> None:
    """Start the extract's transaction and remove what an earlier load of it wrote."""
    entity = target.entity
    conn.execute("begin transaction")
    try:
        conn.execute(f"delete from {entity.raw_table} where _extract_date = {target.date_sql}")
        conn.execute(
            f"delete from raw_meta.quarantined_rows where {_where_entity(entity)} "
            f"and extract_date = {target.date_sql}"
        )
        conn.execute(
            "update raw_meta.file_manifest set status = 'replaced' "
            f"where {_where_entity(entity)} and extract_date = {target.date_sql} "
            "and status in ('loaded', 'rejected')"
        )
    except BaseException:
        conn.execute("rollback")
        raise


def _copy_checked(conn: duckdb.DuckDBPyConnection, target: Target) -> None:
    """Careful load: copy the temp table's rows into the raw table, marked as a direct load
    marks them, one insert per file so the file name and hash are constants."""
    entity = target.entity
    typed = ", ".join(f"_t_{c.name}" for c in entity.columns)
    for index, (relative, sha) in enumerate(target.files):
        conn.execute(
            f"insert into {entity.raw_table} ({', '.join(raw_columns(entity))}) "
            f"select {typed}, {_lit(relative)}, _source_row, {target.date_sql}, {_lit(sha)}, "
            f"{target.at_sql}, case when _valid then _extra_columns else _bad end, "
            f"case when _valid then {_lit(target.batch_id)} "
            f"else {_lit(target.bad_batch_id)} end "
            f"from {CHECKED} where _file = {index}"
        )


def _write_manifest(
    conn: duckdb.DuckDBPyConnection, entity: Entity, reports: list[FileReport], at: dt.datetime
) -> None:
    rows = [
        (
            entity.source,
            entity.name,
            r.extract_date,
            r.source_file,
            r.sha256,
            r.size_bytes,
            r.file_format,
            r.rows_read if r.status == "loaded" else None,
            r.rows_loaded if r.status == "loaded" else None,
            r.rows_quarantined if r.status == "loaded" else None,
            r.extra_columns,
            r.status,
            r.error,
            r.batch_id,
            at,
        )
        for r in reports
    ]
    if rows:
        values = ", ".join("(" + ", ".join(_sql_value(v) for v in row) + ")" for row in rows)
        conn.execute(f"insert into raw_meta.file_manifest values {values}")


def _stage_files(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    folder: ExtractFolder,
    digests: dict[str, FileDigest],
    mappings: tuple[ColumnMapping, ...],
    threads: int | None,
) -> list[FileReport]:
    """Check every file of the extract into the target. ``threads`` None: the caller pinned
    DuckDB's threads for a concurrent load, leave the (database-wide) setting alone."""
    entity = target.entity
    reports: list[FileReport] = []
    for index, file in enumerate(folder.files):
        # A gzip stream is read by one thread; a second DuckDB thread finds no work in these
        # statements and only adds CPU (measured +40 to +100 % per file on 2 cores).
        if threads is not None:
            conn.execute(f"set threads = {1 if file.compressed else threads}")
        d = digests[file.relative]
        report = FileReport(
            file.relative,
            folder.extract_date,
            "loaded",
            file.file_format,
            file.size_bytes,
            d.sha256,
        )
        report.batch_id = target.batch_id
        try:
            if file.file_format not in entity.formats:
                raise FileRejected(
                    f"{file.file_format} files are not accepted for {entity.source}/"
                    f"{entity.name}; expected {', '.join(entity.formats)}"
                )
            if d.error:
                raise FileRejected(d.error)
            staged = stage_file(conn, target, file, index, mappings)
            report.rows_read = staged.rows_read
            report.extra_columns = staged.extra_columns
            report.mapping = staged.mapping
        except FileRejected as exc:
            report.status = "rejected"
            report.error = f"landing/{file.relative}: {exc}"
        reports.append(report)
    if threads is not None:
        conn.execute(f"set threads = {threads}")
    return reports


def _load(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    folder: ExtractFolder,
    digests: dict[str, FileDigest],
    mappings: tuple[ColumnMapping, ...],
    threads: int | None,
) -> list[FileReport]:
    """Load one extract into the target and commit it, or raise with nothing committed."""
    if target.direct:
        _replace_extract(conn, target)  # opens the transaction the rows are written in
        try:
            reports = _stage_files(conn, target, folder, digests, mappings, threads)
        except BaseException:
            conn.execute("rollback")
            raise
    else:
        create_checked(conn, target.entity)
        reports = _stage_files(conn, target, folder, digests, mappings, threads)
        _replace_extract(conn, target)
    try:
        if not target.direct:
            _copy_checked(conn, target)
        counts = _quarantine(conn, target)
        for report in reports:
            if report.status == "loaded":
                read, loaded, quarantined = counts.get(report.source_file, (0, 0, 0))
                if read != report.rows_read:
                    raise RuntimeError(
                        f"{report.source_file}: staged {report.rows_read} rows but checked "
                        f"{read}; nothing was committed"
                    )
                report.rows_loaded, report.rows_quarantined = loaded, quarantined
        _write_manifest(conn, target.entity, reports, target.loaded_at)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return reports


def _load_extract(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    folder: ExtractFolder,
    digests: dict[str, FileDigest],
    mappings: tuple[ColumnMapping, ...],
    pinned: bool,
) -> tuple[list[FileReport], str, int]:
    """Load one extract in its own transaction on ``conn``. ``pinned``: extracts load
    concurrently with DuckDB's threads set to 1 by the caller; do not change the setting."""
    batch_id = f"{entity.source}.{entity.name}.{folder.extract_date:%Y%m%d}.{uuid.uuid4().hex[:12]}"
    previous = conn.execute(
        f"select count(*) from raw_meta.file_manifest where {_where_entity(entity)} "
        f"and extract_date = {_sql_value(folder.extract_date)} "
        "and status in ('loaded', 'rejected')"
    ).fetchone()
    replaced = int(previous[0]) if previous else 0
    target = Target(
        entity=entity,
        direct=True,
        batch_id=batch_id,
        extract_date=folder.extract_date,
        loaded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        files=tuple((f.relative, digests[f.relative].sha256) for f in folder.files),
    )
    row = conn.execute("select current_setting('threads')").fetchone()
    threads = int(row[0]) if row else 1
    load_threads = None if pinned else threads
    try:
        try:
            reports = _load(conn, target, folder, digests, mappings, load_threads)
        except RetryCarefully as exc:
            # Rolled back already. Rare: a broken JSON object, a CSV row the reader cannot
            # split strictly, a file DuckDB cannot read. Worth a line in the log.
            log.info(
                "ingest.careful_load extract=%s/%s/%s reason=%r",
                entity.source,
                entity.name,
                folder.extract_date,
                str(exc),
            )
            target = replace(target, direct=False)
            reports = _load(conn, target, folder, digests, mappings, load_threads)
    finally:
        if not pinned:  # after any rollback: not in an aborted one
            conn.execute(f"set threads = {threads}")
        # The checked table can hold millions of rows: free it before the next extract.
        for table in (CHECKED, "_ps_dups"):
            conn.execute(f"drop table if exists {table}")
    for report in reports:
        if report.status == "rejected":
            log.warning("ingest.file_rejected file=%s reason=%r", report.source_file, report.error)
        log.info(
            "ingest.file file=%s status=%s rows_read=%d rows_loaded=%d rows_quarantined=%d "
            "batch_id=%s",
            report.source_file,
            report.status,
            report.rows_read,
            report.rows_loaded,
            report.rows_quarantined,
            batch_id,
        )
    return reports, batch_id, replaced


# Extracts loaded at the same time, at most: one per DuckDB thread. A gzip stream is read by
# one thread, so one extract at a time leaves the other core idle.
MAX_CONCURRENT_EXTRACTS = 4

ExtractLoad = tuple[list[FileReport], str, int]


def _load_pending(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    pending: list[ExtractFolder],
    digests: dict[str, FileDigest],
    mappings: tuple[ColumnMapping, ...],
) -> Iterator[ExtractLoad]:
    """Load the extracts, yielding their results in the given order.

    One extract: on ``conn``, with the threads setting tuned per file. Several: up to one per
    DuckDB thread at the same time, each on its own cursor (its own session and transaction:
    concurrent appends to one table do not conflict in DuckDB) with the database-wide threads
    set to 1, so each gzip stream keeps one core busy without a second thread spinning on it.
    Each extract is still committed or rolled back on its own.
    """
    row = conn.execute("select current_setting('threads')").fetchone()
    threads = int(row[0]) if row else 1
    workers = max(1, min(threads, len(pending), MAX_CONCURRENT_EXTRACTS))
    if workers == 1:
        for folder in pending:
            yield _load_extract(conn, entity, folder, digests, mappings, pinned=False)
        return
    idle: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
    cursors = [conn.cursor() for _ in range(workers)]
    for cursor in cursors:
        cursor.execute("set TimeZone = 'UTC'")  # a session setting: each cursor needs it
        idle.put(cursor)

    def load(folder: ExtractFolder) -> ExtractLoad:
        cursor = idle.get()
        try:
            return _load_extract(cursor, entity, folder, digests, mappings, pinned=True)
        finally:
            idle.put(cursor)

    conn.execute("set threads = 1")
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
    try:
        futures = [pool.submit(load, folder) for folder in pending]
        for future in futures:
            yield future.result()
    finally:
        # On an error, extracts not started yet stay unloaded (like the ones after a failed
        # extract in a sequential load); the ones running finish and commit or roll back.
        pool.shutdown(wait=True, cancel_futures=True)
        for cursor in cursors:
            cursor.close()
        conn.execute(f"set threads = {threads}")


def _digests(
    conn: duckdb.DuckDBPyConnection, entity: Entity, files: list[LandingFile]
) -> dict[str, FileDigest]:
    """sha256 (and gzip check) per file. A file with the size and mtime (ns) it had when it was
    last digested is not read again, so re-ingesting an unchanged landing zone reads no file
    (the same test ``make`` and rsync trust; the landing sensor uses it too)."""
    prefix = f"{entity.source}/{entity.name}/"
    cached = {
        str(path): (int(size), int(mtime), FileDigest(str(sha), error))
        for path, size, mtime, sha, error in conn.execute(
            "select source_file, size_bytes, mtime_ns, file_sha256, gzip_error "
            f"from raw_meta.file_digests where starts_with(source_file, {_lit(prefix)})"
        ).fetchall()
    }
    digests: dict[str, FileDigest] = {}
    stale: list[LandingFile] = []
    for file in files:
        hit = cached.get(file.relative)
        if hit and hit[:2] == (file.size_bytes, file.mtime_ns):
            digests[file.relative] = hit[2]
        else:
            stale.append(file)
    # Hash (and gzip-check) in threads: hashlib and zlib release the GIL.
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
        digests.update(zip([f.relative for f in stale], pool.map(digest, stale), strict=True))
    if stale or len(cached) != len(files):
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rows = [
            (f.relative, f.size_bytes, f.mtime_ns, d.sha256, d.error, at)
            for f in files
            for d in (digests[f.relative],)
        ]
        conn.execute("begin transaction")
        try:
            conn.execute(
                f"delete from raw_meta.file_digests where starts_with(source_file, {_lit(prefix)})"
            )
            if rows:
                values = ", ".join("(" + ", ".join(map(_sql_value, r)) + ")" for r in rows)
                conn.execute(f"insert into raw_meta.file_digests values {values}")
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    return {f.relative: digests[f.relative] for f in files}


def _active_manifest(
    conn: duckdb.DuckDBPyConnection, entity: Entity
) -> dict[dt.date, dict[str, tuple[str, str, str | None, str | None]]]:
    """extract_date -> source_file -> (sha256, status, error, batch_id) of the current load."""
    out: dict[dt.date, dict[str, tuple[str, str, str | None, str | None]]] = {}
    for date, path, sha, status, error, batch in conn.execute(
        "select extract_date, source_file, file_sha256, status, error, batch_id "
        f"from raw_meta.file_manifest where {_where_entity(entity)} "
        "and status in ('loaded', 'rejected')"
    ).fetchall():
        out.setdefault(date, {})[path] = (sha, status, error, batch)
    return out


def _collect(
    report: EntityIngestReport,
    folders: list[ExtractFolder],
    pending: set[dt.date],
    active: dict[dt.date, dict[str, tuple[str, str, str | None, str | None]]],
    loads: Iterator[ExtractLoad],
    progress: ProgressCallback | None,
) -> None:
    """Add every folder's file reports in landing order: skipped ones from the manifest,
    loaded ones from ``loads`` (one result per pending folder, in the same order)."""
    for folder in folders:
        known = active.get(folder.extract_date, {})
        if folder.extract_date not in pending:
            for file in folder.files:
                sha, status, error, batch = known[file.relative]
                skipped = FileReport(
                    file.relative,
                    folder.extract_date,
                    "skipped" if status == "loaded" else "still_rejected",
                    file.file_format,
                    file.size_bytes,
                    sha,
                    error=error,
                    batch_id=batch,
                )
                report.files.append(skipped)
                if progress:
                    progress(skipped)
            continue
        old_batches = sorted({v[3] for v in known.values() if v[3]})
        reports, batch_id, replaced = next(loads)
        for file_report in reports:
            if progress:
                progress(file_report)
        report.files.extend(reports)
        report.batch_ids.append(batch_id)
        report.files_replaced += replaced
        report.replaced_batch_ids.extend(old_batches)


def resolve_entity(entity: Entity | str) -> Entity:
    """Accept an Entity or 'source/entity'."""
    if isinstance(entity, Entity):
        return entity
    source, _, name = entity.partition("/")
    found = get_entity(source, name)
    if found is None:
        raise ValueError(
            f"unknown entity {entity!r}; expected '<source>/<entity>' from extracts.py"
        )
    return found


def ingest_entity(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: Entity | str,
    progress: ProgressCallback | None = None,
    mappings: tuple[ColumnMapping, ...] | None = None,
) -> EntityIngestReport:
    """Load every new or changed extract folder of one entity; see the module docstring."""
    entity = resolve_entity(entity)
    mappings = load_mappings() if mappings is None else mappings
    ensure_raw_schema(conn)
    conn.execute("set TimeZone = 'UTC'")  # naive timestamps in extracts are UTC
    scan = scan_landing(settings.landing_dir, entity)
    report = EntityIngestReport(entity.source, entity.name, landing_problems=scan.problems)
    folders = scan.for_entity(entity)
    files: list[LandingFile] = [f for folder in folders for f in folder.files]
    digests = _digests(conn, entity, files)
    active = _active_manifest(conn, entity)
    pending: list[ExtractFolder] = []
    for folder in folders:
        current = {f.relative: digests[f.relative].sha256 for f in folder.files}
        known = active.get(folder.extract_date, {})
        if not current or current != {path: v[0] for path, v in known.items()}:
            pending.append(folder)
    loads = _load_pending(conn, entity, pending, digests, mappings)
    try:
        _collect(report, folders, {f.extract_date for f in pending}, active, loads, progress)
    finally:
        loads.close()  # on an error: stop the extracts not started yet, restore the threads

    log.info(
        "ingest.entity entity=%s/%s files_loaded=%d files_rejected=%d files_skipped=%d "
        "rows_read=%d rows_loaded=%d rows_quarantined=%d",
        entity.source,
        entity.name,
        report.files_loaded,
        report.files_rejected,
        report.files_skipped,
        report.rows_read,
        report.rows_loaded,
        report.rows_quarantined,
    )
    return report
