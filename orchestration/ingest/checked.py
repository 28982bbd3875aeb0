"""Cast and validate rows while they are read, and write them where the load puts them.

Readers turn a file into text rows (contract columns as varchar, empty -> null) and hand that
SELECT to ``insert_checked``, which casts, validates and writes in the same scan of the file.
The delivered text is kept only for the rows that fail, to quarantine them with it.

Two targets, one shape of SQL:

* direct (the usual case): rows go straight into the raw table, inside the extract's
  transaction. A row that fails is written with the batch's "bad" marker and its verdict
  (``column``, ``reason``, ``original`` text, ``extra`` columns) in ``_extra_columns``;
  before commit those rows move to ``raw_meta.quarantined_rows``. Clean rows are written once.
* careful: rows go to a temp table first. Used when something in the direct load raised an
  error, which aborts a DuckDB transaction: the careful load runs the readers' fallbacks
  outside any transaction and copies the rows into the raw table afterwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from orchestration.extracts import DUCKDB_TYPES, Column, Entity
from orchestration.ingest.schema import raw_columns

CHECKED = "_ps_checked"

_LABELS = {
    "integer": "an integer",
    "double": "a number",
    "decimal": "a decimal",
    "boolean": "a boolean (true/false/1/0/yes/no)",
    "date": "an ISO date (YYYY-MM-DD)",
    "timestamp": "an ISO 8601 timestamp",
    "json": "valid JSON",
}


class RetryCarefully(Exception):
    """A statement failed inside the direct load's transaction; load the extract carefully."""


def lit(value: object) -> str:
    """SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Target:
    """Where one extract's checked rows are written."""

    entity: Entity
    direct: bool
    batch_id: str
    extract_date: dt.date
    loaded_at: dt.datetime
    files: tuple[tuple[str, str], ...]  # (path relative to landing, sha256) per file index

    @property
    def bad_batch_id(self) -> str:
        """Marks failed rows in the raw table until they move to quarantine (never committed)."""
        return self.batch_id + ":quarantine"

    @property
    def date_sql(self) -> str:
        return f"date {lit(self.extract_date.isoformat())}"

    @property
    def at_sql(self) -> str:
        return f"timestamp {lit(self.loaded_at.isoformat(sep=' '))}"

    def file_filter(self, file_index: int) -> str:
        """SQL condition selecting one file's rows (loaded or failed) in the target table."""
        if not self.direct:
            return f"_file = {int(file_index)}"
        return (
            f"_extract_date = {self.date_sql} "
            f"and _source_file = {lit(self.files[file_index][0])} "
            f"and _batch_id in ({lit(self.batch_id)}, {lit(self.bad_batch_id)})"
        )

    @property
    def table(self) -> str:
        return self.entity.raw_table if self.direct else CHECKED


def _typed(col: Column) -> str:
    """Text -> contract type; null when the text does not parse."""
    name = ident(col.name)
    v = f"trim({name})"
    match col.type:
        case "varchar":
            return name
        case "boolean":
            return (
                f"case lower({v}) when 'true' then true when '1' then true when 'yes' then true "
                f"when 'false' then false when '0' then false when 'no' then false end"
            )
        case "date":
            return f"case when length({v}) = 10 then try_cast({v} as date) end"
        case "timestamp":
            return timestamp_cast(v)
        case "json":
            return f"try_cast({name} as json)"  # validates while casting: one parse
        case _:
            return f"try_cast({v} as {DUCKDB_TYPES[col.type]})"


def timestamp_cast(text: str) -> str:
    """Text -> UTC timestamp. timestamptz honours Z and offsets, and naive text is read in the
    session zone (UTC); but it costs a time-zone conversion per row, so the usual UTC form
    ending in 'Z' takes the plain cast, which gives the same instant for it."""
    return (
        f"case when ends_with({text}, 'Z') then try_cast({text} as timestamp) "
        f"else timezone('UTC', try_cast({text} as timestamptz)) end"
    )


def _problem(entity: Entity, col: Column) -> str:
    name = ident(col.name)
    if col.name == entity.key:
        missing = f"'missing required key {col.name}'"
    elif col.required:
        missing = f"'{col.name}: required value is missing'"
    else:
        missing = "null"
    bad = (
        "null"
        if col.type == "varchar"
        else f"'{col.name}: ''' || left({name}, 200) || ''' is not {_LABELS[col.type]}'"
    )
    return (
        f"{{'column': '{col.name}', 'reason': case when {name} is null then {missing} "
        f"when {ident('_t_' + col.name)} is null then {bad} end}}"
    )


