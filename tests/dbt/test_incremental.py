"""Incremental dbt models give the same rows as a full refresh, whatever the delta holds.

A small generated landing zone is ingested and built in full; then each step changes the
inputs the way production does (a new day, a re-delivered extract that replaces earlier rows,
a late event for an old month, a block and its release, a correction), ingests, builds
incrementally and compares every incremental model row for row with a `--full-refresh` build
of the same warehouse.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import Settings, get_settings
from tests.dbt.incremental_steps import (
    build_and_compare,
    execute,
    ingest,
    query,
    read_events,
    replace_scope_counts,
    run_dbt,
    write_events,
)

pytestmark = pytest.mark.e2e

INCREMENTAL_MODELS = (
    "staging.stg_portal__activity_events",
    "staging.stg_crm__opportunities",
    "staging.stg_lms__learning_records",
    "intermediate.int_partner_metric_facts_monthly",
    "intermediate.int_partner_periods",
    "intermediate.int_partner_metrics",
    "intermediate.int_partner_metrics_normalized",
    "intermediate.int_partner_score_components",
    "intermediate.int_partner_scores",
    "intermediate.int_partner_score_bands",
    "marts.fct_partner_scores",
    "marts.fct_partner_score_changes",
    # a view of int_partner_score_components, compared all the same
    "marts.fct_partner_score_components",
)
SELECT = [
    "--select",
    "+fct_partner_scores",
    "+fct_partner_score_components",
    "+fct_partner_score_changes",
]
PORTAL = "portal/activity_events"
OPPORTUNITIES = "crm/opportunities"
# the models downstream of the normalized metrics, incremental by period too
PERIOD_CHAIN_MODELS = (
    "int_partner_score_components",
    "int_partner_scores",
    "int_partner_score_bands",
    "fct_partner_scores",
    "fct_partner_score_changes",
)


def _portal_folder(settings: Settings, extract_date: str) -> Path:
    return settings.landing_dir / PORTAL / extract_date


def _read_opportunities(settings: Settings, extract_date: str) -> list[dict]:
    with gzip.open(settings.landing_dir / OPPORTUNITIES / extract_date / "opportunities.csv.gz",
                   "rt", newline="") as rows:  # fmt: skip
        return list(csv.DictReader(rows))


def _write_opportunities(settings: Settings, extract_date: str, rows: list[dict]) -> None:
    folder = settings.landing_dir / OPPORTUNITIES / extract_date
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "opportunities.csv.gz", "wt", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _inserted(settings: Settings, run_results: dict) -> dict[str, int]:
    """Rows each incremental model inserted in that run."""
    return {
        model: counts[1] for model, counts in replace_scope_counts(settings, run_results).items()
    }


def _build_and_compare(settings: Settings) -> dict[str, int]:
    """Incremental build, then a full refresh of a copy; returns rows inserted per model."""
    scope = build_and_compare(settings, SELECT, [*SELECT, "--full-refresh"], INCREMENTAL_MODELS)
    return {model: counts[1] for model, counts in scope.items()}


def test_incremental_builds_equal_full_refresh(tmp_path, monkeypatch):
    """One scenario, in order (each step starts from the incremental state of the last)."""
    from orchestration.generate import generate_demo

    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    settings = get_settings()
    settings.ensure_dirs()
    generate_demo(settings, partners=30, months=4, seed=11, events=6000, end_month="2025-04")
    ingest(settings)
    run_dbt(settings, "build", *SELECT, "--exclude-resource-type", "test", "unit_test")

    _step_delta(settings)
    _step_release_and_block(settings)
    _step_unchanged(settings)
    _step_release_opportunities(settings)
    _step_fx_rate_change(settings)
    _step_new_day_in_the_latest_month(settings)
    _step_tests_read_the_rewritten_periods(settings)
    _step_explanation_tests_read_the_rewritten_periods(settings)


def _step_delta(settings: Settings) -> None:
    """A new day with a late event, a re-delivered extract, a new block and a correction."""
    events = {e["event_id"]: e for e in read_events(_portal_folder(settings, "2025-03-01"))}
    old_month_event = next(iter(events.values()))
    partners = sorted({e["partner_id"] for e in events.values()})

    # 1. a new day: two events on the day and one late event for the first month (2025-01)
    day = [
        {**old_month_event, "event_id": "DELTA-1", "occurred_at": "2025-05-01T09:00:00Z"},
        {**old_month_event, "event_id": "DELTA-2", "occurred_at": "2025-05-01T10:00:00Z"},
        {**old_month_event, "event_id": "DELTA-LATE", "occurred_at": "2025-01-15T08:00:00Z"},
    ]
    write_events(_portal_folder(settings, "2025-05-02") / "activity_events.jsonl.gz", day)

    # 2. the 2025-03-01 extract re-delivered: a third of its events gone, one moved to another
    # partner and one to another type; ingest replaces the extract's rows under a new batch
    kept = [e for i, e in enumerate(events.values()) if i % 3]
    kept[0] = {**kept[0], "partner_id": next(p for p in partners if p != kept[0]["partner_id"])}
    kept[1] = {**kept[1], "event_type": "mdf_claim"}
    folder = _portal_folder(settings, "2025-03-01")
    for path in folder.iterdir():
        path.unlink()
    write_events(folder / "activity_events-part-0001.jsonl.gz", kept)

    # 3. a new ERROR check blocks the LMS batch of 2025-04-01
    execute(
        settings,
        """
        insert into raw_meta.blocked_batches
        select distinct _batch_id, 'lms', 'learning_records', _extract_date, 'test_check',
            'test block', now(), null
        from raw_lms.learning_records where _extract_date = date '2025-04-01'
        """,
    )
    # 3b. a day of opportunities: two of the last monthly extract's, now won, and a new one
    monthly = _read_opportunities(settings, "2025-05-01")
    won = [
        {**row, "stage": "closed_won", "closed_date": "2025-05-01", "is_won": "true",
         "amount": f"{float(row['amount'] or 0) + 1000:.2f}"}
        for row in monthly[:2]
    ]  # fmt: skip
    day = [*won, {**monthly[2], "opportunity_id": "OPP-DELTA"}]
    _write_opportunities(settings, "2025-05-02", day)
    # and the next day restates all three, so the 2025-05-02 batch keeps no staged row: only
    # the record of staged batches tells later runs it was staged
    _write_opportunities(
        settings, "2025-05-03", [{**row, "customer_id": row["customer_id"] + "-X"} for row in day]
    )
    # 4. partner ops move one event of another extract to another partner
    moved = execute(
        settings,
        "select event_id, partner_id from raw_portal.activity_events "
        "where _extract_date = date '2025-04-01' order by event_id limit 1",
    )[0]
    target_partner = next(p for p in partners if p != moved[1])
    execute(
        settings,
        f"""
        insert into raw_meta.corrections values ('C1', 'portal', 'activity_events',
            '{moved[0]}', 'partner_id', '{target_partner}', 'test', now(), 'wrong partner', null)
        """,
    )
    ingest(settings)

    inserted = _build_and_compare(settings)

    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    staged = dict(
        conn.execute(
            "select event_id, partner_id from staging.stg_portal__activity_events "
            "where event_id in ('DELTA-LATE', ?, ?)",
            [moved[0], kept[0]["event_id"]],
        ).fetchall()
    )
    lms_blocked = conn.execute(
        "select count(*) from staging.stg_lms__learning_records "
        "where extract_date = date '2025-04-01'"
    ).fetchone()[0]
    late_month = conn.execute(
        "select count(*) from intermediate.int_partner_metric_facts_monthly "
        "where activity_month = date '2025-01-01' and partner_id = ?",
        [old_month_event["partner_id"]],
    ).fetchone()[0]
    total_facts = conn.execute(
        "select count(*) from intermediate.int_partner_metric_facts_monthly"
    ).fetchone()[0]
    conn.close()
    assert staged == {
        "DELTA-LATE": old_month_event["partner_id"],
        moved[0]: target_partner,
        kept[0]["event_id"]: kept[0]["partner_id"],
    }
    assert lms_blocked == 0
    assert late_month > 0
    assert query(
        settings.warehouse_path,
        "select opportunity_id, stage from staging.stg_crm__opportunities "
        "where extract_date = date '2025-05-03' order by 1",
    ) == sorted(
        [(row["opportunity_id"], "closed_won") for row in won]
        + [("OPP-DELTA", monthly[2]["stage"].lower())]
    )
    # incremental, not a rebuild: only the changed events were restaged, and only the
    # partner-months they touch were rewritten
    assert 0 < inserted["stg_portal__activity_events"] < len(events)
    assert inserted["stg_crm__opportunities"] == len(won) + 1
    assert 0 < inserted["int_partner_metric_facts_monthly"] < total_facts / 2


def _step_release_and_block(settings: Settings) -> None:
    """The LMS block is released; the new day's portal batch and the last monthly
    opportunities extract are blocked (its opportunities fall back to earlier extracts' rows,
    or leave staging when they have none)."""
    execute(settings, "update raw_meta.blocked_batches set released_at = now()")
    for source, entity, table, extract_date in (
        ("portal", "activity_events", "raw_portal.activity_events", "2025-05-02"),
        ("crm", "opportunities", "raw_crm.opportunities", "2025-05-01"),
    ):
        execute(
            settings,
            f"""
            insert into raw_meta.blocked_batches
            select distinct _batch_id, '{source}', '{entity}', _extract_date, 'test_check',
                'test block', now(), null
            from {table} where _extract_date = date '{extract_date}'
            """,
        )
    _build_and_compare(settings)

    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    back = conn.execute(
        "select count(*) from staging.stg_lms__learning_records "
        "where extract_date = date '2025-04-01'"
    ).fetchone()[0]
    raw = conn.execute(
        "select count(*) from raw_lms.learning_records where _extract_date = date '2025-04-01'"
    ).fetchone()[0]
    gone = conn.execute(
        "select count(*) from staging.stg_portal__activity_events where event_id like 'DELTA-%'"
    ).fetchone()[0]
    opportunities_blocked = conn.execute(
        "select count(*) from staging.stg_crm__opportunities where extract_date = date '2025-05-01'"
    ).fetchone()[0]
    conn.close()
    assert back == raw > 0
    assert gone == 0
    assert opportunities_blocked == 0


def _step_unchanged(settings: Settings) -> None:
    """Nothing changed: nothing is rewritten."""
    inserted = _inserted(settings, run_dbt(settings, "run", *SELECT))
    # corrected keys are restaged on every run (corrections are few): the one from the delta
    assert inserted["stg_portal__activity_events"] == 1
    assert inserted["stg_lms__learning_records"] == 0
    # a snapshot extract restates its keys: the batches already staged are not read again
    assert inserted["stg_crm__opportunities"] == 0
    assert inserted["int_partner_metric_facts_monthly"] == 0
    assert inserted["int_partner_periods"] == 0
    assert inserted["int_partner_metrics"] == 0
    assert inserted["int_partner_metrics_normalized"] == 0
    for model in PERIOD_CHAIN_MODELS:
        assert inserted[model] == 0, model


def _step_release_opportunities(settings: Settings) -> None:
    """The opportunities block is released: the extract's keys are staged from it again (the
    record of staged batches left it out while it was blocked)."""
    execute(
        settings, "update raw_meta.blocked_batches set released_at = now() where source = 'crm'"
    )
    inserted = _build_and_compare(settings)
    back = query(
        settings.warehouse_path,
        "select count(*) from staging.stg_crm__opportunities "
        "where extract_date = date '2025-05-01'",
    )[0][0]
    assert back > 0
    assert inserted["stg_crm__opportunities"] >= back


def _step_fx_rate_change(settings: Settings) -> None:
    """A corrected EUR rate reprices the opportunities converted at it, and only those."""
    month, repriced = execute(
        settings,
        """
        select date_trunc('month', coalesce(closed_date, created_date))::date, count(*)
        from staging.stg_crm__opportunities
        where currency = 'EUR' and amount is not null
        group by 1
        order by 2 desc, 1
        limit 1
        """,
    )[0]
    # dbt run does not reload seeds: the corrected rate stays for the later steps
    execute(
        settings,
        "update scoring_config.fx_rates set usd_per_unit = usd_per_unit * 1.25 "
        "where currency = 'EUR' and month = ?",
        [month],
    )
    inserted = _build_and_compare(settings)
    assert inserted["stg_crm__opportunities"] == repriced > 0


def _step_new_day_in_the_latest_month(settings: Settings) -> None:
    """A day of events in May only: the periods that end before May keep their rows."""
    template = read_events(_portal_folder(settings, "2025-04-01"))[0]
    day = [
        {**template, "event_id": f"MAY-{i}", "occurred_at": f"2025-05-03T0{i}:00:00Z"}
        for i in range(3)
    ]
    write_events(_portal_folder(settings, "2025-05-04") / "activity_events.jsonl.gz", day)
    ingest(settings)
    inserted = _build_and_compare(settings)

    # May is scored again (its only data was blocked in the step before): of the partner-periods,
    # only May's are written; the second quarter keeps its partners and attributes
    may_partners, all_partner_periods = execute(
        settings,
        "select count(*) filter (where period_grain = 'month' and period_start = '2025-05-01'), "
        "count(*) from intermediate.int_partner_periods",
    )[0]
    assert 0 < inserted["int_partner_periods"] == may_partners < all_partner_periods

    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    from_may, total = conn.execute(
        "select count(*) filter (where window_end >= date '2025-05-01'), count(*) "
        "from intermediate.int_partner_metrics"
    ).fetchone()
    conn.close()
    # the May month and the second quarter are recomputed whole (peer percentiles compare every
    # partner of a period); January to April and the first quarter are not touched
    assert 0 < from_may < total
    assert inserted["int_partner_metrics"] == from_may
    assert inserted["int_partner_metrics_normalized"] == from_may
    # so are the periods' scores, bands and marts: the chain models (whose periods read the
    # ones before them) start from the earliest changed period, here May and the second quarter
    for model in PERIOD_CHAIN_MODELS:
        schema = "marts" if model.startswith("fct_") else "intermediate"
        conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
        in_may, rows = conn.execute(
            f"""
            select count(*) filter (where period_start >= date '2025-04-01'
                and (period_grain = 'quarter' or period_start >= date '2025-05-01')), count(*)
            from {schema}.{model}
            """
        ).fetchone()
        conn.close()
        assert 0 < inserted[model] == in_may < rows, model


def _failures(run_results: dict, model: str) -> list[int]:
    return [
        r["failures"]
        for r in run_results["results"]
        if r["unique_id"].startswith(f"test.partnerscore.unique_combination_{model}_")
    ]


def _step_tests_read_the_rewritten_periods(settings: Settings) -> None:
    """Data tests of an incremental model read the periods rewritten since they last passed."""
    model = "int_partner_metrics"
    table = f"intermediate.{model}"
    assert _failures(run_dbt(settings, "test", "--select", model), model) == [0]
    assert execute(settings, "select model from dbt_meta.tested_models") != []
    template = read_events(_portal_folder(settings, "2025-04-01"))[0]
    day = [{**template, "event_id": "MAY-TESTED", "occurred_at": "2025-05-05T09:00:00Z"}]
    write_events(_portal_folder(settings, "2025-05-06") / "activity_events.jsonl.gz", day)
    ingest(settings)
    run_dbt(settings, "run", *SELECT)
    rewritten = execute(
        settings,
        f"select key_value from dbt_meta.rewritten_keys where model = '{model}' order by 1",
    )
    assert rewritten == [("month|2025-05-01",), ("quarter|2025-04-01",)]

    # a duplicate in a rewritten period fails, one in an untouched period is not read again
    for period in ("2025-05-01", "2025-01-01"):
        execute(
            settings,
            f"insert into {table} select * from {table} "
            f"where period_grain = 'month' and period_start = date '{period}' limit 1",
        )
    assert _failures(run_dbt(settings, "test", "--select", model, may_fail=True), model) == [1]
    # and keeps failing until it is fixed: the failed run forgets no rewritten period
    assert _failures(run_dbt(settings, "test", "--select", model, may_fail=True), model) == [1]
    execute(settings, f"create or replace table {table} as select distinct * from {table}")
    assert _failures(run_dbt(settings, "test", "--select", model), model) == [0]
    assert execute(
        settings, f"select count(*) from dbt_meta.rewritten_keys where model = '{model}'"
    ) == [(0,)]

    # a full refresh is tested whole: a duplicate anywhere fails
    run_dbt(settings, "run", "--select", model, "--full-refresh")
    execute(
        settings,
        f"insert into {table} select * from {table} "
        "where period_grain = 'month' and period_start = date '2025-01-01' limit 1",
    )
    assert _failures(run_dbt(settings, "test", "--select", model, may_fail=True), model) == [1]


def _test_failures(run_results: dict, test_name: str) -> list[int]:
    return [
        r["failures"]
        for r in run_results["results"]
        if r["unique_id"].startswith(f"test.partnerscore.{test_name}_")
    ]


def _step_explanation_tests_read_the_rewritten_periods(settings: Settings) -> None:
    """The scores' components must add up to them: tested in the periods a run rewrote."""
    test = "contributions_sum_to_score_fct_partner_scores"
    components = "intermediate.int_partner_score_components"  # the mart is a view of it
    metrics = "intermediate.int_partner_metrics"  # without the last step's duplicate
    execute(settings, f"create or replace table {metrics} as select distinct * from {metrics}")
    assert _test_failures(run_dbt(settings, "test", "--select", "fct_partner_scores"), test) == [0]
    template = read_events(_portal_folder(settings, "2025-04-01"))[0]
    day = [{**template, "event_id": "MAY-EXPLAINED", "occurred_at": "2025-05-06T09:00:00Z"}]
    write_events(_portal_folder(settings, "2025-05-07") / "activity_events.jsonl.gz", day)
    ingest(settings)
    run_dbt(settings, "run", *SELECT)  # rewrites May and the second quarter

    def shift_a_contribution(period_start: str, points: float) -> None:
        execute(
            settings,
            f"""
            update {components} set contribution_points = contribution_points + {points}
            where rowid = (
                select min(rowid) from {components}
                where period_grain = 'month' and period_start = date '{period_start}'
            )
            """,
        )

    # one partner period broken in May, which the run rewrote, and one in January, which it did
    # not: only May is read (a test of every row would find 2)
    shift_a_contribution("2025-05-01", 0.01)
    shift_a_contribution("2025-01-01", 0.01)
    results = run_dbt(settings, "test", "--select", "fct_partner_scores", may_fail=True)
    assert _test_failures(results, test) == [1]
