"""Read one landing file into the checked table, or say why it cannot be read.

Every reader turns its file into rows of text (contract columns as varchar, empty -> null)
with an exact 1-based data-row number, plus the file's malformed rows with their original
text, and hands that SELECT to ``checked.insert_checked``: one shape whatever the format,
cast and validated in the same scan of the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from isal import isal_zlib  # ISA-L inflate: same API as zlib, about twice as fast

from orchestration.extracts import Entity
from orchestration.ingest.checked import (
    RetryCarefully,
    Target,
    delete_file_rows,
    execute,
    extra_keys,
    file_rows,
    insert_checked,
    insert_malformed,
)
from orchestration.ingest.landing import LandingFile
from orchestration.ingest.mappings import ColumnMapping, find_mapping

HEAD_BYTES = 1 << 16
_CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
NOT_GZIP = "named .gz but is not gzip-compressed"

_FILE = "_ps_file"
_REJ = "_ps_rejects"
_REJ_SCAN = "_ps_reject_scans"

XAPI_EXT = "https://partnerscore.dev/xapi/"


class FileRejected(Exception):
    """The whole file cannot be loaded; the message names the problem for a person."""


@dataclass
class FileDigest:
    sha256: str
    error: str | None = None  # set when a gzip stream is corrupt or truncated


@dataclass
class StagedFile:
    rows_read: int
    extra_columns: list[str] = field(default_factory=list)
    mapping: str | None = None


def digest(file: LandingFile) -> FileDigest:
    """sha256 of the bytes, and for .gz a full decompression check (DuckDB reads a truncated
    gzip stream without complaint, so it would silently load half a file)."""
    sha = hashlib.sha256()
    inflater = isal_zlib.decompressobj(wbits=31) if file.compressed else None
    error = None
    with file.path.open("rb") as fh:
        first = True
        while chunk := fh.read(_CHUNK):
            if inflater is not None and first and not chunk.startswith(GZIP_MAGIC):
                error = NOT_GZIP
            first = False
            sha.update(chunk)
            if inflater is None or error:
                continue
            try:
                data = chunk
                while data:
                    inflater.decompress(data, 1 << 16)
                    data = inflater.unconsumed_tail
                    if inflater.eof:  # multi-member gzip: start the next member
                        data = inflater.unused_data + data
                        inflater = isal_zlib.decompressobj(wbits=31) if data else inflater
                        if not data:
                            break
            except isal_zlib.error as exc:
                error = f"corrupt gzip data ({exc})"
    if inflater is not None and not error and not inflater.eof:
        error = "truncated gzip file (the compressed stream ends early; re-deliver the file)"
    return FileDigest(sha.hexdigest(), error)


def _head(file: LandingFile) -> bytes:
    if file.compressed:
        with file.path.open("rb") as fh:
            if fh.read(2) != GZIP_MAGIC:
                raise FileRejected(NOT_GZIP)
        try:
            with gzip.open(file.path, "rb") as fh:
                return fh.read(HEAD_BYTES)
        except (EOFError, OSError, zlib.error) as exc:
            raise FileRejected(f"unreadable gzip file ({exc})") from exc
    with file.path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def _head_text(file: LandingFile) -> str:
    """First bytes as text, after checking the encoding is UTF-8 (a UTF-8 BOM is fine)."""
    head = _head(file)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected("is UTF-16 encoded (byte-order mark found); expected UTF-8")
    if b"\x00" in head:
        raise FileRejected("contains NUL bytes (UTF-16 or binary data); expected UTF-8 text")
    try:
        # final=False: a multi-byte character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise FileRejected(
            f"is not UTF-8 encoded (byte 0x{head[exc.start]:02x} on line {line}); "
            "re-export the file as UTF-8"
        ) from exc
    return text.removeprefix("\ufeff")


def _q(text: str) -> str:
    """SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text_expr(expr: str) -> str:
    return f"nullif({expr}, '')"


def _mapped(entity: Entity, column: str, source_expr: str, mapping: ColumnMapping | None) -> str:
    """Source text -> contract text: value translation and non-ISO date formats."""
    expr = _text_expr(source_expr)
    if mapping is None:
        return expr
    values = mapping.values.get(column)
    if values:
        whens = " ".join(f"when {_q(k)} then {_q(v)}" for k, v in values.items())
        expr = f"(case {expr} {whens} else {expr} end)"
    fmt = mapping.formats.get(column)
    if fmt:
        out = "%Y-%m-%d" if entity.column(column).type == "date" else "%Y-%m-%dT%H:%M:%S"
        # Unparseable text stays as is, so the caster quarantines it with its value.
        expr = f"coalesce(strftime(try_strptime({expr}, {_q(fmt)}), {_q(out)}), {expr})"
    return expr


