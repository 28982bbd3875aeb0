"""Ingestion engine: landing files -> raw tables. No Dagster imports here."""

from orchestration.ingest.engine import (
    EntityIngestReport,
    FileReport,
    ProgressCallback,
    ingest_entity,
    resolve_entity,
)
from orchestration.ingest.landing import (
    ExtractFolder,
    LandingFile,
    LandingProblem,
    LandingScan,
    detect_format,
    scan_landing,
)
from orchestration.ingest.mappings import ColumnMapping, MappingError, load_mappings
from orchestration.ingest.schema import ensure_raw_schema

__all__ = [
    "ColumnMapping",
    "EntityIngestReport",
    "ExtractFolder",
    "FileReport",
    "LandingFile",
    "LandingProblem",
    "LandingScan",
    "MappingError",
    "ProgressCallback",
    "detect_format",
    "ensure_raw_schema",
    "ingest_entity",
    "load_mappings",
    "resolve_entity",
    "scan_landing",
]
