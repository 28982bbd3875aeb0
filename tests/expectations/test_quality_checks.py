"""Each quality-level defect is caught by its named check; clean data passes everything."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
from quality_builders import TODAY, Spec, build, build_scores, insert

from expectations import anomalies
from expectations.config import NullRate, RevenueSpike, Volume, load_config
from expectations.runner import check_marts, run_all
from orchestration.ingest import ensure_raw_schema
from orchestration.warehouse import connect

# defect kind -> (check that must catch it, asset, partners it must name or None)
DEFECTS = {
    "orphan_partner_id": ("referential_integrity", "raw_crm/opportunities", ["P99999"]),
    "out_of_range_value": ("value_ranges", "raw_crm/csat_responses", ["P00010"]),
    "unaccepted_value": ("accepted_values", "raw_crm/opportunities", ["P00010"]),
    "revenue_spike_without_activity": (
        "revenue_spike_anomaly", "raw_crm/opportunities", ["P00001"],
    ),
    "volume_drop": ("volume_anomaly", "raw_portal/activity_events", None),
    "null_rate_shift": ("null_rate_shift", "raw_crm/opportunities", None),
    "stale_source": ("freshness", "raw_crm/leads", None),
}  # fmt: skip


def _build(settings, defects: set[str]) -> dict[str, list[str]]:
    with connect(settings) as conn:
        return build(conn, Spec(defects=defects))


def test_clean_dataset_passes_every_check(qsettings):
    batches = _build(qsettings, set())
    run = run_all(qsettings, run_id="r1", today=TODAY)
    assert run.failures == [], [r.summary() for r in run.failures]
    errors = [r for r in run.results if r.severity == "ERROR"]
    assert len(errors) > 8 * 8 * 5  # every ERROR check on every batch was evaluated
    # Every batch was checked, and anomaly checks had a verdict once history allowed it.
    checked = {r.batch_id for r in run.results if r.check_name == "not_null"}
    assert checked == {b for ids in batches.values() for b in ids}
    volume = [r for r in run.results if r.check_name == "volume_anomaly"]
    assert sum(r.details["expected"] is not None for r in volume) == 8 * (8 - 3)
    with connect(qsettings) as conn:
        assert conn.execute("select count(*) from raw_meta.blocked_batches").fetchone()[0] == 0
        assert conn.execute("select count(*) from quality.alerts").fetchone()[0] == 0
        stored = conn.execute("select count(*) from quality.check_results").fetchone()[0]
    assert stored == len(run.results)


def test_each_defect_caught_by_its_named_check(qsettings):
    batches = _build(qsettings, set(DEFECTS))
    run = run_all(qsettings, run_id="r1", today=TODAY)
    failed = {(r.check_name, r.asset_key) for r in run.failures}
    expected = {(check, asset) for check, asset, _ in DEFECTS.values()}
    assert failed == expected, [r.summary() for r in run.failures]
    for kind, (check, asset, partners) in DEFECTS.items():
        hits = [r for r in run.failures if (r.check_name, r.asset_key) == (check, asset)]
        assert len(hits) == 1, kind
        hit = hits[0]
        assert hit.batch_id == batches[asset.split("/")[1]][-1], kind  # the latest batch
        if partners is not None:
            assert partners[0] in hit.partner_ids, kind
            if kind != "unaccepted_value":
                assert hit.partner_ids == partners, kind
        if kind == "stale_source":
            assert hit.observed_value == (TODAY - hit.extract_date).days > 45
        if kind == "null_rate_shift":
            assert hit.details["column"] == "customer_id"
            assert hit.observed_value == pytest.approx(1.0)
        if kind == "volume_drop":
            assert hit.observed_value < 0.3 * hit.details["expected"]
    with connect(qsettings) as conn:
        blocked = conn.execute(
            "select batch_id, check_name from raw_meta.blocked_batches order by all"
        ).fetchall()
    assert blocked == [
        ("csat_responses-20261101", "value_ranges"),
        ("opportunities-20261101", "accepted_values"),
        ("opportunities-20261101", "referential_integrity"),
    ]


def test_checks_run_once_per_batch_and_skip_blocked_history(qsettings):
    _build(qsettings, {"orphan_partner_id"})
    first = run_all(qsettings, run_id="r1", today=TODAY)
    second = run_all(qsettings, run_id="r2", today=TODAY)
    assert any(r.batch_id for r in first.results if r.check_name == "not_null")
    # No new batches: only the table-level verdicts (freshness, landing layout) come again.
    assert {r.check_name for r in second.results} == {"freshness", "landing_layout"}
    assert second.failures == []
    # A new opportunities batch is checked against unblocked history only.
    with connect(qsettings) as conn:
        insert(conn, "opportunities", [
            {"opportunity_id": "OPP-NEW", "partner_id": "P00002", "amount": 10, "currency": "EUR",
             "stage": "proposal", "created_date": TODAY}
        ], batch_id="opportunities-new", extract_date=TODAY)  # fmt: skip
    third = run_all(qsettings, run_id="r3", today=TODAY)
    new = [r for r in third.results if r.batch_id == "opportunities-new"]
    assert {r.check_name for r in new} >= {"not_null", "referential_integrity", "volume_anomaly"}
    vol = next(r for r in new if r.check_name == "volume_anomaly")
    assert not vol.passed and vol.observed_value == 1  # 1 row vs ~20 per batch


def test_mart_suite_and_band_churn(qsettings):
    with connect(qsettings) as conn:
        build(conn, Spec())
        build_scores(conn, churn_last=False)
        cfg = load_config()
        clean = check_marts(conn, cfg)
        assert [r.summary() for r in clean if not r.passed] == []
        build_scores(conn, churn_last=True)
        conn.execute(
            "insert into marts.fct_partner_scores values "
            "('P77777', 'month', date '2026-10-01', 130, 'gold', 'v1', 'smb')"
        )
        results = {r.check_name: r for r in check_marts(conn, cfg)}
    assert not results["value_ranges"].passed and results["value_ranges"].partner_ids == ["P77777"]
    assert not results["referential_integrity"].passed
    churn = results["band_churn_anomaly"]
    assert not churn.passed and churn.severity == "WARN"
    assert churn.observed_value == pytest.approx(0.8)
    assert churn.partner_ids == [f"P{i:05d}" for i in range(1, 9)]
    assert results["not_null"].passed and results["unique_key"].passed


def test_band_churn_ignores_a_change_of_scorecard_version(qsettings):
    """The same churn under a new scorecard version is a decision, not an anomaly."""
    with connect(qsettings) as conn:
        build(conn, Spec())
        build_scores(conn, churn_last=True, last_version="v2")
        results = {r.check_name: r for r in check_marts(conn, load_config())}
    assert results["band_churn_anomaly"].passed


def test_band_churn_waits_for_a_period_in_progress(qsettings):
    """The same churn in a month the data does not cover yet (a daily refresh scores the month
    so far) is not judged until the month is complete."""
    with connect(qsettings) as conn:
        build(conn, Spec())
        build_scores(conn, churn_last=True)
        conn.execute(
            "alter table marts.fct_partner_scores add column is_period_complete boolean "
            "default true"
        )
        conn.execute(
            "update marts.fct_partner_scores set is_period_complete = false "
            "where period_start = (select max(period_start) from marts.fct_partner_scores)"
        )
        in_progress = {r.check_name: r for r in check_marts(conn, load_config())}
        conn.execute("update marts.fct_partner_scores set is_period_complete = true")
        complete = {r.check_name: r for r in check_marts(conn, load_config())}
    assert in_progress["band_churn_anomaly"].passed
    assert not complete["band_churn_anomaly"].passed


def test_mart_bands_read_from_scoring_config(qsettings):
    with connect(qsettings) as conn:
        build_scores(conn)
        conn.execute("create schema scoring_config")
        conn.execute(
            "create table scoring_config.scoring_bands as "
            "select * from (values ('v1', 'gold'), ('v1', 'silver')) t(version, band)"
        )
        results = {r.check_name: r for r in check_marts(conn, load_config())}
    accepted = results["accepted_values"]
    assert not accepted.passed
    assert accepted.rows_affected == 3 * 6  # bronze: partners 3, 6 and 9 in six periods
    assert accepted.partner_ids == ["P00003", "P00006", "P00009"]
    assert sorted(accepted.details["accepted_bands"]) == ["gold", "silver"]


def test_volume_band_is_seasonal_with_a_year_of_history():
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    counts = [300 if m.month == 12 else 100 + (i % 3) for i, m in enumerate(months)]
    history = pd.DataFrame({"extract_date": months, "row_count": counts})
    december = pd.Timestamp("2025-12-01").date()
    cfg = Volume()
    band = anomalies.volume_band(history, december, cfg)
    assert band.seasonal_factor == pytest.approx(3.0, rel=0.05)
    assert band.excess(300) <= 0 < band.excess(100)
    flat = anomalies.volume_band(
        history, december, cfg.model_copy(update={"seasonal_min_history": 99})
    )
    assert flat.seasonal_factor is None and flat.excess(300) > 0


def test_results_table_columns(qsettings):
    _build(qsettings, {"orphan_partner_id"})
    run_all(qsettings, run_id="r1", today=TODAY)
    with duckdb.connect(str(qsettings.warehouse_path), read_only=True) as conn:
        row = conn.execute(
            "select run_id, check_name, asset_key, batch_id, severity, passed, observed_value, "
            "threshold, rows_affected, partner_ids, details, source_files "
            "from quality.check_results where not passed"
        ).fetchone()
    assert row[:6] == ("r1", "referential_integrity", "raw_crm/opportunities",
                       "opportunities-20261101", "ERROR", False)  # fmt: skip
    assert row[6] == 1 and row[7] == "<= 0 violating rows" and row[8] == 1
    assert json.loads(row[9]) == ["P99999"]
    assert json.loads(row[10])["violations_by_column"] == {"partner_id": 1}
    assert json.loads(row[11]) == ["crm/opportunities/2026-11-01/opportunities.csv.gz"]


def test_volume_band_ignores_a_ramp_up_as_season():
    """A source's first months fill up (302, 432, ...): a year later that is not a season."""
    months = pd.date_range("2024-12-01", periods=18, freq="MS")
    counts = [300, 430, 620, 780, 1000, 1020, *([1150, 1200, 1180, 1210] * 3)]
    history = pd.DataFrame({"extract_date": months, "row_count": counts})
    band = anomalies.volume_band(history, pd.Timestamp("2026-03-01").date(), Volume())
    assert band.seasonal_factor is None
    assert band.excess(1236) <= 0  # the settled level, not 1.8x it