def _drop_rejects(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"drop table if exists {_REJ}")
    conn.execute(f"drop table if exists {_REJ_SCAN}")


def _reject_options() -> str:
    return f"store_rejects = true, rejects_table = '{_REJ}', rejects_scan = '{_REJ_SCAN}'"


def _check_encoding_rejects(conn: duckdb.DuckDBPyConnection, header_lines: int) -> None:
    bad = conn.execute(
        f"select min(line) from {_REJ} where error_type = 'INVALID ENCODING'"
    ).fetchone()
    if bad and bad[0] is not None:
        raise FileRejected(
            f"is not UTF-8 encoded (invalid byte sequence on data row {bad[0] - header_lines}); "
            "re-export the file as UTF-8"
        )


def _append_malformed(
    conn: duckdb.DuckDBPyConnection, target: Target, file_index: int, header_lines: int
) -> None:
    """Rows DuckDB's reader could not split (wrong field count, bad quoting) are checked too,
    with their line number and original text, to be quarantined."""
    insert_malformed(
        conn,
        target,
        file_index,
        f"""
        select
            line - {header_lines} as _row,
            'malformed row: ' || lower(first(error_type order by column_idx))
                || ' (' || first(error_message order by column_idx) || ')' as _malformed,
            first(csv_line order by column_idx) as _original,
        from {_REJ}
        group by line
        """,
    )


def _renumber_sql(conn: duckdb.DuckDBPyConnection, header_lines: int) -> str:
    """Map the reader's ordinal of good rows to the true data-row number by skipping the
    rejected lines (rare; an asof join keeps it vectorized). Without rejected lines the
    ordinal is the row number and the join is skipped."""
    rejected = conn.execute(f"select count(*) from {_REJ}").fetchone()
    if not rejected or not rejected[0]:
        return f"select * exclude (ordinality), ordinality as _row from {_FILE}"
    return f"""
        with rej as (
            select distinct line - {header_lines} as r from {_REJ}
        ),
        gaps as (
            -- consecutive rejected lines share good_before; keep the largest count
            select good_before, max(n) as n
            from (
                select r - row_number() over (order by r) as good_before,
                    row_number() over (order by r) as n
                from rej
            )
            group by good_before
        )
        select f.* exclude (ordinality), f.ordinality + coalesce(g.n, 0) as _row
        from {_FILE} as f
        asof left join gaps as g on f.ordinality > g.good_before
    """


def stage_file(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    file: LandingFile,
    file_index: int,
    mappings: tuple[ColumnMapping, ...],
) -> StagedFile:
    """Check one file's rows into the target as file ``file_index``; raise FileRejected if the
    file is unusable (its rows are then removed again), or RetryCarefully (direct target)."""
    entity = target.entity
    try:
        if file.file_format == "csv":
            staged = _stage_csv(conn, target, file, file_index, mappings)
        elif file.file_format == "jsonl":
            staged = _stage_jsonl(conn, target, file, file_index)
        elif file.file_format == "xapi":
            staged = _stage_xapi(conn, target, file, file_index)
        elif file.file_format == "parquet":
            staged = _stage_parquet(conn, target, file, file_index, mappings)
        else:
            raise FileRejected(f"unsupported format {file.file_format} for {entity.name}")
    except RetryCarefully:
        raise  # the transaction is aborted: its rollback removes everything
    except FileRejected:
        delete_file_rows(conn, target, file_index)
        _cleanup(conn)
        raise
    _cleanup(conn)
    return staged


def _cleanup(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"drop table if exists {_FILE}")
    _drop_rejects(conn)


