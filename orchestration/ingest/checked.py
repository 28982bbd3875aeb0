"""The checked table: every row of one extract, cast to the contract types, with its verdict.

Readers turn a file into text rows (contract columns as varchar, empty -> null) and hand that
SELECT to ``insert_checked``, which casts, validates and writes in the same scan of the file.
Text is kept only for the rows that fail (to quarantine them with what was delivered), so a
clean row is written once here, typed, and once more into the raw table.
"""

from __future__ import annotations

import duckdb

from orchestration.extracts import DUCKDB_TYPES, Column, Entity

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


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _typed(col: Column) -> str:
    """Text -> contract type; null when the text does not parse."""
    name = _ident(col.name)
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
    name = _ident(col.name)
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
        f"when {_ident('_t_' + col.name)} is null then {bad} end}}"
    )


def create_checked(conn: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    typed = ", ".join(f"{_ident('_t_' + c.name)} {DUCKDB_TYPES[c.type]}" for c in entity.columns)
    conn.execute(
        f"""
        create or replace temp table {CHECKED} (
            _file integer, _source_row bigint, {typed}, _extra_columns json,
            _malformed varchar, _problems struct("column" varchar, reason varchar)[],
            _original varchar, _valid boolean
        )
        """
    )


def insert_checked(
    conn: duckdb.DuckDBPyConnection, entity: Entity, file_index: int, source: str
) -> None:
    """Cast and validate the rows of ``source`` in one pass and append them to the table.

    ``source`` yields ``_row`` (1-based data row), each contract column as text (null when
    empty or absent), ``_extra_columns`` (JSON or null), ``_malformed`` (reason or null)
    and ``_original`` (the line as delivered, for malformed rows).
    """
    cols = entity.columns
    typed = ", ".join(f"{_typed(c)} as {_ident('_t_' + c.name)}" for c in cols)
    required = [c for c in cols if c.required or c.name == entity.key]
    # A cheap boolean test per row; reasons and text are only built for the (few) bad rows.
    valid = " and ".join(
        ["_malformed is null"]
        + [f"{_ident(c.name)} is not null" for c in required]
        + [
            f"({_ident(c.name)} is null or {_ident('_t_' + c.name)} is not null)"
            for c in cols
            if c.type != "varchar"
        ]
    )
    problems = ", ".join(_problem(entity, c) for c in cols)
    text = ", ".join(f"{_ident(c.name)} := {_ident(c.name)}" for c in cols)
    typed_names = ", ".join(_ident("_t_" + c.name) for c in cols)
    # No WHERE anywhere: a filter would be pushed below the projections and evaluate the
    # parse and the casts a second time.
    conn.execute(
        f"""
        insert into {CHECKED}
        select
            {int(file_index)}, _row, {typed_names}, _extra_columns, _malformed,
            case when not _valid and _malformed is null
                then list_filter([{problems}], x -> x.reason is not null)
            end,
            case when not _valid
                then coalesce(_original, to_json(struct_pack({text}))::varchar)
            end,
            _valid,
        from (select *, {valid} as _valid from (select *, {typed} from ({source})))
        """
    )


def insert_malformed(conn: duckdb.DuckDBPyConnection, file_index: int, source: str) -> None:
    """Append rows the file reader could not split; ``source`` yields _row, _malformed, _original."""
    conn.execute(
        f"insert into {CHECKED} (_file, _source_row, _malformed, _original, _valid) "
        f"select {int(file_index)}, _row, _malformed, _original, false from ({source})"
    )


def delete_file_rows(conn: duckdb.DuckDBPyConnection, file_index: int) -> None:
    """Undo a partly checked file that is read again or rejected half way."""
    conn.execute(f"delete from {CHECKED} where _file = {int(file_index)}")


def file_rows(conn: duckdb.DuckDBPyConnection, file_index: int) -> int:
    row = conn.execute(f"select count(*) from {CHECKED} where _file = {int(file_index)}").fetchone()
    return int(row[0]) if row else 0