def test_volume_band_compares_a_daily_delivery_per_usual_span():
    """A monthly source delivering one day: a day's worth of rows is expected, not a month's."""
    months = pd.date_range("2025-01-01", periods=10, freq="MS")
    history = pd.DataFrame(
        {"extract_date": months, "row_count": [3000 + 10 * (i % 3) for i in range(10)]}
    )
    day = pd.Timestamp("2025-10-02").date()  # one day after the last monthly extract
    band = anomalies.volume_band(history, day, Volume())
    assert band.center == pytest.approx(3010 / 30, rel=0.05)
    assert band.excess(100) <= 0 < band.excess(3000)
    # once in the history, the day counts as its monthly equivalent: the next month is normal
    with_day = pd.concat(
        [history, pd.DataFrame({"extract_date": [pd.Timestamp(day)], "row_count": [100]})]
    )
    november = anomalies.volume_band(with_day, pd.Timestamp("2025-11-01").date(), Volume())
    assert november.center == pytest.approx(3010, rel=0.05)
    assert november.excess(3005) <= 0 < november.excess(100)


def test_snapshot_source_compares_a_daily_delivery_with_daily_ones():
    """A snapshot entity's day restates that day's changes: not a thirtieth of a month's
    snapshot. It gets no verdict until days have a history of their own, then is held to it;
    a month after the days is held to the months alone."""
    months = pd.date_range("2025-01-01", periods=10, freq="MS")
    monthly = pd.DataFrame(
        {
            "extract_date": months,
            "row_count": [3000 + 10 * (i % 3) for i in range(10)],
            "null_counts": [json.dumps({"closed_date": 1500 + 5 * (i % 3)}) for i in range(10)],
        }
    )
    first_day = pd.Timestamp("2025-10-02").date()
    assert anomalies.volume_band(monthly, first_day, Volume(), restates=True) is None
    assert anomalies.null_rate_bands(monthly, first_day, NullRate(), 600, restates=True) is None
    # append-only semantics would have expected 3010 / 30 rows and alerted on 600
    assert anomalies.volume_band(monthly, first_day, Volume()).excess(600) > 0

    days = pd.date_range("2025-10-02", periods=4, freq="D")
    daily = pd.DataFrame(
        {
            "extract_date": days,
            "row_count": [600, 640, 610, 620],
            "null_counts": ['{"closed_date": 0}'] * 4,
        }
    )
    history = pd.concat([monthly, daily], ignore_index=True)
    day = pd.Timestamp("2025-10-06").date()
    band = anomalies.volume_band(history, day, Volume(), restates=True)
    assert band.center == pytest.approx(615, rel=0.01)
    assert band.excess(630) <= 0 < band.excess(3000)
    nulls = anomalies.null_rate_bands(history, day, NullRate(), 630, restates=True)
    assert nulls["closed_date"].excess(0.0) <= 0 < nulls["closed_date"].excess(0.5)

    november = pd.Timestamp("2025-11-01").date()
    month_band = anomalies.volume_band(history, november, Volume(), restates=True)
    assert month_band.center == pytest.approx(3010, rel=0.01)
    assert month_band.excess(3005) <= 0 < month_band.excess(615)
    month_nulls = anomalies.null_rate_bands(history, november, NullRate(), 3000, restates=True)
    assert month_nulls["closed_date"].center == pytest.approx(0.5, abs=0.01)