def _check_header(
    entity: Entity, header: list[str], mappings: tuple[ColumnMapping, ...]
) -> tuple[ColumnMapping | None, dict[str, str], list[str]]:
    """(mapping, contract column -> source column, extra source columns) or FileRejected."""
    if any(not h.strip() for h in header):
        pos = next(i for i, h in enumerate(header, 1) if not h.strip())
        raise FileRejected(f"header has an empty column name at position {pos}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FileRejected(f"header repeats column(s) {', '.join(dupes)}")
    mapping = find_mapping(f"{entity.source}/{entity.name}", header, mappings)
    present: dict[str, str] = {}
    for col in entity.columns:
        src = mapping.source_for(col.name) if mapping else col.name
        if src in header:
            present[col.name] = src
    missing = [c for c in entity.required_columns if c not in present]
    if missing:
        raise FileRejected(
            f"missing required column(s) {', '.join(missing)}; found: {', '.join(header)}"
        )
    extras = [h for h in header if h not in set(present.values())]
    return mapping, present, extras


def _insert_rows(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    file_index: int,
    present: dict[str, str],
    extras: list[str],
    mapping: ColumnMapping | None,
    row_source: str,
) -> None:
    """Check rows of a tabular source (CSV, Parquet) whose columns are named by the header."""
    entity = target.entity
    exprs = [
        f"{_mapped(entity, c.name, _ident(present[c.name]), mapping)} as {_ident(c.name)}"
        if c.name in present
        else f"null::varchar as {_ident(c.name)}"
        for c in entity.columns
    ]
    # Unexpected columns are kept as {name: text}; null when the row has no value in any.
    extra = (
        f"case when coalesce({', '.join(_text_expr(_ident(e)) for e in extras)}) is not null "
        "then json_object(" + ", ".join(f"{_q(e)}, {_ident(e)}" for e in extras) + ") end"
        if extras
        else "null::json"
    )
    insert_checked(
        conn,
        target,
        file_index,
        f"""
        select _row, {", ".join(exprs)}, {extra} as _extra_columns,
            null::varchar as _malformed, null::varchar as _original,
        from ({row_source})
        """,
    )


def _stage_csv(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    file: LandingFile,
    file_index: int,
    mappings: tuple[ColumnMapping, ...],
) -> StagedFile:
    text = _head_text(file)
    first = text.lstrip("\r\n")[:1]
    if first in ("{", "["):
        raise FileRejected("looks like JSON, not CSV; check the file extension")
    try:
        header = next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error) as exc:
        raise FileRejected("is empty or has no CSV header row") from exc
    mapping, present, extras = _check_header(target.entity, header, mappings)
    columns = "{" + ", ".join(f"{_q(h)}: 'VARCHAR'" for h in header) + "}"
    scan = f"""
        read_csv(
            {_q(str(file.path))}, columns = {columns}, header = true, auto_detect = false,
            delim = ',', quote = '"', escape = '"', strict_mode = true,
            compression = '{"gzip" if file.compressed else "none"}',
            {_reject_options()}
        ) with ordinality
    """
    # Fast: rows stream straight from the file into the checked table. If the reader rejected
    # a row (row numbers after it shift) or failed, read into a temp table and renumber.
    _drop_rejects(conn)
    direct = f"select * exclude (ordinality), ordinality as _row from {scan}"
    try:
        _insert_rows(conn, target, file_index, present, extras, mapping, direct)
        rejected = conn.execute(f"select count(*) from {_REJ}").fetchone()
        if not rejected or not rejected[0]:
            return _finish(conn, target, file_index, extras, mapping)
    except duckdb.Error:
        pass  # careful load only: a direct load raised RetryCarefully instead
    delete_file_rows(conn, target, file_index)
    _drop_rejects(conn)
    try:
        execute(conn, target, f"create or replace temp table {_FILE} as select * from {scan}")
    except duckdb.Error as exc:
        raise FileRejected(f"unreadable as CSV ({str(exc).splitlines()[0]})") from exc
    _check_encoding_rejects(conn, 1)
    _insert_rows(conn, target, file_index, present, extras, mapping, _renumber_sql(conn, 1))
    _append_malformed(conn, target, file_index, 1)
    return _finish(conn, target, file_index, extras, mapping)


def _finish(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    file_index: int,
    extras: list[str],
    mapping: ColumnMapping | None,
) -> StagedFile:
    rows = file_rows(conn, target, file_index)
    return StagedFile(rows, extras, mapping.name if mapping else None)


def _lines_scan(file: LandingFile) -> str:
    return rf"""
        read_csv(
            {_q(str(file.path))}, columns = {{'line': 'VARCHAR'}}, header = false,
            auto_detect = false, delim = E'\x1f', quote = '', escape = '',
            compression = '{"gzip" if file.compressed else "none"}',
            {_reject_options()}
        ) with ordinality
    """


