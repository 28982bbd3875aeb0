"""Load landing extracts into raw tables: vectorized DuckDB SQL, one transaction per extract.

The unit of work is the extract folder ``landing/<source>/<entity>/<extract_date>/``.
A folder whose files (path + sha256) match the manifest is skipped; a changed or
extended folder is reloaded as a whole under a new ``_batch_id`` and the manifest
rows of the previous load become 'replaced'. Every row read is either loaded or
quarantined with a reason; a file that cannot be read at all is 'rejected'.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import duckdb

from orchestration.extracts import Entity, get_entity
from orchestration.ingest.checked import CHECKED, create_checked
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


def _check_and_swap(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    folder: ExtractFolder,
    shas: list[str],
    batch_id: str,
    loaded_at: dt.datetime,
) -> dict[int, tuple[int, int, int]]:
    """Quarantine what failed its checks and atomically replace the extract's rows.

    Returns rows read/loaded/quarantined per file index (position in ``folder.files``).
    """
    key = entity.key
    # Keys are almost always unique: a distinct count proves it without the group-by below.
    unique = conn.execute(
        f"select count(_t_{key}) = count(distinct _t_{key}) from {CHECKED} where _valid"
    ).fetchone()
    has_dups = not (unique and unique[0])
    files = "[" + ", ".join(_lit(f.relative) for f in folder.files) + "]"
    if not has_dups:  # the common case: skip the join over every row
        conn.execute(
            "create or replace temp view _ps_final as "
            f"select *, null::varchar as _duplicate, _valid as _load from {CHECKED}"
        )
    else:
        _final_with_duplicates(conn, key, files)
    raw_cols = list(raw_columns(entity))
    contract = ", ".join(f"_t_{c.name}" for c in entity.columns)
    # A duplicate is a valid row, so its text was not kept: quarantine its typed values.
    typed_text = ", ".join(f"{c.name} := _t_{c.name}::varchar" for c in entity.columns)
    sha_list = "[" + ", ".join(_lit(s) for s in shas) + "]"
    date = f"date {_lit(folder.extract_date.isoformat())}"
    at = f"timestamp {_lit(loaded_at.isoformat(sep=' '))}"
    conn.execute("begin transaction")
    try:
        conn.execute(f"delete from {entity.raw_table} where _extract_date = {date}")
        conn.execute(
            f"delete from raw_meta.quarantined_rows where {_where_entity(entity)} "
            f"and extract_date = {date}"
        )
        # One insert per file, so the file name and hash are constants rather than a lookup
        # per row; the checked table holds each file's rows together, so each scan is short.
        for index, (file, sha) in enumerate(zip(folder.files, shas, strict=True)):
            conn.execute(
                f"insert into {entity.raw_table} ({', '.join(raw_cols)}) "
                f"select {contract}, {_lit(file.relative)}, _source_row, {date}, {_lit(sha)}, "
                f"{at}, _extra_columns, {_lit(batch_id)} "
                f"from _ps_final where _file = {index} and _load"
            )
        conn.execute(
            f"""
            insert into raw_meta.quarantined_rows
            select
                {_lit(entity.source)}, {_lit(entity.name)}, {files}[_file + 1], _source_row,
                {date},
                case when _malformed is null then coalesce(_problems[1].column, '{key}') end,
                coalesce(
                    _malformed,
                    nullif(array_to_string(list_transform(_problems, x -> x.reason), '; '), ''),
                    _duplicate
                ),
                coalesce(_original, to_json(struct_pack({typed_text}))::varchar),
                {sha_list}[_file + 1], {_lit(batch_id)}, {at},
            from _ps_final
            where not _load
            """
        )
        counts = {
            int(row[0]): (int(row[1]), int(row[2]), int(row[3]))
            for row in conn.execute(
                "select _file, count(*), count(*) filter (where _load), "
                "count(*) filter (where not _load) from _ps_final group by all"
            ).fetchall()
        }
        conn.execute(
            "update raw_meta.file_manifest set status = 'replaced' "
            f"where {_where_entity(entity)} and extract_date = {date} "
            "and status in ('loaded', 'rejected')"
        )
        return counts
    except BaseException:
        conn.execute("rollback")
        raise


def _final_with_duplicates(conn: duckdb.DuckDBPyConnection, key: str, files: str) -> None:
    """Later occurrences of a key among valid rows are quarantined, naming the first row."""
    # First occurrence of each duplicated key among valid rows (the extract spans all files).
    conn.execute(
        f"""
        create or replace temp table _ps_dups as
        select _t_{key} as k, min({{'f': _file, 'r': _source_row}}) as first
        from {CHECKED}
        where _valid
        group by _t_{key}
        having count(*) > 1
        """
    )
    conn.execute(
        f"""
        create or replace temp view _ps_final as
        select
            c.*,
            case when d.k is not null
                and (c._file, c._source_row) <> (d.first.f, d.first.r)
                then 'duplicate key {key} ''' || c._t_{key} || ''': first seen in row '
                    || d.first.r
                    || case when d.first.f <> c._file
                        then ' of ' || {files}[d.first.f + 1] else '' end
            end as _duplicate,
            c._valid and _duplicate is null as _load,
        from {CHECKED} as c
        left join _ps_dups as d on c._valid and c._t_{key} = d.k
        """
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


def _load_extract(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    folder: ExtractFolder,
    digests: dict[str, FileDigest],
    mappings: tuple[ColumnMapping, ...],
    progress: ProgressCallback | None,
) -> tuple[list[FileReport], str, int]:
    batch_id = f"{entity.source}.{entity.name}.{folder.extract_date:%Y%m%d}.{uuid.uuid4().hex[:12]}"
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    create_checked(conn, entity)
    reports: list[FileReport] = []
    for index, file in enumerate(folder.files):
        d = digests[file.relative]
        report = FileReport(
            file.relative,
            folder.extract_date,
            "loaded",
            file.file_format,
            file.size_bytes,
            d.sha256,
        )
        report.batch_id = batch_id
        try:
            if file.file_format not in entity.formats:
                raise FileRejected(
                    f"{file.file_format} files are not accepted for {entity.source}/"
                    f"{entity.name}; expected {', '.join(entity.formats)}"
                )
            if d.error:
                raise FileRejected(d.error)
            staged = stage_file(conn, entity, file, index, mappings)
            report.rows_read = staged.rows_read
            report.extra_columns = staged.extra_columns
            report.mapping = staged.mapping
        except FileRejected as exc:
            report.status = "rejected"
            report.error = f"landing/{file.relative}: {exc}"
            log.warning("ingest.file_rejected file=%s reason=%r", file.relative, str(exc))
        reports.append(report)
    previous = conn.execute(
        f"select count(*) from raw_meta.file_manifest where {_where_entity(entity)} "
        f"and extract_date = {_sql_value(folder.extract_date)} "
        "and status in ('loaded', 'rejected')"
    ).fetchone()
    replaced = int(previous[0]) if previous else 0
    try:
        shas = [r.sha256 for r in reports]
        # opens a transaction
        counts = _check_and_swap(conn, entity, folder, shas, batch_id, loaded_at)
        try:
            for index, report in enumerate(reports):
                if report.status == "loaded":
                    read, loaded, quarantined = counts.get(index, (0, 0, 0))
                    if read != report.rows_read:
                        raise RuntimeError(
                            f"{report.source_file}: staged {report.rows_read} rows but checked "
                            f"{read}; nothing was committed"
                        )
                    report.rows_loaded, report.rows_quarantined = loaded, quarantined
            _write_manifest(conn, entity, reports, loaded_at)
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    finally:
        # The checked table can hold millions of rows: free it before the next extract.
        conn.execute("drop view if exists _ps_final")
        for table in (CHECKED, "_ps_dups"):
            conn.execute(f"drop table if exists {table}")
    for report in reports:
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
        if progress:
            progress(report)
    return reports, batch_id, replaced


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
    # Hash (and gzip-check) in threads: hashlib and zlib release the GIL.
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
        digests = dict(zip([f.relative for f in files], pool.map(digest, files), strict=True))
    active = _active_manifest(conn, entity)
    for folder in folders:
        current = {f.relative: digests[f.relative].sha256 for f in folder.files}
        known = active.get(folder.extract_date, {})
        if current and current == {path: v[0] for path, v in known.items()}:
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
        reports, batch_id, replaced = _load_extract(
            conn, entity, folder, digests, mappings, progress
        )
        report.files.extend(reports)
        report.batch_ids.append(batch_id)
        report.files_replaced += replaced
        report.replaced_batch_ids.extend(old_batches)
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