def _opportunity(conn, opp_id, extract, *, created, closed, amount, stage="closed_won"):
    conn.execute(
        """insert into raw_crm.opportunities (opportunity_id, partner_id, amount, currency,
               stage, created_date, closed_date, _extract_date, _batch_id, _loaded_at)
           values (?, 'P00001', ?, 'USD', ?, ?, ?, ?, 'b-' || ?, now())""",
        [opp_id, amount, stage, created, closed, extract, extract],
    )


def test_revenue_spike_counts_only_deals_the_pipeline_never_showed(qsettings):
    """A big win that sat in the pipeline is lumpy, not suspicious; one first delivered
    already closed, months after its creation, with no activity behind it is flagged."""
    with connect(qsettings) as conn:
        ensure_raw_schema(conn)
        for m in range(1, 7):  # six months of small wins
            _opportunity(conn, f"O-{m}", f"2026-{m + 1:02d}-01", created=f"2026-{m:02d}-01",
                         closed=f"2026-{m:02d}-15", amount=1000)  # fmt: skip
        # Seen open in the March extract, closed big in July.
        _opportunity(conn, "O-seen", "2026-03-01", created="2026-02-10", closed=None,
                     amount=50_000, stage="negotiation")  # fmt: skip
        _opportunity(conn, "O-seen", "2026-08-01", created="2026-02-10", closed="2026-07-20",
                     amount=50_000)  # fmt: skip
        july = pd.Timestamp("2026-07-01").date()
        frame = anomalies.revenue_spikes(conn, [july], RevenueSpike())
        assert float(frame["excess"].max()) < 0  # lumpy but seen: no spike
        # Never seen before, created in January, delivered closed with July's extract.
        _opportunity(conn, "O-ghost", "2026-08-01", created="2026-01-05", closed="2026-07-25",
                     amount=60_000)  # fmt: skip
        frame = anomalies.revenue_spikes(conn, [july], RevenueSpike())
    row = frame.iloc[0]
    assert row["unseen_deals"] == 1 and row["unseen_revenue"] == 60_000
    assert row["excess"] > 0