def _read_lines(conn: duckdb.DuckDBPyConnection, target: Target, file: LandingFile) -> None:
    """Each line as one text value: JSON never contains a raw 0x1f, so it is a safe delimiter,
    and invalid JSON on one line is caught on that line instead of failing the file."""
    _drop_rejects(conn)
    try:
        execute(
            conn,
            target,
            f"create or replace temp table {_FILE} as select * from {_lines_scan(file)}",
        )
    except duckdb.Error as exc:
        raise FileRejected(f"unreadable as JSON lines ({str(exc).splitlines()[0]})") from exc
    _check_encoding_rejects(conn, 0)


def _first_objects(text: str, limit: int = 200) -> list[dict]:
    """Parse the first complete lines of the sample; the first must be a JSON object."""
    lines = [ln for ln in text.splitlines()[:-1] or text.splitlines() if ln.strip()][:limit]
    if not lines:
        raise FileRejected("is empty")
    objects = []
    for number, line in enumerate(lines, 1):
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            if number == 1:
                raise FileRejected("is not JSON lines: line 1 is not a JSON object")
            continue
        objects.append(value)
    return objects


def _json_lines_source(parse: str, select: str, rows: str, careful: bool) -> str:
    """Text rows from JSON lines: ``parse`` turns ``line`` into ``j``, ``select`` reads the
    contract columns from ``j``. Each line is parsed once, and only if it starts like an
    object; the reason is worked out for bad lines only.

    Not ``careful``: a line that starts like an object but is not valid JSON fails the
    statement (the caller then checks again carefully). ``careful``: try() turns it into null,
    at a cost on every line.
    """
    looks_like_object = "(starts_with(line, '{') or starts_with(ltrim(line), '{'))"
    parsed = f"try({parse})" if careful else parse
    return f"""
        select
            _row, {select},
            case
                when line is null then 'malformed row: empty line'
                when j is null then
                    case when trim(line) = '' then 'malformed row: empty line'
                        when json_valid(line) then 'malformed row: not a JSON object'
                        else 'malformed row: not valid JSON' end
            end as _malformed,
            case when _malformed is not null then line end as _original,
        from (
            select _row, line, case when {looks_like_object} then {parsed} end as j
            from ({rows})
        )
    """


def _stage_json_lines(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    file: LandingFile,
    file_index: int,
    source: Callable[[str, bool], str],
) -> None:
    """Check the file's lines with the source that ``source(rows, careful)`` builds over them.

    The lines stream straight from the file, parsed optimistically. If a line that looks
    like an object is not valid JSON, or the reader rejected a line (encoding, length; row
    numbers would shift) or failed, the lines are read into a temp table (exact row numbers
    around rejected lines) and checked again, carefully.
    """
    _drop_rejects(conn)
    direct = f"select line, ordinality as _row from {_lines_scan(file)}"
    try:
        insert_checked(conn, target, file_index, source(direct, False))
        rejected = conn.execute(f"select count(*) from {_REJ}").fetchone()
        if not rejected or not rejected[0]:
            return
    except duckdb.Error:
        pass  # careful load only: a direct load raised RetryCarefully instead
    delete_file_rows(conn, target, file_index)
    _read_lines(conn, target, file)
    insert_checked(conn, target, file_index, source(_renumber_sql(conn, 0), True))
    _append_malformed(conn, target, file_index, 0)


def _stage_jsonl(
    conn: duckdb.DuckDBPyConnection, target: Target, file: LandingFile, file_index: int
) -> StagedFile:
    entity = target.entity
    objects = _first_objects(_head_text(file))
    seen = {k for obj in objects for k in obj}
    missing = [c for c in entity.required_columns if c not in seen]
    if missing:
        raise FileRejected(
            f"missing required column(s) {', '.join(missing)}; found: {', '.join(sorted(seen))}"
        )
    cols = [c.name for c in entity.columns]
    struct = json.dumps({c.name: "JSON" if c.type == "json" else "VARCHAR" for c in entity.columns})
    known = "[" + ", ".join(_q(c) for c in cols) + "]"
    # Extra keys: a line has one when it has more keys than contract keys with a value. That
    # count is cheap; the list of extra keys (a lambda per line) is built only for those lines.
    # A contract key given as null also counts, which at worst builds an empty list.
    with_value = " + ".join(f"(j.{_ident(c)} is not null)::int" for c in cols)
    extra_key_list = (
        f"case when j is not null and len(json_keys(line)) > {with_value} "
        f"then list_filter(json_keys(line), k -> not list_contains({known}, k)) end"
    )
    extra_values = (
        "to_json(map_from_entries(list_transform(_xk, k -> struct_pack("
        "k := k, v := json_extract_string(line, '$.\"' || k || '\"')))))"
    )
    select = ", ".join(f"{_text_expr(f'j.{_ident(c)}::varchar')} as {_ident(c)}" for c in cols)

    def source(rows: str, careful: bool) -> str:
        inner = _json_lines_source(f"json_transform(line, {_q(struct)})", "line, j", rows, careful)
        return f"""
            select _row, {select},
                case when len(_xk) > 0 then {extra_values} end as _extra_columns,
                _malformed, _original,
            from (
                select *, case when _malformed is null then {extra_key_list} end as _xk
                from ({inner})
            )
        """

    _stage_json_lines(conn, target, file, file_index, source)
    return _finish(conn, target, file_index, extra_keys(conn, target, file_index), None)