def create_checked(conn: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """The careful load's temp table (typed values, extras, verdict per row)."""
    typed = ", ".join(f"{ident('_t_' + c.name)} {DUCKDB_TYPES[c.type]}" for c in entity.columns)
    conn.execute(
        f"""
        create or replace temp table {CHECKED} (
            _file integer, _source_row bigint, {typed}, _extra_columns json, _bad json,
            _valid boolean
        )
        """
    )


def _write(target: Target, file_index: int, select: str) -> str:
    """INSERT of rows shaped (_row, _t_<col>..., _extra_columns, _bad, _valid) into the target."""
    if not target.direct:
        return f"insert into {CHECKED} select {int(file_index)}, * from ({select})"
    relative, sha = target.files[file_index]
    typed = ", ".join(ident("_t_" + c.name) for c in target.entity.columns)
    return (
        f"insert into {target.table} ({', '.join(raw_columns(target.entity))}) "
        f"select {typed}, {lit(relative)}, _row, {target.date_sql}, {lit(sha)}, "
        f"{target.at_sql}, case when _valid then _extra_columns else _bad end, "
        f"case when _valid then {lit(target.batch_id)} else {lit(target.bad_batch_id)} end "
        f"from ({select})"
    )


def insert_checked(
    conn: duckdb.DuckDBPyConnection, target: Target, file_index: int, source: str
) -> None:
    """Cast and validate the rows of ``source`` in one pass and write them to the target.

    ``source`` yields ``_row`` (1-based data row), each contract column as text (null when
    empty or absent), ``_extra_columns`` (JSON or null), ``_malformed`` (reason or null)
    and ``_original`` (the line as delivered, for malformed rows).
    """
    entity = target.entity
    cols = entity.columns
    typed = ", ".join(f"{_typed(c)} as {ident('_t_' + c.name)}" for c in cols)
    required = [c for c in cols if c.required or c.name == entity.key]
    # A cheap boolean test per row; reasons and text are only built for the (few) bad rows.
    valid = " and ".join(
        ["_malformed is null"]
        + [f"{ident(c.name)} is not null" for c in required]
        + [
            f"({ident(c.name)} is null or {ident('_t_' + c.name)} is not null)"
            for c in cols
            if c.type != "varchar"
        ]
    )
    problems = ", ".join(_problem(entity, c) for c in cols)
    text = ", ".join(f"{ident(c.name)} := {ident(c.name)}" for c in cols)
    typed_names = ", ".join(ident("_t_" + c.name) for c in cols)
    # No WHERE anywhere: a filter would be pushed below the projections and evaluate the
    # parse and the casts a second time.
    select = f"""
        select
            _row, {typed_names}, _extra_columns,
            case when not _valid then json_object(
                'column', case when _malformed is null then _problems[1].column end,
                'reason', coalesce(
                    _malformed, array_to_string(list_transform(_problems, x -> x.reason), '; ')
                ),
                'original', coalesce(_original, to_json(struct_pack({text}))::varchar),
                'extra', _extra_columns
            ) end as _bad,
            _valid,
        from (
            select *,
                case when not _valid and _malformed is null
                    then list_filter([{problems}], x -> x.reason is not null)
                end as _problems,
            from (select *, {valid} as _valid from (select *, {typed} from ({source})))
        )
    """
    execute(conn, target, _write(target, file_index, select))


def insert_malformed(
    conn: duckdb.DuckDBPyConnection, target: Target, file_index: int, source: str
) -> None:
    """Write rows the file reader could not split; ``source`` yields _row, _malformed, _original."""
    nulls = ", ".join(f"null::{DUCKDB_TYPES[c.type]}" for c in target.entity.columns)
    select = f"""
        select _row, {nulls}, null::json,
            json_object('column', null, 'reason', _malformed, 'original', _original, 'extra', null),
            false,
        from ({source})
    """
    execute(conn, target, _write(target, file_index, select))


def execute(conn: duckdb.DuckDBPyConnection, target: Target, sql: str) -> None:
    """Run a statement of the load; in the direct load a failure means: start again carefully."""
    try:
        conn.execute(sql)
    except duckdb.Error as exc:
        if target.direct:
            raise RetryCarefully(str(exc).splitlines()[0]) from exc
        raise


def delete_file_rows(conn: duckdb.DuckDBPyConnection, target: Target, file_index: int) -> None:
    """Undo a partly checked file that is read again or rejected half way."""
    execute(conn, target, f"delete from {target.table} where {target.file_filter(file_index)}")


def file_rows(conn: duckdb.DuckDBPyConnection, target: Target, file_index: int) -> int:
    row = conn.execute(
        f"select count(*) from {target.table} where {target.file_filter(file_index)}"
    ).fetchone()
    return int(row[0]) if row else 0


def extra_keys(conn: duckdb.DuckDBPyConnection, target: Target, file_index: int) -> list[str]:
    """Sorted names of the unexpected columns found in one file's rows, loaded or not."""
    if target.direct:
        extras = (
            f"case when _batch_id = {lit(target.batch_id)} then _extra_columns "
            "else _extra_columns -> '$.extra' end"
        )
    else:
        extras = "case when _valid then _extra_columns else _bad -> '$.extra' end"
    row = conn.execute(
        f"select list_sort(list_distinct(flatten(list(json_keys(x))))) from ("
        f"select {extras} as x from {target.table} where {target.file_filter(file_index)} "
        "and _extra_columns is not null) where json_type(x) = 'OBJECT'"
    ).fetchone()
    return list(row[0]) if row and row[0] else []
