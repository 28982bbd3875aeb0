"""Render docs/extracts.md from the extract contract, so the doc cannot drift from the code.

Regenerate after changing extracts.py:  .venv/bin/python -m orchestration.ingest.docs
"""

from __future__ import annotations

from pathlib import Path

from orchestration.extracts import DUCKDB_TYPES, ENTITIES, LINEAGE_COLUMNS, Entity
from orchestration.ingest.mappings import MAPPINGS_DIR
from orchestration.settings import PROJECT_DIR

DOC_PATH = PROJECT_DIR / "docs" / "extracts.md"

_FILE_NAMES = {
    "csv": "`<entity>.csv` or `<entity>.csv.gz`",
    "jsonl": "`<entity>.jsonl` or `<entity>.jsonl.gz`",
    "xapi": "`<entity>.xapi.jsonl` or `<entity>.xapi.jsonl.gz` (xAPI statements)",
    "parquet": "`<entity>.parquet`",
}

_TYPE_TEXT = {
    "varchar": "text",
    "integer": "integer (`42`)",
    "double": "number (`4.5`)",
    "decimal": "decimal (`1234.50`, dot as decimal separator, no thousands separator)",
    "boolean": "boolean (`true/false/1/0/yes/no`, any case)",
    "date": "ISO date `YYYY-MM-DD`",
    "timestamp": "ISO 8601 timestamp; `Z` or an offset is converted to UTC, none means UTC",
    "json": "JSON value (object in JSON lines; JSON text in CSV)",
}

INTRO = """\
# Extract formats

This page is generated from `orchestration/extracts.py` (the contract) by
`orchestration/ingest/docs.py`; a test fails when it is out of date. Regenerate with
`.venv/bin/python -m orchestration.ingest.docs`.

## Landing layout

Extracts are dropped under `$PARTNERSCORE_DATA_DIR/landing/`:

```
landing/<source>/<entity>/<extract_date YYYY-MM-DD>/<file>
landing/crm/opportunities/2025-03-01/opportunities.csv.gz
landing/portal/activity_events/2025-03-01/activity_events-part-0001.jsonl.gz
landing/lms/learning_records/2025-03-01/learning_records.xapi.jsonl.gz
```

- One folder per *extract*: `(source, entity, extract_date)`. A folder may hold several part
  files (`<entity>-part-0001.jsonl.gz`, ...); together they are one extract.
- The format comes from the file extension: `.csv`, `.jsonl` (or `.ndjson`), `.xapi.jsonl`,
  `.parquet`; text formats may be gzip-compressed (`.gz`).
- Unknown source or entity folders, folder names that are not dates and files with an unknown
  extension are **not ingested and reported**: in the ingest report and asset metadata
  (`landing_problems`), in the run log, and in the landing sensor's skip reason.
- Files are written completely before the landing sensor picks them up: a file modified in the
  last 15 seconds is left for the next sensor tick.

## File formats and encodings

- **Encoding**: UTF-8. A UTF-8 byte-order mark is fine. UTF-16 files and files with bytes that
  are not UTF-8 (e.g. Latin-1 exports) are rejected as a whole with the offending line.
- **CSV**: comma-separated, double-quote quoting (`""` escapes a quote), one header row with
  the column names below. Column order does not matter. Empty fields are null.
- **JSON lines**: one JSON object per line with the column names as keys; absent keys and empty
  strings are null.
- **xAPI** (LMS): one xAPI statement per line (see `lms/learning_records` below for how a
  statement maps to columns).
- **Parquet**: columns named as below; any Parquet type that casts to text is accepted.
- Values are read as text and cast per column type; the accepted text per type:

| type | accepted text |
|---|---|
{type_rows}

## Loading, idempotency and replacement

- Each file's content is hashed (sha256) and recorded in `raw_meta.file_manifest`.
- An extract folder whose files are all unchanged (same paths, same hashes) is skipped:
  re-delivering identical files changes nothing.
- When any file of a folder is new, changed or removed, the **whole extract is reloaded** in one
  transaction: its rows (`_extract_date` = that date) and quarantined rows are deleted, all files
  of the folder are loaded again under a new `_batch_id`, and the previous manifest rows get
  status `replaced`.
- A rejected file is not retried while its content is unchanged (reported as still rejected);
  a corrected re-delivery is loaded and replaces the extract.
- Every raw row carries lineage columns:

| column | type | meaning |
|---|---|---|
{lineage_rows}

## Rejected files and quarantined rows

Every row read is either loaded or quarantined; per file the manifest stores
`rows_read = rows_loaded + rows_quarantined`.

A file is **rejected** (manifest status `rejected`, message in `error`; the other files are
committed, then the raw asset's blocking ERROR check `files_readable` fails naming the file, blocks
the partial extract and alerts, and the run fails) when it is:

- a truncated or corrupt gzip file, or named `.gz` without being gzip-compressed;
- in the wrong format (e.g. JSON in a `.csv` file, CSV in a `.jsonl` file, not Parquet);
- missing required columns (the message lists the missing and the found columns), or has an
  empty or repeated header name;
- not UTF-8 (UTF-16, Latin-1, ...).

A row is **quarantined** into `raw_meta.quarantined_rows` (with file, 1-based data row number
without the header, column, reason and original text) when:

| problem | reason, for example |
|---|---|
| malformed row (wrong field count, invalid JSON, empty line) | `malformed row: too many columns (Expected Number of Columns: 11 Found: 12)`, `malformed row: not valid JSON` |
| value does not parse as the column type | `amount: '12,5x' is not a decimal` |
| required key missing | `missing required key opportunity_id` |
| other required value missing | `stage: required value is missing` |
| key repeated within the extract (the first occurrence is loaded) | `duplicate key opportunity_id 'O1': first seen in row 1` |

Several problems on one row are joined with `; `. Domain rules (accepted values, ranges,
references between entities, freshness, volumes) are not ingest's job: such rows are loaded and
the quality checks flag them.

Columns that are not in the contract are kept: in `_extra_columns` as `{{name: text}}`, and
listed in the manifest (`extra_columns`) and the ingest report.

## Column mappings

Exports that do not use the contract's column names are mapped with a YAML file in
`config/column_mappings/`. A mapping applies to a file when the file's header contains all of
the mapping's source columns. Keys:

- `entity`: `<source>/<entity>`;
- `columns`: `<contract column>: <source column>`;
- `values` (optional): per contract column, `<source text>: <contract text>`;
- `formats` (optional): per date or timestamp column, a strptime format such as `%m/%d/%Y`.

Shipped example, for a Salesforce opportunity report export
(`config/column_mappings/salesforce_opportunities.yml`):

```yaml
{salesforce}```

## Entities
"""


