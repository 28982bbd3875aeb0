"""Asset checks: each raw asset's suite, the score mart's suite, run by expectations.runner."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg

from expectations import suites
from expectations.config import QualityConfig, load_config
from expectations.results import CheckResult
from expectations.runner import run_all, run_asset_checks
from orchestration.extracts import ENTITIES
from orchestration.settings import get_settings
from orchestration.warehouse import WAREHOUSE_POOL

PARTNERS_KEY = dg.AssetKey(["raw_crm", "partners"])
SPIKE_SUPPORT_KEYS = [
    dg.AssetKey(["raw_crm", "deal_registrations"]),
    dg.AssetKey(["raw_portal", "activity_events"]),
]
MART_KEY = dg.AssetKey(list(suites.MART_KEY))


def _spec(
    config: QualityConfig, key: dg.AssetKey, asset: str, name: str, deps: list[dg.AssetKey]
) -> dg.AssetCheckSpec:
    severity = config.severity_of(name, asset)
    return dg.AssetCheckSpec(
        name,
        asset=key,
        description=f"[{severity}] {suites.CHECK_DESCRIPTIONS[name]}",
        blocking=severity == "ERROR",
        additional_deps=[d for d in deps if d != key],
        metadata={"severity": severity},
    )


def _check_result(spec: dg.AssetCheckSpec, results: list[CheckResult], report: str):
    key, name, severity = spec.asset_key, spec.name, spec.metadata["severity"]
    asset = "/".join(key.path)
    mine = [r for r in results if r.check_name == name and r.asset_key == asset]
    failed = [r for r in mine if not r.passed]
    partners = sorted({p for r in failed for p in r.partner_ids})
    metadata = {
        "batches_checked": len({r.batch_id for r in mine if r.batch_id}),
        "failed_batches": dg.MetadataValue.json([r.batch_id for r in failed if r.batch_id]),
        "rows_affected": sum(r.rows_affected for r in failed),
        "partner_ids": dg.MetadataValue.json(partners[:100]),
        "report": dg.MetadataValue.path(report),
    }
    worst = failed[0] if failed else (mine[-1] if mine else None)
    if worst is not None:
        metadata["observed_value"] = (
            worst.observed_value if worst.observed_value is not None else ""
        )
        metadata["threshold"] = worst.threshold or ""
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        description="; ".join(r.summary() for r in failed[:5])
        or (f"{len(mine)} evaluations passed" if mine else "nothing new to check"),
        metadata=metadata,
    )


def _raw_checks(config: QualityConfig) -> dg.AssetChecksDefinition:
    """Every raw entity's suite in one step, after all raw assets have loaded.

    One step, not one per entity: a failed blocking check skips everything downstream of its
    asset in Dagster, and every entity's referential-integrity check reads raw_crm.partners, so
    per-entity steps would let one bad partners file silence all the other suites.
    """
    specs: list[dg.AssetCheckSpec] = []
    for entity in ENTITIES:
        key = dg.AssetKey([entity.raw_schema, entity.name])
        asset = suites.asset_name(entity)
        for name in suites.check_names_for(entity):
            deps = SPIKE_SUPPORT_KEYS if name == suites.REVENUE_SPIKE_ANOMALY else []
            specs.append(_spec(config, key, asset, name, deps))

    @dg.multi_asset_check(
        name="quality_raw",
        specs=specs,
        pool=WAREHOUSE_POOL,
        description="Data-quality suites of every raw_* table on its new batches, partners first.",
    )
    def _check(context: dg.AssetCheckExecutionContext):
        run = run_all(get_settings(), run_id=context.run.run_id, include_marts=False)
        context.log.info(
            f"{len(run.results)} results, {len(run.failures)} failed, "
            f"{run.blocked} batches blocked, {run.alerts_sent} alerts sent"
        )
        for spec in specs:
            yield _check_result(spec, run.results, run.report_path or "")

    return _check


def _mart_checks(config: QualityConfig) -> dg.AssetChecksDefinition:
    specs = [
        _spec(config, MART_KEY, suites.MART_ASSET, name,
              [PARTNERS_KEY] if name == suites.REFERENTIAL_INTEGRITY else [])
        for name in suites.MART_CHECKS
    ]  # fmt: skip

    @dg.multi_asset_check(
        name="quality_marts_fct_partner_scores",
        specs=specs,
        pool=WAREHOUSE_POOL,
        description="Data-quality suite of marts.fct_partner_scores, incl. band churn.",
    )
    def _check(context: dg.AssetCheckExecutionContext):
        run = run_asset_checks(get_settings(), suites.MART_ASSET, run_id=context.run.run_id)
        for spec in specs:
            yield _check_result(spec, run.results, run.report_path or "")

    return _check


def build_asset_checks(include_marts: bool) -> list[dg.AssetChecksDefinition]:
    config = load_config()  # once: every spec's severity and blocking flag come from it
    checks = [_raw_checks(config)]
    if include_marts:
        checks.append(_mart_checks(config))
    return checks