def _events(conn, batch: str, extract: str, partner_months: dict[tuple[str, str], int]) -> None:
    for (partner, month), n in partner_months.items():
        conn.execute(
            """insert into raw_portal.activity_events (event_id, partner_id, event_type,
                   occurred_at, _extract_date, _batch_id)
               select ? || '-' || ? || '-' || ? || '-' || i, ?, 'login',
                      ?::timestamp + interval 1 hour, ?, ?
               from range(?) t(i)""",
            [batch, partner, month, partner, month, extract, batch, n],
        )


def _partner_months(conn) -> list[tuple]:
    from expectations.profiling import ensure_partner_months
    from orchestration.extracts import get_entity

    ensure_partner_months(conn, get_entity("portal", "activity_events"))
    return conn.execute(
        "select batch_id, partner_id, strftime(month, '%Y-%m'), row_count "
        "from quality.batch_partner_months order by all"
    ).fetchall()


def test_partner_month_counts_follow_new_replaced_and_changed_batches(qsettings):
    """Counted once per batch; a re-delivered extract's old batch goes; rows changed inside a
    counted batch (the stored counts no longer add up) make the entity be counted afresh."""
    with connect(qsettings) as conn:
        ensure_raw_schema(conn)
        _events(conn, "b1", "2026-02-01", {("P1", "2026-01-01"): 3, ("P2", "2026-01-01"): 1})
        assert _partner_months(conn) == [("b1", "P1", "2026-01", 3), ("b1", "P2", "2026-01", 1)]

        _events(conn, "b2", "2026-03-01", {("P1", "2026-02-01"): 2})
        conn.execute("delete from raw_portal.activity_events where _batch_id = 'b1'")
        _events(conn, "b1-again", "2026-02-01", {("P1", "2026-01-01"): 4})
        assert _partner_months(conn) == [
            ("b1-again", "P1", "2026-01", 4),
            ("b2", "P1", "2026-02", 2),
        ]

        conn.execute("delete from raw_portal.activity_events where event_id = 'b2-P1-2026-02-01-0'")
        assert _partner_months(conn) == [
            ("b1-again", "P1", "2026-01", 4),
            ("b2", "P1", "2026-02", 1),
        ]


