"""The asset checks run in Dagster: a failed ERROR check blocks downstream assets."""

from __future__ import annotations

import dagster as dg
from quality_builders import SOURCES, Spec, build

from orchestration.defs.quality.assets import corrections as corrections_asset
from orchestration.defs.quality.checks import build_asset_checks
from orchestration.warehouse import connect

RAW_KEYS = [dg.AssetKey([f"raw_{source}", name]) for name, source in SOURCES.items()]


def _defs(defects: set[str], ran: list[str]) -> list:
    @dg.multi_asset(specs=[dg.AssetSpec(k) for k in RAW_KEYS], name="fake_ingest")
    def fake_ingest():
        with connect() as conn:
            build(conn, Spec(defects=defects, end_month=dg_end_month()))
        for key in RAW_KEYS:
            yield dg.MaterializeResult(asset_key=key)

    @dg.asset(key=["staging", "stg_crm__opportunities"], deps=[RAW_KEYS[1]])
    def staging_opportunities() -> None:
        ran.append("staging")

    return [fake_ingest, staging_opportunities, *build_asset_checks(include_marts=False)]


def dg_end_month():
    from datetime import date

    from quality_builders import month_start

    today = date.today()
    return month_start(today.year, today.month, -1)  # freshness is judged against today


def test_error_check_blocks_downstream_and_warn_does_not(qsettings):
    ran: list[str] = []
    result = dg.materialize(_defs({"orphan_partner_id"}, ran), raise_on_error=False)
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    # thirteen checks per raw asset (four on what ingest recorded), spike on opportunities
    assert len(evaluations) == 8 * 13 + 1
    failed = {k for k, e in evaluations.items() if not e.passed}
    assert failed == {("raw_crm/opportunities", "referential_integrity")}
    hit = evaluations[("raw_crm/opportunities", "referential_integrity")]
    assert hit.severity == dg.AssetCheckSeverity.ERROR
    assert hit.metadata["partner_ids"].value == ["P99999"]
    assert ran == []  # blocked: staging never ran
    assert not result.success


def test_warn_failure_lets_downstream_run(qsettings):
    ran: list[str] = []
    result = dg.materialize(_defs({"volume_drop"}, ran), raise_on_error=False)
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    failed = {k for k, e in evaluations.items() if not e.passed}
    assert failed == {("raw_portal/activity_events", "volume_anomaly")}
    assert evaluations[("raw_portal/activity_events", "volume_anomaly")].severity == (
        dg.AssetCheckSeverity.WARN
    )
    assert ran == ["staging"] and result.success


def test_corrections_asset_loads_files(qsettings):
    folder = qsettings.corrections_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "c.csv").write_text(
        "entity,record_key,column_name,corrected_value,submitted_by,submitted_at,reason\n"
        "leads,L-1,is_converted,true,ops@example.com,2026-11-20T10:00:00,confirmed\n",
        encoding="utf-8",
    )
    result = dg.materialize([corrections_asset])
    (mat,) = result.get_asset_materialization_events()
    assert mat.materialization.metadata["rows_loaded"].value == 1
    assert mat.materialization.metadata["corrections_total"].value == 1
