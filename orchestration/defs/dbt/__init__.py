"""dbt models, seeds, snapshots and tests as Dagster assets and asset checks."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from packaging import version
from pydantic import Field

from orchestration.dbt_changes import (
    BuildInputs,
    BuildPlan,
    forget_tests_of_another_project,
    plan_build,
    read_last_build,
    source_fingerprints,
    update_last_build,
)
from orchestration.dbt_project import (
    build_dbt_project,
    dbt_executable,
    keep_partial_parse,
    needs_full_refresh,
    project_content_fingerprint,
    record_incremental_build,
)
from orchestration.serving.publish import published_status
from orchestration.settings import get_settings
from orchestration.warehouse import WAREHOUSE_POOL, connect

dbt_project = build_dbt_project()


class LayeredTranslator(DagsterDbtTranslator):
    """Asset keys read as the data flow: ``[schema, model]``; sources keep ``[source, table]``.

    Sources are named ``raw_<source>`` with tables named after the entity, so a dbt
    source's key equals the key of the ingest asset that fills it, and lineage joins
    without translation code.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return dbt_resource_props["source_name"]
        return dbt_resource_props["schema"]


class DbtBuildConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental models from all of history (dbt --full-refresh).",
    )
    build_all: bool = Field(
        default=False,
        description=(
            "Run every selected model, seed, snapshot and test, even those none of whose inputs"
            " changed since the last successful build (a refresh leaves those out)."
        ),
    )


translator = LayeredTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
    name="dbt_warehouse",
)
def dbt_warehouse(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    """Seeds, staging, intermediate and mart models, snapshots and their dbt tests: one `dbt build`.

    A refresh runs only the nodes downstream of a source that changed since the last successful
    build, and no dbt at all when nothing did (orchestration/dbt_changes.py).
    """
    # Unit tests check the models' logic on fixed rows, not the data: they run in CI
    # (tests/scoring builds every model with them), not in every refresh, as dbt advises.
    args = ["build", "--exclude-resource-type", "unit_test"]
    # Incremental models keep rows computed by the SQL of their day: rebuild them when it changed.
    full_refresh = config.full_refresh or needs_full_refresh(dbt_project)
    if full_refresh:
        args.append("--full-refresh")
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    settings = get_settings()
    with connect(settings) as conn:  # closed before dbt's process opens the warehouse
        inputs = BuildInputs(project_content_fingerprint(), source_fingerprints(conn, manifest))
        last_build = read_last_build(conn)
        if forget_tests_of_another_project(conn, inputs.project):
            context.log.info("the dbt project changed: its data tests read whole models once")
    whole_project = context.selected_asset_keys == context.assets_def.keys
    if full_refresh or config.build_all or not whole_project:
        # a forced rebuild or a manual selection in the UI runs what it names
        plan = BuildPlan("every node asked for")
    else:
        status = published_status(settings)
        plan = plan_build(
            manifest,
            inputs,
            last_build,
            published_run_id=status["run_id"] if status and not status["is_stale"] else None,
        )
    context.log.info(
        f"dbt build plan: {plan.reason}; "
        + ("nothing to run" if plan.skip else f"{len(plan.excluded)} unchanged nodes left out")
    )
    if plan.skip:
        return
    if plan.excluded:
        args += ["--exclude", " ".join(plan.excluded)]
    invocation = dbt.cli(args, context=context)
    try:
        yield from invocation.stream()
    finally:
        keep_partial_parse(invocation.target_path, dbt_project)
        results_path = invocation.target_path / "run_results.json"
        results = json.loads(results_path.read_text()) if results_path.exists() else {}
        if results:
            record_incremental_build(dbt_project, results)
        with connect(settings) as conn:
            update_last_build(conn, inputs, context.run_id, results, whole_project=whole_project)


class WarehouseDbtCliResource(DbtCliResource):
    """DbtCliResource that knows its dbt version without running `dbt --version`, and starts no
    dbt adapter of its own.

    dagster-dbt spawns `dbt --version` (a Python process importing dbt: 5 s and more on a
    loaded machine) in every run to pick between dbt-core and the fusion engine. The dbt we
    run is the dbt-core installed beside this Python (``dbt_executable``), so its version is
    the installed package's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No dbt adapter in the Dagster process.

        dagster-dbt builds one (importing dbt-core and dbt-duckdb, loading profile and project:
        1.8 s of every run at scale M) only for the column metadata of `.fetch_column_metadata()`
        and `.fetch_row_counts()`, which these assets do not use: the dbt process does the work.
        """
        return None


resources = {
    "dbt": WarehouseDbtCliResource(
        project_dir=dbt_project,
        profiles_dir=dbt_project.profiles_dir,
        dbt_executable=dbt_executable(),
    )
}
assets = [dbt_warehouse]
