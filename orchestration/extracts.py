"""The extract contract: every entity partnerscore ingests, its columns, types and key.

This module is the single source of truth for extract formats. The demo-data
generator writes these columns, ingestion validates against them, the raw
tables take their types from them, ``docs/extracts.md`` documents them and the
Great Expectations suites check them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal[
    "varchar", "integer", "double", "decimal", "boolean", "date", "timestamp", "json"
]

# DuckDB type used in raw tables for each contract type.
DUCKDB_TYPES: dict[str, str] = {
    "varchar": "varchar",
    "integer": "bigint",
    "double": "double",
    "decimal": "decimal(18, 2)",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",  # always UTC
    "json": "json",
}

# Lineage columns added to every raw row.
LINEAGE_COLUMNS: dict[str, str] = {
    "_source_file": "varchar",  # path relative to the landing dir
    "_source_row": "bigint",  # 1-based data row number within the file (header excluded)
    "_extract_date": "date",  # from landing/<source>/<entity>/<extract_date>/
    "_file_sha256": "varchar",
    "_loaded_at": "timestamp",
    "_extra_columns": "json",  # unexpected columns, kept as {name: text}; null when none
    "_batch_id": "varchar",  # one id per (entity, extract_date) load; quality checks block by batch
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = False
    accepted_values: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Entity:
    source: Literal["crm", "portal", "lms"]
    name: str
    description: str
    key: str
    columns: tuple[Column, ...]
    formats: tuple[str, ...] = ("csv", "parquet")
    # "snapshot": each extract restates current rows (latest extract wins per key);
    # "events": append-only facts (each key arrives once).
    kind: Literal["snapshot", "events"] = "snapshot"
    event_time_column: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def raw_schema(self) -> str:
        return f"raw_{self.source}"

    @property
    def raw_table(self) -> str:
        return f"{self.raw_schema}.{self.name}"

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


PARTNER_TYPES = ("reseller", "msp", "technology", "referral", "distributor")
TIERS = ("registered", "silver", "gold", "platinum")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
SEGMENTS = ("smb", "mid_market", "enterprise")
OPPORTUNITY_STAGES = (
    "prospecting",
    "qualification",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
)
EVENT_TYPES = (
    "login",
    "content_view",
    "content_download",
    "price_list_view",
    "profile_update",
    "colleague_invite",
    "discussion_post",
    "business_plan_submission",
    "mdf_claim",
    "event_registration",
    "event_attendance",
)
COURSE_KINDS = ("module", "course", "certification", "specialization")
LMS_VERBS = ("enrolled", "completed", "passed", "failed")

ENTITIES: tuple[Entity, ...] = (
    Entity(
        source="crm",
        name="partners",
        description="Partner accounts as exported from the CRM; one row per partner.",
        key="partner_id",
        columns=(
            Column("partner_id", "varchar", "CRM account id of the partner.", required=True),
            Column("partner_name", "varchar", "Trading name.", required=True),
            Column("partner_type", "varchar", "Partner program track.", True, PARTNER_TYPES),
            Column("tier", "varchar", "Current program tier.", True, TIERS),
            Column("region", "varchar", "Sales region.", True, REGIONS),
            Column("country", "varchar", "ISO 3166-1 alpha-2 country code."),
            Column(
                "segment", "varchar", "Customer segment the partner mainly serves.", False, SEGMENTS
            ),
            Column("joined_date", "date", "Date the partner joined the program.", required=True),
            Column(
                "status", "varchar", "Program status.", True, ("active", "inactive", "terminated")
            ),
            Column(
                "parent_partner_id", "varchar", "Parent account for subsidiaries; empty otherwise."
            ),
            Column(
                "employee_count",
                "integer",
                "Partner headcount, as recorded in the CRM.",
                min_value=0,
            ),
        ),
    ),
    Entity(
        source="crm",
        name="opportunities",
        description="Sales opportunities registered or influenced by a partner; latest state per extract.",
        key="opportunity_id",
        columns=(
            Column("opportunity_id", "varchar", "CRM opportunity id.", required=True),
            Column("partner_id", "varchar", "Partner that owns the opportunity.", required=True),
            Column("customer_id", "varchar", "End customer account id."),
            Column(
                "amount", "decimal", "Opportunity amount in `currency`.", required=True, min_value=0
            ),
            Column("currency", "varchar", "ISO 4217 currency code.", required=True),
            Column("stage", "varchar", "Sales stage.", True, OPPORTUNITY_STAGES),
            Column("created_date", "date", "Date the opportunity was created.", required=True),
            Column("closed_date", "date", "Date it was closed (won or lost); empty while open."),
            Column(
                "is_won",
                "boolean",
                "True when closed won, false when closed lost, empty while open.",
            ),
            Column("product_line", "varchar", "Product line sold."),
            Column(
                "deal_registration_id",
                "varchar",
                "Deal registration this opportunity came from, if any.",
            ),
        ),
    ),
    Entity(
        source="crm",
        name="deal_registrations",
        description="Deal registrations submitted by partners and the vendor's decision.",
        key="deal_registration_id",
        columns=(
            Column("deal_registration_id", "varchar", "Deal registration id.", required=True),
            Column("partner_id", "varchar", "Submitting partner.", required=True),
            Column("customer_id", "varchar", "End customer the deal is for."),
            Column("submitted_date", "date", "Date submitted.", required=True),
            Column("decided_date", "date", "Date approved or rejected; empty while pending."),
            Column(
                "status",
                "varchar",
                "Decision.",
                True,
                ("pending", "approved", "rejected", "expired"),
            ),
            Column(
                "estimated_value", "decimal", "Estimated deal value in `currency`.", min_value=0
            ),
            Column("currency", "varchar", "ISO 4217 currency code."),
        ),
    ),
    Entity(
        source="crm",
        name="leads",
        description="Leads sourced by or passed to partners.",
        key="lead_id",
        columns=(
            Column("lead_id", "varchar", "Lead id.", required=True),
            Column("partner_id", "varchar", "Partner working the lead.", required=True),
            Column("created_date", "date", "Date the lead was created.", required=True),
            Column(
                "lead_source",
                "varchar",
                "Who sourced the lead.",
                True,
                ("partner_sourced", "vendor_referred"),
            ),
            Column(
                "is_converted", "boolean", "Whether the lead became an opportunity.", required=True
            ),
            Column("converted_date", "date", "Date converted; empty if not converted."),
            Column("opportunity_id", "varchar", "Opportunity created from the lead, if any."),
        ),
    ),
    Entity(
        source="crm",
        name="csat_responses",
        description="Customer satisfaction survey responses from customers a partner served.",
        key="response_id",
        kind="events",
        event_time_column="responded_at",
        columns=(
            Column("response_id", "varchar", "Survey response id.", required=True),
            Column("partner_id", "varchar", "Partner that served the customer.", required=True),
            Column("customer_id", "varchar", "Responding customer."),
            Column("survey_type", "varchar", "CSAT (1-5) or NPS (0-10).", True, ("csat", "nps")),
            Column(
                "score",
                "double",
                "Response score on the survey's scale.",
                required=True,
                min_value=0,
                max_value=10,
            ),
            Column("responded_at", "timestamp", "When the customer answered (UTC).", required=True),
        ),
    ),
    Entity(
        source="crm",
        name="renewals",
        description="Contract renewals due on customers a partner manages.",
        key="renewal_id",
        columns=(
            Column("renewal_id", "varchar", "Renewal id.", required=True),
            Column("partner_id", "varchar", "Partner responsible for the renewal.", required=True),
            Column("customer_id", "varchar", "Customer whose contract renews."),
            Column("contract_end_date", "date", "Date the current contract ends.", required=True),
            Column(
                "renewal_status", "varchar", "Outcome.", True, ("renewed", "churned", "pending")
            ),
            Column("original_amount", "decimal", "Contract value before renewal.", min_value=0),
            Column(
                "renewed_amount",
                "decimal",
                "Contract value after renewal; empty unless renewed.",
                min_value=0,
            ),
            Column("currency", "varchar", "ISO 4217 currency code."),
        ),
    ),
    Entity(
        source="portal",
        name="activity_events",
        description="Partner-portal activity events, one JSON object per line.",
        key="event_id",
        kind="events",
        event_time_column="occurred_at",
        formats=("jsonl", "parquet"),
        columns=(
            Column("event_id", "varchar", "Unique event id.", required=True),
            Column("partner_id", "varchar", "Partner the user belongs to.", required=True),
            Column("user_id", "varchar", "Portal user.", required=True),
            Column("event_type", "varchar", "What the user did.", True, EVENT_TYPES),
            Column("occurred_at", "timestamp", "When it happened (UTC, ISO 8601).", required=True),
            Column(
                "properties",
                "json",
                "Event-specific details (content id, MDF amount, event id, ...).",
            ),
        ),
    ),
    Entity(
        source="lms",
        name="learning_records",
        description="Learning-management records: enrolments, completions, passes and fails.",
        key="record_id",
        kind="events",
        event_time_column="occurred_at",
        formats=("csv", "xapi", "parquet"),
        columns=(
            Column("record_id", "varchar", "Record (xAPI statement) id.", required=True),
            Column("learner_id", "varchar", "Learner (partner employee).", required=True),
            Column("partner_id", "varchar", "Learner's partner.", required=True),
            Column("course_id", "varchar", "Course id.", required=True),
            Column("course_name", "varchar", "Course title."),
            Column("course_kind", "varchar", "Kind of learning object.", True, COURSE_KINDS),
            Column("verb", "varchar", "What happened.", True, LMS_VERBS),
            Column(
                "score",
                "double",
                "Score in percent, for passed/failed.",
                min_value=0,
                max_value=100,
            ),
            Column("occurred_at", "timestamp", "When it happened (UTC).", required=True),
            Column(
                "certification_expires_date", "date", "Expiry of a certification earned by a pass."
            ),
        ),
    ),
)

ENTITIES_BY_KEY: dict[tuple[str, str], Entity] = {(e.source, e.name): e for e in ENTITIES}


def get_entity(source: str, name: str) -> Entity | None:
    return ENTITIES_BY_KEY.get((source, name))
