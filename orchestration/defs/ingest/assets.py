"""Landing specs (files that arrive from outside) and one raw asset per extract entity."""

# No "from __future__ import annotations": Dagster inspects the context annotation at runtime.

import dagster as dg

from orchestration.extracts import ENTITIES, Entity
from orchestration.ingest import EntityIngestReport, FileReport, ingest_entity
from orchestration.settings import get_settings
from orchestration.warehouse import WAREHOUSE_POOL, connect

_FORMAT_KIND = {"crm": "csv", "portal": "json", "lms": "json"}


def landing_key(entity: Entity) -> dg.AssetKey:
    return dg.AssetKey(["landing", entity.source, entity.name])


def raw_key(entity: Entity) -> dg.AssetKey:
    return dg.AssetKey([entity.raw_schema, entity.name])


landing_specs = [
    dg.AssetSpec(
        key=landing_key(e),
        group_name="landing",
        kinds={"file", _FORMAT_KIND[e.source]},
        description=f"Extract files in landing/{e.source}/{e.name}/<extract_date>/.",
    )
    for e in ENTITIES
]


def report_metadata(report: EntityIngestReport) -> dict[str, object]:
    """What partner ops needs to see about one ingest run of an entity."""
    return {
        "files_loaded": report.files_loaded,
        "files_replaced": report.files_replaced,
        "files_rejected": report.files_rejected,
        "files_skipped": report.files_skipped,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "extra_columns": dg.MetadataValue.json(report.extra_columns),
        "batch_ids": dg.MetadataValue.json(report.batch_ids),
        "replaced_batch_ids": dg.MetadataValue.json(report.replaced_batch_ids),
        "rejected_files": dg.MetadataValue.json(report.errors),
        "still_rejected_files": dg.MetadataValue.json(report.still_rejected),
        "landing_problems": dg.MetadataValue.json([str(p) for p in report.landing_problems]),
        "summary": report.summary(),
    }


def _build_raw_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(entity),
        deps=[landing_key(entity)],
        group_name=entity.raw_schema,
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description=f"Typed raw rows of {entity.source}/{entity.name} with lineage, from landing.",
    )
    def _raw(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings = get_settings()

        def progress(file: FileReport) -> None:
            context.log.info(
                f"{file.status}: landing/{file.source_file} rows read {file.rows_read:,}, "
                f"loaded {file.rows_loaded:,}, quarantined {file.rows_quarantined:,}"
                + (f" ({file.error})" if file.error else "")
            )

        with connect(settings) as conn:
            report = ingest_entity(conn, settings, entity, progress=progress)
        for problem in report.landing_problems:
            context.log.warning(f"not ingested: {problem}")
        for error in report.errors:
            context.log.error(f"rejected: {error}")
        # Good files are committed and recorded; an unreadable file fails this asset's blocking
        # ERROR check files_readable (defs/quality), which blocks its extract and alerts. The
        # asset itself succeeds, so the rest of its suite still runs on what did load.
        return dg.MaterializeResult(metadata=report_metadata(report))

    return _raw


raw_assets = [_build_raw_asset(e) for e in ENTITIES]
