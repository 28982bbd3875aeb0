"""Suites as code: the rules each asset's data must meet, derived from the extract contract.

Row-level rules are SQL predicates that are true for a *violating* row. The runner counts
them per batch in DuckDB and hands the counts to Great Expectations (``gx_eval``).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.extracts import (
    DUCKDB_TYPES,
    ENTITIES,
    ENTITIES_BY_KEY,
    LINEAGE_COLUMNS,
    Entity,
)

# Check names shared with the demo generator's ``caught_by`` (``check:<name>``).
SCHEMA = "schema"
NOT_NULL = "not_null"
UNIQUE_KEY = "unique_key"
ACCEPTED_VALUES = "accepted_values"
VALUE_RANGES = "value_ranges"
REFERENTIAL_INTEGRITY = "referential_integrity"
FRESHNESS = "freshness"
VOLUME_ANOMALY = "volume_anomaly"
NULL_RATE_SHIFT = "null_rate_shift"
REVENUE_SPIKE_ANOMALY = "revenue_spike_anomaly"
BAND_CHURN_ANOMALY = "band_churn_anomaly"
# Checks on what ingest recorded (raw_meta.file_manifest, quarantined_rows, the landing scan):
# ingest never fails on a bad file or row, so these turn its records into verdicts and alerts.
FILES_READABLE = "files_readable"
QUARANTINED_ROWS = "quarantined_rows"
UNEXPECTED_COLUMNS = "unexpected_columns"
LANDING_LAYOUT = "landing_layout"
INGEST_CHECKS = (FILES_READABLE, QUARANTINED_ROWS, UNEXPECTED_COLUMNS, LANDING_LAYOUT)

ROW_CHECKS = (NOT_NULL, ACCEPTED_VALUES, VALUE_RANGES, REFERENTIAL_INTEGRITY)
RAW_CHECKS = (
    *INGEST_CHECKS,
    SCHEMA,
    NOT_NULL,
    UNIQUE_KEY,
    ACCEPTED_VALUES,
    VALUE_RANGES,
    REFERENTIAL_INTEGRITY,
    FRESHNESS,
    VOLUME_ANOMALY,
    NULL_RATE_SHIFT,
)
MART_KEY = ("marts", "fct_partner_scores")
MART_ASSET = "marts/fct_partner_scores"
MART_CHECKS = (
    SCHEMA,
    NOT_NULL,
    UNIQUE_KEY,
    ACCEPTED_VALUES,
    VALUE_RANGES,
    REFERENTIAL_INTEGRITY,
    BAND_CHURN_ANOMALY,
)
MART_COLUMNS = {
    "partner_id": "varchar",
    "period_grain": "varchar",
    "period_start": "date",
    "score": "double",
    "band": "varchar",
    "scorecard_version": "varchar",
}
MART_GRAIN = ("partner_id", "period_grain", "period_start", "scorecard_version")

CHECK_DESCRIPTIONS = {
    SCHEMA: "Every contract column is present with its contract type.",
    NOT_NULL: "Required columns are never empty.",
    UNIQUE_KEY: "The key is unique within each batch.",
    ACCEPTED_VALUES: "Coded columns only hold the contract's accepted values.",
    VALUE_RANGES: "Numeric columns stay within the contract's ranges.",
    REFERENTIAL_INTEGRITY: "Every partner_id is a partner known to raw_crm.partners.",
    FRESHNESS: "The newest extract is no older than the configured age.",
    VOLUME_ANOMALY: "Batch row count within the band learned from recent batches.",
    NULL_RATE_SHIFT: "Each optional column's null rate matches its recent level.",
    REVENUE_SPIKE_ANOMALY: "No partner's closed-won revenue jumps without activity behind it.",
    BAND_CHURN_ANOMALY: "The share of partners changing band in a period is not unusual.",
    FILES_READABLE: "Every file of an extract could be read; a partial extract is blocked.",
    QUARANTINED_ROWS: "No row of the batch was quarantined by ingest (bad type, key, line).",
    UNEXPECTED_COLUMNS: "The extract has no columns beyond the contract (kept in _extra_columns).",
    LANDING_LAYOUT: "Every folder and file in the landing zone belongs to a known extract.",
}

# The demo generator's ``caught_by`` for defects ingest handles, and the check that alerts.
INGEST_DEFECT_CHECKS = {
    "ingest:rejected_file": FILES_READABLE,
    "ingest:quarantine": QUARANTINED_ROWS,
    "ingest:extra_column": UNEXPECTED_COLUMNS,
    "ingest:unknown_entity": LANDING_LAYOUT,
}


@dataclass(frozen=True)
class RowRule:
    """A violating-row predicate for one check and one column."""

    check_name: str
    column: str
    predicate: str  # SQL, true when the row violates the rule


def _quote(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


# Domain rules the contract cannot express column by column.
EXTRA_RULES: dict[str, tuple[RowRule, ...]] = {
    "csat_responses": (
        RowRule(VALUE_RANGES, "score", "survey_type = 'csat' and (score < 1 or score > 5)"),
        RowRule(VALUE_RANGES, "score", "survey_type = 'nps' and (score < 0 or score > 10)"),
    ),
}


def row_rules(entity: Entity) -> list[RowRule]:
    rules: list[RowRule] = []
    for col in entity.columns:
        if col.required:
            rules.append(RowRule(NOT_NULL, col.name, f'"{col.name}" is null'))
        if col.accepted_values:
            rules.append(
                RowRule(
                    ACCEPTED_VALUES,
                    col.name,
                    f'"{col.name}" is not null and "{col.name}" not in ({_quote(col.accepted_values)})',
                )
            )
        bounds = []
        if col.min_value is not None:
            bounds.append(f'"{col.name}" < {col.min_value}')
        if col.max_value is not None:
            bounds.append(f'"{col.name}" > {col.max_value}')
        if bounds:
            rules.append(RowRule(VALUE_RANGES, col.name, " or ".join(bounds)))
    if entity.name == "partners":
        rules.append(
            RowRule(
                REFERENTIAL_INTEGRITY,
                "parent_partner_id",
                "parent_partner_id is not null and _parent_known is null",
            )
        )
    elif any(c.name == "partner_id" for c in entity.columns):
        rules.append(
            RowRule(
                REFERENTIAL_INTEGRITY,
                "partner_id",
                "partner_id is not null and _partner_known is null",
            )
        )
    rules.extend(EXTRA_RULES.get(entity.name, ()))
    return rules


def expected_columns(entity: Entity) -> dict[str, str]:
    cols = {c.name: DUCKDB_TYPES[c.type] for c in entity.columns}
    cols.update(LINEAGE_COLUMNS)
    return cols


def nullable_columns(entity: Entity) -> list[str]:
    """Optional columns whose null rate is profiled per batch (null_rate_shift)."""
    return [c.name for c in entity.columns if not c.required]


def asset_name(entity: Entity) -> str:
    return f"{entity.raw_schema}/{entity.name}"


def landing_owner(path: str) -> Entity:
    """The entity whose check reports a landing-zone path: the entity for paths inside its
    folder; otherwise the first entity of the source (crm: partners), or of all sources."""
    parts = path.split("/")
    if len(parts) >= 3 and (entity := ENTITIES_BY_KEY.get((parts[0], parts[1]))):
        return entity
    return next((e for e in ENTITIES if e.source == parts[0]), ENTITIES[0])


def defect_check(defect: dict) -> tuple[str, str]:
    """(check, asset) that must fail for a demo-generator defect, from its ``caught_by``."""
    caught_by = defect["caught_by"]
    if caught_by.startswith("check:"):
        check = caught_by.removeprefix("check:")
    else:
        check = INGEST_DEFECT_CHECKS[caught_by]
    if check == LANDING_LAYOUT:
        return check, asset_name(landing_owner(defect["file"]))
    return check, asset_name(ENTITIES_BY_KEY[(defect["source"], defect["entity"])])


def raw_entities() -> tuple[Entity, ...]:
    return ENTITIES


def check_names_for(entity: Entity) -> list[str]:
    names = list(RAW_CHECKS)
    if entity.name == "opportunities":
        names.append(REVENUE_SPIKE_ANOMALY)
    return names