def _manifest(conn, batch_id: str, rows_loaded: int) -> None:
    conn.execute(
        "insert into raw_meta.file_manifest (source, entity, extract_date, source_file, "
        "rows_read, rows_loaded, rows_quarantined, status, batch_id) "
        "values ('crm', 'opportunities', ?, ?, ?, ?, 0, 'loaded', ?)",
        [TODAY, f"crm/opportunities/{batch_id}.csv.gz", rows_loaded, rows_loaded, batch_id],
    )


def test_raw_unique_key_recounts_batches_ingest_did_not_load_as_they_are(qsettings):
    """Ingest quarantines repeated keys before it commits, so a batch holding exactly the rows
    its manifest says were loaded is not recounted; any other batch is, and fails on a repeat."""

    def opp(i: str) -> dict:
        return {"opportunity_id": f"OPP-{i}", "partner_id": "P00002", "amount": 10,
                "currency": "EUR", "stage": "proposal", "created_date": TODAY}  # fmt: skip

    with connect(qsettings) as conn:
        build(conn, Spec())
        ensure_raw_schema(conn)
        batches = {
            "as-loaded": [opp("A1"), opp("A2")],  # manifest: 2 rows loaded
            "row-added": [opp("B1"), opp("B1")],  # manifest: 1 row; a repeat appended later
            "no-manifest": [opp("C1"), opp("C1"), opp("C2")],  # written outside ingest
        }
        for batch_id, rows in batches.items():
            insert(conn, "opportunities", rows, batch_id=batch_id, extract_date=TODAY)
        _manifest(conn, "as-loaded", 2)
        _manifest(conn, "row-added", 1)
    run = run_all(qsettings, run_id="r1", today=TODAY)
    unique = {
        r.batch_id: r for r in run.results if r.check_name == "unique_key" and r.batch_id in batches
    }
    assert {b: (r.passed, r.observed_value, r.details["proved_by"]) for b, r in unique.items()} == {
        "as-loaded": (True, 0, "ingest"),
        "row-added": (False, 1, "count"),
        "no-manifest": (False, 1, "count"),
    }
