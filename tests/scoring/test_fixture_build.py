"""End-to-end: the real ``dbt build`` on the fixture warehouse, checked against known inputs."""

from __future__ import annotations

from decimal import Decimal

from tests.scoring.fixture_data import (
    BLOCKED_BATCH,
    CORRECTED_OPPORTUNITY,
    MOVED_PARTNER,
    QUALITY,
    month_start,
)


def test_staging_keeps_latest_extract_and_applies_corrections(fixture_conn) -> None:
    row = fixture_conn.execute(
        "select amount, amount_usd, stage, is_corrected, extract_date "
        "from staging.stg_crm__opportunities where opportunity_id = ?",
        [CORRECTED_OPPORTUNITY],
    ).fetchone()
    # restated in the 2025-03 extract as won, then corrected by partner ops to 4321.00
    assert row[0] == Decimal("4321.00") and row[1] == 4321.0
    assert row[2] == "closed_won" and row[3] is True
    assert str(row[4]) == "2025-03-01"


def test_staging_excludes_blocked_batches(fixture_conn) -> None:
    raw = fixture_conn.execute(
        "select count(*) from raw_crm.opportunities where _batch_id = ?", [BLOCKED_BATCH]
    ).fetchone()[0]
    staged = fixture_conn.execute(
        "select count(*) from staging.stg_crm__opportunities where batch_id = ?", [BLOCKED_BATCH]
    ).fetchone()[0]
    assert raw > 0 and staged == 0


def test_eur_amounts_are_converted_with_the_seeded_rate(fixture_conn) -> None:
    mismatches = fixture_conn.execute(
        """select count(*) from staging.stg_crm__opportunities as o
           join scoring_config.fx_rates as fx
             on fx.currency = o.currency and fx.month = date_trunc('month', o.closed_date)
           where o.currency = 'EUR' and abs(o.amount_usd - o.amount * fx.usd_per_unit) > 0.01"""
    ).fetchone()[0]
    eur = fixture_conn.execute(
        "select count(*) from staging.stg_crm__opportunities where currency = 'EUR'"
    ).fetchone()[0]
    assert eur > 0 and mismatches == 0


def test_scores_track_the_fixture_quality(fixture_conn) -> None:
    frame = fixture_conn.execute(
        "select partner_id, avg(score) as score from marts.fct_partner_scores "
        "where period_grain = 'month' group by partner_id"
    ).df()
    frame["quality"] = frame.partner_id.map(QUALITY)
    assert len(frame) == len(QUALITY)
    assert frame[["score", "quality"]].corr(method="spearman").iloc[0, 1] > 0.8


def test_versions_rescoring_and_peer_fallback(fixture_conn) -> None:
    versions = dict(
        fixture_conn.execute(
            "select period_start::varchar, scorecard_version || ':' || is_rescored "
            "from marts.fct_partner_scores where period_grain = 'month' group by all"
        ).fetchall()
    )
    assert versions["2025-03-01"] == "v1:false"
    assert versions["2025-05-01"] == "v2:true"  # rescoring R001 (Apr-Jun 2025)
    assert versions["2025-08-01"] == "v2:false"
    assert versions["2026-03-01"] == "v3:true"  # rescoring R002 (2026 under v3)
    segments = dict(
        fixture_conn.execute(
            "select distinct region, peer_segment from marts.fct_partner_scores "
            "where partner_id in ('P031', 'P001')"
        ).fetchall()
    )
    assert segments == {"APAC": "reseller", "NA": "reseller / NA"}  # APAC group of 1 falls back


def test_every_score_has_band_rank_and_next_steps(fixture_conn) -> None:
    bad = fixture_conn.execute(
        """select count(*) from marts.fct_partner_scores
           where band is null or rank_in_segment < 1 or next_steps is null
              or recommended_tier is null"""
    ).fetchone()[0]
    warnings = fixture_conn.execute(
        "select count(*) from marts.fct_partner_scores where is_early_warning"
    ).fetchone()[0]
    assert bad == 0 and warnings > 0


def test_snapshots_hold_partners_and_published_scores(fixture_conn) -> None:
    partners = fixture_conn.execute("select count(*) from snapshots.snap_partners").fetchone()[0]
    scores = fixture_conn.execute("select count(*) from snapshots.snap_partner_scores").fetchone()
    published = fixture_conn.execute("select count(*) from marts.fct_partner_scores").fetchone()
    assert partners == len(QUALITY)
    assert scores == published


def test_a_partner_that_changed_track_is_scored_with_its_peers_of_the_time(fixture_conn) -> None:
    rows = fixture_conn.execute(
        """select period_start, partner_type, peer_segment, attributes_extract_date
           from marts.fct_partner_scores
           where partner_id = ? and period_grain = 'month' order by period_start""",
        [MOVED_PARTNER],
    ).fetchall()
    moved = month_start(8)  # the extract describing 2025-09 is the first to say msp
    assert len(rows) == 18
    for period_start, partner_type, peer_segment, extract_date in rows:
        expected = "msp" if period_start >= moved else "reseller"
        assert partner_type == expected, period_start
        assert peer_segment == f"{expected} / EMEA"
        assert extract_date == month_start(
            period_start.month - 1 + 12 * (period_start.year - 2025) + 1
        )
    # Its components use the weights of the type it had: reseller plug-ins before, msp after.
    plugins = dict(
        fixture_conn.execute(
            """select period_start, string_agg(metric_key, ',' order by metric_key)
               from marts.fct_partner_score_components
               where partner_id = ? and period_grain = 'month'
                 and period_start in ('2025-08-01', '2025-09-01')
               group by period_start""",
            [MOVED_PARTNER],
        ).fetchall()
    )
    assert "deal_velocity_days" in plugins[month_start(7)]
    assert "deal_velocity_days" not in plugins[month_start(8)]
    assert "event_attendance" in plugins[month_start(8)]