def _entity_section(entity: Entity) -> str:
    formats = ", ".join(_FILE_NAMES[f] for f in entity.formats)
    kind = (
        "snapshot: each extract restates current rows; the latest extract wins per key"
        if entity.kind == "snapshot"
        else "events: append-only, each key arrives once"
    )
    lines = [
        f"### `{entity.source}/{entity.name}` -> `{entity.raw_table}`",
        "",
        entity.description,
        "",
        f"- Key: `{entity.key}` (unique within an extract)",
        f"- Kind: {kind}",
        f"- Files: {formats}",
        "",
        "| column | type | required | meaning |",
        "|---|---|---|---|",
    ]
    for col in entity.columns:
        required = "key" if col.name == entity.key else ("yes" if col.required else "")
        meaning = col.description
        if col.accepted_values:
            meaning += " One of " + ", ".join(f"`{v}`" for v in col.accepted_values) + "."
        lines.append(f"| `{col.name}` | {col.type} | {required} | {meaning} |")
    if "xapi" in entity.formats:
        lines += [
            "",
            "xAPI statement -> columns: `id` -> record_id; `actor.account.name` -> learner_id;",
            "context extension `https://partnerscore.dev/xapi/partner-id` -> partner_id; last",
            "segment of `object.id` -> course_id; `object.definition.name.en-US` -> course_name;",
            "object extension `https://partnerscore.dev/xapi/course-kind` -> course_kind; last",
            "segment of `verb.id` -> verb; `result.score.scaled` x 100 -> score; `timestamp` ->",
            "occurred_at; context extension `https://partnerscore.dev/xapi/certification-expires`",
            "-> certification_expires_date.",
        ]
    return "\n".join(lines) + "\n"


def render() -> str:
    type_rows = "\n".join(f"| {t} | {text} |" for t, text in _TYPE_TEXT.items())
    descriptions = {
        "_source_file": "file path relative to the landing dir",
        "_source_row": "1-based data row number in the file (header excluded)",
        "_extract_date": "date of the extract folder",
        "_file_sha256": "sha256 of the file's bytes",
        "_loaded_at": "when the batch was loaded (UTC)",
        "_extra_columns": "columns not in the contract, as {name: text}; null when none",
        "_batch_id": "one id per (entity, extract_date) load; quality checks block by batch",
    }
    lineage_rows = "\n".join(
        f"| `{name}` | {DUCKDB_TYPES.get(t, t)} | {descriptions[name]} |"
        for name, t in LINEAGE_COLUMNS.items()
    )
    salesforce = (MAPPINGS_DIR / "salesforce_opportunities.yml").read_text(encoding="utf-8")
    text = INTRO.format(type_rows=type_rows, lineage_rows=lineage_rows, salesforce=salesforce)
    return text + "\n" + "\n".join(_entity_section(e) for e in ENTITIES)


def write(path: Path = DOC_PATH) -> None:
    path.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"wrote {DOC_PATH}")
