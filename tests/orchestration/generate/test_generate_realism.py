"""The hidden truth shows through the data the way the scoring model assumes it does."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.generate.population import build_population


def _spearman(a, b) -> float:
    # Pearson on average ranks; pandas' method="spearman" imports scipy lazily (slow).
    ra, rb = pd.Series(np.asarray(a)).rank(), pd.Series(np.asarray(b)).rank()
    return float(np.corrcoef(ra, rb)[0, 1])


@pytest.fixture(scope="module")
def warehouse(clean_run):
    """The clean run's extracts in DuckDB, latest state per key as staging would keep it."""
    settings, _ = clean_run
    landing = settings.landing_dir
    conn = duckdb.connect()
    for entity, key in (
        ("opportunities", "opportunity_id"),
        ("deal_registrations", "deal_registration_id"),
    ):
        conn.execute(
            f"create table {entity} as select * from read_csv('{landing}/crm/{entity}/*/*.csv.gz',"
            " filename = true) qualify row_number() over ("
            f"partition by {key} order by filename desc) = 1"
        )
    conn.execute(
        "create table events as select partner_id, strftime(occurred_at, '%Y-%m') as month, "
        f"count(*) as n from read_json('{landing}/portal/activity_events/*/*.jsonl.gz') group by all"
    )
    truth = pd.read_csv(settings.ground_truth_dir / "partners.csv")
    conn.register("truth", truth)
    return conn, truth


def test_size_is_drawn_independently_of_quality() -> None:
    pop = build_population(np.random.default_rng(11), 4000, 12, date(2024, 1, 1))
    assert abs(_spearman(pop.size, pop.quality)) < 0.06
    # ... while tier reflects both, as a real partner program's would.
    assert _spearman(pop.base_tier, pop.size) > 0.3
    assert _spearman(pop.base_tier, pop.quality) > 0.3


def test_quality_drives_ratios_and_size_drives_volumes(warehouse) -> None:
    conn, _ = warehouse
    rows = conn.execute(
        """
        select t.latent_quality, t.size_factor,
            avg(is_won::int) filter (where stage in ('closed_won', 'closed_lost')) as win_rate,
            count(*) as opportunities
        from opportunities o join truth t using (partner_id)
        group by all having count(*) filter (where stage in ('closed_won', 'closed_lost')) >= 5
        """
    ).df()
    assert len(rows) > 60
    assert _spearman(rows.win_rate, rows.latent_quality) > 0.45
    assert _spearman(rows.opportunities, rows.size_factor) > 0.6
    assert abs(_spearman(rows.opportunities, rows.latent_quality)) < 0.3
    approval = conn.execute(
        """
        select t.latent_quality, avg((status = 'approved')::int) as rate
        from deal_registrations d join truth t using (partner_id)
        where status in ('approved', 'rejected') group by all having count(*) >= 5
        """
    ).df()
    assert _spearman(approval.rate, approval.latent_quality) > 0.35


def test_portal_activity_leads_pipeline_by_months(warehouse) -> None:
    """Within a partner, activity now predicts pipeline in 4 months, not the other way round."""
    conn, _ = warehouse
    events = conn.execute("select * from events").df()
    opps = conn.execute(
        "select partner_id, strftime(created_date, '%Y-%m') as month, count(*) as n "
        "from opportunities group by all"
    ).df()
    months = sorted(events.month.unique())
    activity = events.pivot_table(index="partner_id", columns="month", values="n", fill_value=0)
    activity = activity.reindex(columns=months, fill_value=0)
    pipeline = opps.pivot_table(index="partner_id", columns="month", values="n", fill_value=0)
    pipeline = pipeline.reindex(index=activity.index, columns=months, fill_value=0)
    x = np.log1p(activity.to_numpy(float))
    y = np.log1p(pipeline.to_numpy(float))
    x -= x.mean(axis=1, keepdims=True)  # within-partner variation only: size drops out
    y -= y.mean(axis=1, keepdims=True)
    lag = 4
    ahead = np.corrcoef(x[:, :-lag].ravel(), y[:, lag:].ravel())[0, 1]
    behind = np.corrcoef(x[:, lag:].ravel(), y[:, :-lag].ravel())[0, 1]
    assert ahead > 0.2
    assert ahead > behind + 0.15


def test_trajectories_and_churn_in_ground_truth(clean_run) -> None:
    settings, _ = clean_run
    truth = pd.read_csv(settings.ground_truth_dir / "partners.csv")
    assert set(truth.trajectory) == {"rising", "steady", "seasonal", "declining", "churning"}
    churners = truth[truth.churns]
    assert (churners.trajectory == "churning").all() and len(churners) > 0
    assert churners.churn_month.notna().all() and truth[~truth.churns].churn_month.isna().all()
    assert truth.latent_quality.between(0, 1).all() and (truth.size_factor > 0).all()
    # A churner is inactive or terminated in the final partners snapshot.
    final = sorted((settings.landing_dir / "crm" / "partners").iterdir())[-1] / "partners.csv"
    snapshot = pd.read_csv(final).set_index("partner_id")
    assert set(snapshot.loc[churners.partner_id, "status"]) <= {"inactive", "terminated"}
    assert (snapshot.drop(index=churners.partner_id).status == "active").all()


def test_partner_attributes_cover_the_program(clean_run) -> None:
    settings, _ = clean_run
    final = sorted((settings.landing_dir / "crm" / "partners").iterdir())[-1] / "partners.csv"
    snapshot = pd.read_csv(final, keep_default_na=False)
    assert set(snapshot.partner_type) == {
        "reseller",
        "msp",
        "technology",
        "referral",
        "distributor",
    }
    assert set(snapshot.region) == {"NA", "EMEA", "APAC", "LATAM"}
    assert snapshot.country.nunique() >= 8 and set(snapshot.tier) >= {"registered", "gold"}
    assert (snapshot.parent_partner_id != "").sum() >= 1
    assert (snapshot.joined_date >= "2024-04-01").sum() >= 1  # some joined during the window
    opps = pd.read_csv(
        sorted((settings.landing_dir / "crm" / "opportunities").iterdir())[-1]
        / "opportunities.csv.gz"
    )
    assert opps.currency.nunique() >= 4 and opps.product_line.nunique() >= 4
