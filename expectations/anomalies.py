"""Anomaly detection with thresholds learned from history (robust z-scores over MAD).

Every detector returns, per evaluated item, an *excess*: how far the value lies outside
its learned band (<= 0 inside). Great Expectations then expects ``excess <= 0``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from expectations.config import BandChurn, NullRate, RevenueSpike, Volume
from expectations.profiling import ensure_partner_months
from orchestration.extracts import get_entity
from orchestration.warehouse import table_exists

MAD_SCALE = 1.4826  # MAD of a normal distribution -> standard deviation
# A batch covering less than 1/CADENCE_TOLERANCE of the usual span between deliveries (a daily
# delivery of a monthly source, say) is compared per usual span; months run 28 to 31 days. A
# longer gap is a late or missed delivery (freshness says so), whose volume means nothing sure.
CADENCE_TOLERANCE = 1.5


@dataclass
class Band:
    center: float
    spread: float  # scaled MAD
    allowed: float  # half-width of the accepted band
    history: int
    seasonal_factor: float | None = None

    def excess(self, value: float) -> float:
        return abs(value - self.center) - self.allowed

    def describe(self) -> str:
        return f"{self.center - self.allowed:.4g}..{self.center + self.allowed:.4g}"


def robust_band(values: list[float], k: float, floor: float) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=float)
    center = float(np.median(arr))
    spread = MAD_SCALE * float(np.median(np.abs(arr - center)))
    return center, spread, max(k * spread, floor)


def _months_between(a: date, b: date) -> int:
    return (a.year - b.year) * 12 + (a.month - b.month)


def _span_factors(dates: list[date], extract_date: date) -> tuple[list[float], float]:
    """Each earlier batch's span as a multiple of the usual span between deliveries (1.0 unless
    it is a more frequent delivery, and for the first batch), and the same for the batch at
    ``extract_date``."""
    spans = [(b - a).days for a, b in zip(dates, [*dates[1:], extract_date], strict=True)]
    usual = float(np.median(spans[:-1])) if len(spans) > 1 else 0.0

    def factor(days: int) -> float:
        ratio = days / usual if usual > 0 else 1.0
        return ratio if 0 < ratio < 1 / CADENCE_TOLERANCE else 1.0

    return [1.0, *(factor(d) for d in spans[:-1])], factor(spans[-1])


def _same_cadence(earlier: pd.DataFrame, extract_date: date) -> pd.DataFrame:
    """The earlier batches delivered at the cadence of the batch at ``extract_date``: the more
    frequent deliveries if it is one, the usual ones otherwise."""
    if earlier.empty:
        return earlier
    factors, span = _span_factors([d.date() for d in earlier["extract_date"]], extract_date)
    frequent = np.asarray(factors) < 1.0
    return earlier[frequent == (span < 1.0)]


def volume_band(
    history: pd.DataFrame, extract_date: date, cfg: Volume, *, restates: bool = False
) -> Band | None:
    """Band for a batch's row count from the batches before ``extract_date``.

    Counts of an append-only source are compared per usual delivery span: a one-day delivery
    of a monthly source is expected to hold about a thirtieth of a month's rows, and once such
    deliveries are in the history they count as their monthly equivalent.

    A source that ``restates`` its records (a snapshot entity) is not: its one-day delivery
    holds that day's changes, or the whole snapshot again, never a share of a month. Such a
    batch is compared only with earlier batches of its own cadence, and gets no verdict until
    there are ``min_history`` of them.
    """
    earlier = history[history["extract_date"] < pd.Timestamp(extract_date)]
    if restates:
        earlier = _same_cadence(earlier, extract_date)
    if len(earlier) < cfg.min_history:
        return None
    history_factors, span = _span_factors([d.date() for d in earlier["extract_date"]], extract_date)
    earlier = earlier.assign(
        row_count=earlier["row_count"].astype(float) / np.asarray(history_factors)
    )
    recent = earlier.tail(cfg.window)["row_count"].astype(float).tolist()
    center, spread, _ = robust_band(recent, cfg.k, 0.0)
    factor = None
    if len(earlier) >= cfg.seasonal_min_history:
        dates = [d.date() for d in earlier["extract_date"]]
        lag = [i for i, d in enumerate(dates) if _months_between(extract_date, d) == 12]
        if lag:
            i = lag[0]
            before = earlier.iloc[max(0, i - cfg.window) : i]["row_count"].astype(float)
            base, base_spread, _ = robust_band(before.tolist() or [0.0], cfg.k, 0.0)
            settled = len(before) >= cfg.min_history and base_spread <= (
                cfg.min_relative_change * base
            )
            year_ago = float(earlier.iloc[i]["row_count"])
            # A season is a year-ago departure beyond count noise from a settled level; a
            # young source's ramp-up or one noisy month would otherwise skew the band.
            if settled and base > 0 and abs(year_ago - base) > cfg.k * np.sqrt(base):
                factor = year_ago / base
                center, spread = center * factor, spread * factor
    center, spread = center * span, spread * span
    # Counts carry Poisson noise: small batches need at least k * sqrt(expected) of slack.
    allowed = max(cfg.k * spread, cfg.min_relative_change * center, cfg.k * np.sqrt(center))
    return Band(center, spread, allowed, len(recent), factor)


def null_rate_bands(
    history: pd.DataFrame,
    extract_date: date,
    cfg: NullRate,
    rows: int = 0,
    *,
    restates: bool = False,
) -> dict[str, Band] | None:
    """Bands per column; with ``rows`` the binomial noise of a rate over that many rows widens
    the band (k standard errors), so small batches do not alert on chance. A source that
    ``restates`` its records is compared only with batches of its own cadence: a day's changes
    (deals closed that day, say) fill other columns than a snapshot of all open records."""
    earlier = history[history["extract_date"] < pd.Timestamp(extract_date)]
    if restates:
        earlier = _same_cadence(earlier, extract_date)
    earlier = earlier.tail(cfg.window)
    if len(earlier) < cfg.min_history:
        return None
    rates: dict[str, list[float]] = {}
    for _, row in earlier.iterrows():
        nulls = json.loads(row["null_counts"]) if row["null_counts"] else {}
        for col, n in nulls.items():
            rates.setdefault(col, []).append(n / row["row_count"] if row["row_count"] else 0.0)
    out = {}
    for col, values in rates.items():
        center, spread, allowed = robust_band(values, cfg.k, cfg.min_abs_shift)
        if rows:
            p = min(max(center, 1.0 / rows), 1 - 1.0 / rows)
            allowed = max(allowed, cfg.k * float(np.sqrt(p * (1 - p) / rows)))
        out[col] = Band(center, spread, allowed, len(values))
    return out


UNBLOCKED = (
    "_batch_id not in (select batch_id from raw_meta.blocked_batches where released_at is null)"
)


# A won deal the pipeline never showed: first delivered already closed, in the extract that
# covers its closing month, though created in an earlier month.
_UNSEEN = (
    "f.first_extract_date > date_trunc('month', o.closed_date) "
    "and date_trunc('month', o.created_date) < date_trunc('month', o.closed_date)"
)


def revenue_spikes(
    conn: duckdb.DuckDBPyConnection, months: list[date], cfg: RevenueSpike
) -> pd.DataFrame:
    """Per partner and evaluated month: revenue ratio to its trailing level and support ratio.

    Support signals (opportunities created, deal registrations submitted, portal events) are
    each compared with their own trailing monthly level; the support ratio is their mean,
    each capped at 3. Only revenue the pipeline never showed counts towards a spike: won deals
    whose opportunity first appears, already closed, in the extract of the month it closed
    although it was created in an earlier month (a big deal that was in the pipeline for
    months is lumpy, not suspicious). ``excess`` > 0 flags unseen revenue >= ratio x baseline
    with support at most ``support_ratio_max``.
    """
    if not months or not table_exists(conn, "raw_crm", "opportunities"):
        return pd.DataFrame()
    signals = [
        """select partner_id, date_trunc('month', created_date) as month, count(*) as n
           from opps group by all""",
    ]
    # Registrations and portal events come from their per-batch partner-month counts: the
    # same sums as counting raw rows, without rescanning 10 M events on every run.
    for source, name in (("crm", "deal_registrations"), ("portal", "activity_events")):
        if table_exists(conn, f"raw_{source}", name):
            ensure_partner_months(conn, get_entity(source, name))
            signals.append(
                f"""select partner_id, month, sum(row_count) as n
                    from quality.batch_partner_months
                    where asset_key = 'raw_{source}/{name}'
                      and {UNBLOCKED.replace("_batch_id", "batch_id", 1)}
                    group by all"""
            )
    signal_union = " union all ".join(
        f"select {i} as signal, * from ({sql})" for i, sql in enumerate(signals)
    )
    months_sql = ", ".join(f"date '{m.isoformat()}'" for m in sorted(set(months)))
    t = cfg.trailing_months
    # Only opportunities with a row created or closed inside the trailing window can be a
    # target, its baseline or its created-count signal: their latest rows and first extracts
    # are all that is needed, not every opportunity since the first extract.
    window_start = (pd.Timestamp(min(months)) - pd.DateOffset(months=t)).date().isoformat()
    return (
        conn.execute(
            f"""
        with recent as (
            select * from raw_crm.opportunities
            where {UNBLOCKED}
              and opportunity_id in (
                  select opportunity_id from raw_crm.opportunities
                  where created_date >= date '{window_start}'
                     or closed_date >= date '{window_start}'
              )
        ),
        opps as (
            select * from recent
            qualify row_number() over (
                partition by opportunity_id order by _extract_date desc, _loaded_at desc
            ) = 1
        ),
        first_extract as (
            select opportunity_id, min(_extract_date) as first_extract_date
            from recent group by all
        ),
        won as (
            select o.partner_id, date_trunc('month', o.closed_date) as month,
                   sum(o.amount)::double as revenue, count(*) as deals,
                   coalesce(sum(o.amount) filter (where {_UNSEEN}), 0)::double as unseen_revenue,
                   count(*) filter (where {_UNSEEN}) as unseen_deals
            from opps o join first_extract f using (opportunity_id)
            where o.stage = 'closed_won' and o.closed_date is not null group by all
        ),
        signals as ({signal_union}),
        -- A partner's first month of any activity, over all history: opportunities from two
        -- date columns of their rows, the other signals from their partner-month counts.
        first_seen as (
            select partner_id, min(month) as first_month from (
                select partner_id, date_trunc('month', created_date) as month
                from raw_crm.opportunities where {UNBLOCKED}
                union all
                select partner_id, date_trunc('month', closed_date) as month
                from raw_crm.opportunities
                where {UNBLOCKED} and stage = 'closed_won' and closed_date is not null
                union all
                select partner_id, month from signals where signal > 0
            ) group by all
        ),
        targets as (
            select w.partner_id, w.month, w.revenue, w.deals, w.unseen_revenue, w.unseen_deals
            from won w where w.month in ({months_sql})
        ),
        baseline as (
            select t.partner_id, t.month,
                   coalesce(sum(w.revenue), 0) / {t} as baseline_revenue
            from targets t left join won w
              on w.partner_id = t.partner_id
             and w.month >= t.month - interval {t} month and w.month < t.month
            group by all
        ),
        signal_levels as (
            select t.partner_id, t.month, s.signal,
                   sum(case when s.month = t.month then s.n else 0 end) as current_n,
                   sum(case when s.month < t.month then s.n else 0 end) / {t} as trailing_n
            from targets t join signals s
              on s.partner_id = t.partner_id
             and s.month >= t.month - interval {t} month and s.month <= t.month
            group by all
        ),
        support as (
            select partner_id, month,
                   avg(least(current_n / trailing_n, 3.0)) as support_ratio,
                   sum(current_n) as activity_this_month
            from signal_levels where trailing_n > 0 group by all
        )
        select t.partner_id, t.month, t.revenue, t.deals, t.unseen_revenue, t.unseen_deals,
               b.baseline_revenue,
               t.unseen_revenue / greatest(b.baseline_revenue, {cfg.min_baseline})
                   as revenue_ratio,
               coalesce(s.support_ratio, 0) as support_ratio,
               coalesce(s.activity_this_month, 0) as activity_this_month,
               date_diff('month', f.first_month, t.month) as history_months
        from targets t
        join baseline b using (partner_id, month)
        left join support s using (partner_id, month)
        left join first_seen f using (partner_id)
        """
        )
        .df()
        .assign(
            excess=lambda d: np.where(
                (d["support_ratio"] <= cfg.support_ratio_max)
                & (d["history_months"] >= cfg.min_history_months),
                d["revenue_ratio"] - cfg.ratio,
                -1.0,
            )
        )
    )


def band_churn(conn: duckdb.DuckDBPyConnection, table: str, cfg: BandChurn) -> pd.DataFrame:
    """Share of partners whose band changed since their previous period, per grain and period,
    with the band learned from the periods before it; ``excess`` > 0 flags a period.

    Periods are compared within one scorecard version: a change of method (a new version, or a
    recorded re-scoring) moves bands by decision, not because of the data. A period in progress
    (``is_period_complete`` false: a daily refresh scores the month so far) is left out until
    the data covers it: its bands move with every day that fills it."""
    schema, name = table.split(".")
    has_flag = conn.execute(
        "select count(*) from information_schema.columns where table_schema = ? "
        "and table_name = ? and column_name = 'is_period_complete'",
        [schema, name],
    ).fetchone()[0]
    complete_only = "where is_period_complete" if has_flag else ""
    shares = conn.execute(
        f"""
        with s as (
            select partner_id, period_grain, period_start, band,
                   lag(band) over (
                       partition by partner_id, period_grain, scorecard_version
                       order by period_start
                   ) as previous_band
            from {table}
            {complete_only}
        )
        select period_grain, period_start,
               count(*) filter (where previous_band is not null) as partners_compared,
               count(*) filter (where previous_band is not null and band <> previous_band)
                   as partners_changed,
               list(partner_id order by partner_id) filter (
                   where previous_band is not null and band <> previous_band
               ) as changed_partner_ids
        from s group by all
        having count(*) filter (where previous_band is not null) > 0
        order by period_grain, period_start
        """
    ).df()
    if shares.empty:
        return shares
    shares["share"] = shares["partners_changed"] / shares["partners_compared"]
    excess, bands = [], []
    for _, group in shares.groupby("period_grain", sort=False):
        values: list[float] = []
        for _, row in group.iterrows():
            recent = values[-cfg.window :]
            if len(recent) >= cfg.min_history:
                center, _, allowed = robust_band(recent, cfg.k, 0.0)
                limit = max(center + allowed, cfg.min_share)
            else:
                limit = cfg.max_share_without_history
            excess.append((row.name, row["share"] - limit))
            bands.append((row.name, limit))
            values.append(float(row["share"]))
    shares["excess"] = pd.Series(dict(excess))
    shares["limit"] = pd.Series(dict(bands))
    return shares