# xAPI statement path per contract column (shape agreed in the team decisions).
_XAPI_PATHS: dict[str, str] = {
    "record_id": "$.id",
    "learner_id": "$.actor.account.name",
    "partner_id": f'$.context.extensions."{XAPI_EXT}partner-id"',
    "course_id": "$.object.id",
    "course_name": '$.object.definition.name."en-US"',
    "course_kind": f'$.object.definition.extensions."{XAPI_EXT}course-kind"',
    "verb": "$.verb.id",
    "score": "$.result.score.scaled",
    "occurred_at": "$.timestamp",
    "certification_expires_date": f'$.context.extensions."{XAPI_EXT}certification-expires"',
}


def _stage_xapi(
    conn: duckdb.DuckDBPyConnection, target: Target, file: LandingFile, file_index: int
) -> StagedFile:
    entity = target.entity
    objects = _first_objects(_head_text(file))
    if not all(k in objects[0] for k in ("id", "actor", "verb", "object")):
        raise FileRejected(
            "is not xAPI statements: line 1 lacks id, actor, verb or object; "
            f"found: {', '.join(sorted(objects[0]))}"
        )
    cols = [c.name for c in entity.columns]
    paths = "[" + ", ".join(_q(_XAPI_PATHS[c]) for c in cols) + "]"
    exprs = []
    for i, col in enumerate(cols, 1):
        v = f"nullif(j[{i}], '')"
        if col in ("course_id", "verb"):
            v = f"nullif(regexp_extract({v}, '[^/]*$'), '')"  # last segment of the IRI
        elif col == "score":
            # scaled (0..1) -> percent; text that is not a number is kept to be quarantined
            v = f"coalesce(round(try_cast({v} as double) * 100, 6)::varchar, {v})"
        exprs.append(f"{v} as {_ident(col)}")

    def source(rows: str, careful: bool) -> str:
        return _json_lines_source(
            f"json_extract_string(line, {paths})",
            f"{', '.join(exprs)}, null::json as _extra_columns",
            rows,
            careful,
        )

    _stage_json_lines(conn, target, file, file_index, source)
    return _finish(conn, target, file_index, [], None)


def _stage_parquet(
    conn: duckdb.DuckDBPyConnection,
    target: Target,
    file: LandingFile,
    file_index: int,
    mappings: tuple[ColumnMapping, ...],
) -> StagedFile:
    path = _q(str(file.path))
    with file.path.open("rb") as fh:
        start = fh.read(4)
        fh.seek(max(0, file.size_bytes - 4))
        end = fh.read(4)
    if start != b"PAR1" or end != b"PAR1":
        raise FileRejected(
            "is not a Parquet file (no PAR1 magic bytes at its start and end); "
            "check the file extension"
        )
    try:
        header = [
            r[0] for r in conn.execute(f"describe select * from read_parquet({path})").fetchall()
        ]
    except duckdb.Error as exc:
        if target.direct:
            raise RetryCarefully(str(exc).splitlines()[0]) from exc
        raise FileRejected(f"is not a readable Parquet file ({str(exc).splitlines()[0]})") from exc
    mapping, present, extras = _check_header(target.entity, header, mappings)
    select = ", ".join(f"{_ident(h)}::varchar as {_ident(h)}" for h in header)
    source = (
        f"select file_row_number + 1 as _row, {select} "
        f"from read_parquet({path}, file_row_number = true)"
    )
    try:
        _insert_rows(conn, target, file_index, present, extras, mapping, source)
    except duckdb.Error as exc:
        raise FileRejected(f"is not a readable Parquet file ({str(exc).splitlines()[0]})") from exc
    return _finish(conn, target, file_index, extras, mapping)


def path_of(file: LandingFile) -> Path:
    return file.path
