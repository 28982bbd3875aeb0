"""CRM extracts: partners, opportunities, deal registrations, leads, renewals, CSAT.

Simulated month by month. Records whose state changes after the month they were created in
(an opportunity closing, a registration decided, a lead converting, a renewal coming due)
are queued and restated in the later month's extract, as a real CRM export would.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from orchestration.extracts import PARTNER_TYPES, REGIONS, SEGMENTS, TIERS
from orchestration.generate.population import (
    BURN_IN,
    FX_PER_USD,
    ZERO_DECIMAL_CURRENCIES,
    Population,
)

PRODUCT_LINES = ("platform", "security", "analytics", "cloud_services", "support_plans")
PRODUCT_P = (0.34, 0.24, 0.18, 0.16, 0.08)
SEGMENT_DEAL_USD = np.array([9_000.0, 32_000.0, 120_000.0])  # median deal size per segment
OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")

# Volume rates per unit of size and engagement; size drives volumes, quality drives ratios.
RATE_OPPS = 0.9
RATE_DEAL_REGS = 0.55
RATE_LEADS = 1.1
RATE_CSAT = 0.45


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    if len(numbers) == 0:
        return np.zeros(0, dtype=object)
    return np.char.add(prefix, np.char.zfill(np.asarray(numbers).astype(str), width)).astype(object)


def to_local(usd: np.ndarray, currency: np.ndarray) -> np.ndarray:
    fx = np.array([FX_PER_USD[c] for c in currency]) if len(currency) else np.zeros(0)
    local = usd * fx
    zero_dec = np.isin(currency, list(ZERO_DECIMAL_CURRENCIES))
    return np.where(zero_dec, np.round(local, 0), np.round(local, 2))


@dataclass
class MonthOutput:
    partners: pd.DataFrame
    opportunities: pd.DataFrame
    deal_registrations: pd.DataFrame
    leads: pd.DataFrame | None
    renewals: pd.DataFrame
    csat_responses: pd.DataFrame


@dataclass
class CrmSimulator:
    pop: Population
    rng: np.random.Generator
    # Optional demo faults that change what is generated (see defects.py).
    quiet_partner: int = -1  # no new activity in the last month (revenue spike defect)
    leads_stop_month: int | None = None  # leads extracts stop (stale source defect)
    null_customer_last_month: bool = False
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    restate: dict[tuple[str, int], list[pd.DataFrame]] = field(
        default_factory=lambda: defaultdict(list)
    )
    dr_opps: dict[int, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    lead_convs: dict[int, list[pd.DataFrame]] = field(default_factory=lambda: defaultdict(list))
    renewals_due: dict[int, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    won_usd: np.ndarray = field(init=False)
    created_opps: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.won_usd = np.zeros((self.pop.n, self.pop.months))
        self.created_opps = np.zeros((self.pop.n, self.pop.months), dtype=np.int64)
        self.customer_pool = np.clip(np.round(25 * self.pop.size), 6, 999).astype(int)

    # -- helpers ---------------------------------------------------------------------------
    def _next_ids(self, kind: str, k: int) -> np.ndarray:
        start = self.counters[kind]
        self.counters[kind] += k
        return np.arange(start + 1, start + k + 1)

    def _customers(self, p: np.ndarray) -> np.ndarray:
        k = (self.rng.random(len(p)) * self.customer_pool[p]).astype(int)
        return ids("C", (p + 1) * 1000 + k, 8)

    def _month_bounds(self, t: int) -> tuple[np.datetime64, int]:
        start = np.datetime64(self.pop.month_date(t), "D")
        days = int((np.datetime64(self.pop.month_date(t + 1), "D") - start).astype(int))
        return start, days

    def _month_of(self, days: np.ndarray) -> np.ndarray:
        first = np.datetime64(self.pop.first_month, "M").astype(int)
        return days.astype("datetime64[M]").astype(int) - first

    def _volume(self, rate: np.ndarray, t: int) -> np.ndarray:
        rate = np.where(self.pop.status_at(t) == "terminated", 0.0, rate)
        if self.quiet_partner >= 0 and t == self.pop.months - 1:
            rate = rate.copy()
            rate[self.quiet_partner] = 0.0
        return self.rng.poisson(rate)

    # -- one month -------------------------------------------------------------------------
    def month(self, t: int) -> MonthOutput:
        pop = self.pop
        e = pop.engagement[:, t + BURN_IN]
        partners = self._partners(t)
        drs = self._deal_registrations(t, e)
        new_leads = self._leads(t, e)
        opps = self._opportunities(t)  # also converts this month's leads
        leads = self.month_leads(t, new_leads)
        renewals = self._renewals(t)
        csat = self._csat(t)
        return MonthOutput(partners, opps, drs, leads, renewals, csat)

    def _partners(self, t: int) -> pd.DataFrame:
        pop = self.pop
        month_end = np.datetime64(pop.month_date(t + 1), "D")
        present = np.flatnonzero(pop.join_date < month_end)
        tier = pop.tier_at(t)[present]
        parent = pop.parent[present]
        parent_ok = (parent >= 0) & (pop.join_date[np.maximum(parent, 0)] < month_end)
        growth = np.where(pop.trajectory[present] == 0, 1 + 0.012 * t, 1.0)
        growth = np.where(pop.trajectory[present] == 3, 1 - 0.006 * t, growth)
        return pd.DataFrame(
            {
                "partner_id": pop.partner_ids(present).astype(object),
                "partner_name": pop.names[present],
                "partner_type": np.array(PARTNER_TYPES, dtype=object)[pop.partner_type[present]],
                "tier": np.array(TIERS, dtype=object)[tier],
                "region": np.array(REGIONS, dtype=object)[pop.region[present]],
                "country": pop.country[present],
                "segment": np.array(SEGMENTS, dtype=object)[pop.segment[present]],
                "joined_date": pop.join_date[present],
                "status": pop.status_at(t)[present],
                "parent_partner_id": np.where(
                    parent_ok, pop.partner_ids(np.maximum(parent, 0)).astype(object), None
                ),
                "employee_count": np.round(pop.employees[present] * growth).astype(np.int64),
            }
        )

    def _deal_registrations(self, t: int, e: np.ndarray) -> pd.DataFrame:
        pop, rng = self.pop, self.rng
        k = self._volume(RATE_DEAL_REGS * pop.size * e, t)
        p = np.repeat(np.arange(pop.n), k)
        n = len(p)
        start, days = self._month_bounds(t)
        submitted = start + rng.integers(0, days, n).astype("timedelta64[D]")
        decided = submitted + rng.integers(1, 35, n).astype("timedelta64[D]")
        q = pop.quality[p]
        u = rng.random(n)
        # Quality shows in how often the vendor approves what a partner registers.
        status = np.where(u < 0.25 + 0.65 * q, "approved", "rejected").astype(object)
        status[rng.random(n) < 0.04] = "expired"
        usd = SEGMENT_DEAL_USD[pop.segment[p]] * np.exp(rng.normal(0, 0.9, n))
        df = pd.DataFrame(
            {
                "deal_registration_id": ids("DR-", self._next_ids("dr", n), 7),
                "partner_id": pop.partner_ids(p).astype(object),
                "customer_id": self._customers(p),
                "submitted_date": submitted,
                "decided_date": decided,
                "status": status,
                "estimated_value": to_local(usd, pop.currency[p]),
                "currency": pop.currency[p],
            }
        )
        dm = self._month_of(decided)
        final = df.copy()
        later = dm > t
        df.loc[later, "status"] = "pending"
        df.loc[later, "decided_date"] = pd.NaT
        for m in np.unique(dm[later]):
            if m < pop.months:
                self.restate[("deal_registrations", int(m))].append(final[dm == m])
        # Approved registrations become opportunities 1-4 months after the decision: deal
        # registrations lead pipeline, which leads revenue.
        approved = np.flatnonzero(status == "approved")
        when = dm[approved] + rng.integers(1, 4, len(approved))
        for i, m in zip(approved, when, strict=True):
            if m < pop.months:
                self.dr_opps[int(m)].append(
                    (p[i], df["deal_registration_id"].iat[i], df["customer_id"].iat[i], usd[i])
                )
        decided_now = self.restate.pop(("deal_registrations", t), [])
        return _concat([df, *decided_now])

    def _leads(self, t: int, e: np.ndarray) -> pd.DataFrame:
        pop, rng = self.pop, self.rng
        stopped = self.leads_stop_month is not None and t >= self.leads_stop_month
        k = self._volume(RATE_LEADS * pop.size * e * (0 if stopped else 1), t)
        p = np.repeat(np.arange(pop.n), k)
        n = len(p)
        start, days = self._month_bounds(t)
        created = start + rng.integers(0, days, n).astype("timedelta64[D]")
        q = pop.quality[p]
        converts = rng.random(n) < 0.06 + 0.4 * q
        converted = created + rng.integers(5, 100, n).astype("timedelta64[D]")
        df = pd.DataFrame(
            {
                "lead_id": ids("L-", self._next_ids("lead", n), 7),
                "partner_id": pop.partner_ids(p).astype(object),
                "created_date": created,
                "lead_source": np.where(
                    rng.random(n) < 0.3 + 0.4 * q, "partner_sourced", "vendor_referred"
                ).astype(object),
                "is_converted": False,
                "converted_date": pd.NaT,
                "opportunity_id": None,
                "_p": p,
                "_conv": converted,
            }
        )
        cm = self._month_of(converted)
        for m in np.unique(cm[converts]):
            if m < pop.months:
                self.lead_convs[int(m)].append(df[converts & (cm == m)].copy())
        # Leads converting this month (created now or earlier) become opportunities now.
        return df

    def _opportunities(self, t: int) -> pd.DataFrame:
        pop, rng = self.pop, self.rng
        start, days = self._month_bounds(t)
        quiet = self.quiet_partner if t == pop.months - 1 else -1
        k = self._volume(RATE_OPPS * pop.size * pop.pipeline_driver[:, t], t)
        p_base = np.repeat(np.arange(pop.n), k)
        created_base = start + rng.integers(0, days, len(p_base)).astype("timedelta64[D]")

        dr = [x for x in self.dr_opps.pop(t, []) if x[0] != quiet]
        p_dr = np.array([x[0] for x in dr], dtype=int)
        created_dr = start + rng.integers(0, days, len(dr)).astype("timedelta64[D]")

        convs = [c for c in self.lead_convs.pop(t, [])]
        lead_rows = pd.concat(convs) if convs else None
        if lead_rows is not None:
            lead_rows = lead_rows[lead_rows["_p"] != quiet]
        p_lead = lead_rows["_p"].to_numpy() if lead_rows is not None else np.zeros(0, int)
        created_lead = (
            lead_rows["_conv"].to_numpy().astype("datetime64[D]")
            if lead_rows is not None
            else np.zeros(0, "datetime64[D]")
        )

        p = np.concatenate([p_base, p_dr, p_lead]).astype(int)
        created = np.concatenate([created_base, created_dr, created_lead])
        n = len(p)
        q = pop.quality[p]
        usd = SEGMENT_DEAL_USD[pop.segment[p]] * np.exp(rng.normal(0, 1.0, n))
        usd[len(p_base) : len(p_base) + len(dr)] = [x[3] * np.exp(rng.normal(0, 0.2)) for x in dr]
        customers = self._customers(p)
        customers[len(p_base) : len(p_base) + len(dr)] = [x[2] for x in dr]
        dr_ids = np.full(n, None, dtype=object)
        dr_ids[len(p_base) : len(p_base) + len(dr)] = [x[1] for x in dr]
        # Better partners close faster and win more often.
        cycle = np.clip(rng.lognormal(np.log(100 * (1.5 - q)), 0.5), 7, 540).astype(int)
        won = rng.random(n) < 0.1 + 0.55 * q
        closed = created + cycle.astype("timedelta64[D]")
        opp_ids = ids("OPP-", self._next_ids("opp", n), 7)
        final = pd.DataFrame(
            {
                "opportunity_id": opp_ids,
                "partner_id": pop.partner_ids(p).astype(object),
                "customer_id": customers,
                "amount": to_local(usd, pop.currency[p]),
                "currency": pop.currency[p],
                "stage": np.where(won, "closed_won", "closed_lost").astype(object),
                "created_date": created,
                "closed_date": closed,
                "is_won": pd.array(won, dtype="boolean"),
                "product_line": rng.choice(PRODUCT_LINES, n, p=PRODUCT_P).astype(object),
                "deal_registration_id": dr_ids,
            }
        )
        np.add.at(self.created_opps[:, t], p, 1)
        cm = self._month_of(closed)
        now = final.copy()
        open_now = cm > t
        month_end = start + np.timedelta64(days, "D")
        elapsed = (month_end - created).astype(int) / np.maximum(cycle, 1)
        stage_idx = np.clip((elapsed * 4).astype(int), 0, 3)
        now.loc[open_now, "stage"] = np.array(OPEN_STAGES, dtype=object)[stage_idx[open_now]]
        now.loc[open_now, "closed_date"] = pd.NaT
        now.loc[open_now, "is_won"] = pd.NA
        for m in np.unique(cm[open_now]):
            if m < pop.months:
                self.restate[("opportunities", int(m))].append(final[cm == m])
        wins = np.flatnonzero(won & (cm < pop.months))
        np.add.at(self.won_usd, (p[wins], cm[wins]), usd[wins])
        # Won deals become contracts that come up for renewal a year after closing.
        for i in wins:
            due = int(cm[i]) + 12
            if due < pop.months:
                self.renewals_due[due].append((p[i], customers[i], usd[i], closed[i] + 365))

        if lead_rows is not None and len(lead_rows):
            lead_final = lead_rows.copy()
            lead_final["is_converted"] = True
            lead_final["converted_date"] = lead_final["_conv"]
            lead_final["opportunity_id"] = opp_ids[len(p_base) + len(dr) :]
            self.restate[("leads", t)].append(lead_final)

        closing = self.restate.pop(("opportunities", t), [])
        out = _concat([now, *closing])
        if self.null_customer_last_month and t == pop.months - 1:
            out.loc[rng.random(len(out)) < 0.85, "customer_id"] = None
        return out

    def _renewals(self, t: int) -> pd.DataFrame:
        """Renewals due next month appear as pending now; their outcome lands next month."""
        pop, rng = self.pop, self.rng
        rows = []
        targets = [t, t + 1] if t == 0 else [t + 1]
        for due in targets:
            if due >= pop.months:
                continue
            items = self.renewals_due.pop(due, [])
            p = np.array([x[0] for x in items], dtype=int)
            cust = np.array([x[1] for x in items], dtype=object)
            usd = np.array([x[2] for x in items], dtype=float)
            end = np.array([x[3] for x in items], dtype="datetime64[D]")
            if due < 12:  # contracts sold before the window
                k = rng.poisson(0.35 * pop.size * pop.active_at(due - 12))
                p0 = np.repeat(np.arange(pop.n), k)
                start, days = self._month_bounds(due)
                p = np.concatenate([p, p0])
                cust = np.concatenate([cust, self._customers(p0)])
                base = SEGMENT_DEAL_USD[pop.segment[p0]] * np.exp(rng.normal(0, 0.9, len(p0)))
                usd = np.concatenate([usd, base])
                end = np.concatenate(
                    [end, start + rng.integers(0, days, len(p0)).astype("timedelta64[D]")]
                )
            n = len(p)
            q = pop.quality[p]
            churned = pop.churn_month[p]
            leaving = (churned >= 0) & (due >= churned - 3)
            renew_p = np.where(leaving, 0.15, 0.4 + 0.55 * q)
            renewed = rng.random(n) < renew_p
            uplift = np.exp(rng.normal(0.04, 0.1, n))
            final = pd.DataFrame(
                {
                    "renewal_id": ids("RN-", self._next_ids("renewal", n), 7),
                    "partner_id": pop.partner_ids(p).astype(object),
                    "customer_id": cust,
                    "contract_end_date": end,
                    "renewal_status": np.where(renewed, "renewed", "churned").astype(object),
                    "original_amount": to_local(usd, pop.currency[p]),
                    "renewed_amount": np.where(
                        renewed, to_local(usd * uplift, pop.currency[p]), np.nan
                    ),
                    "currency": pop.currency[p],
                }
            )
            if due == t:
                rows.append(final)
            else:
                pending = final.copy()
                pending["renewal_status"] = "pending"
                pending["renewed_amount"] = np.nan
                rows.append(pending)
                self.restate[("renewals", due)].append(final)
        rows.extend(self.restate.pop(("renewals", t), []))
        return _concat(rows) if rows else _empty("renewals")

    def _csat(self, t: int) -> pd.DataFrame:
        pop, rng = self.pop, self.rng
        k = self._volume(RATE_CSAT * pop.size**0.7 * pop.pipeline_driver[:, t], t)
        p = np.repeat(np.arange(pop.n), k)
        n = len(p)
        q = pop.quality[p]
        nps = rng.random(n) < 0.4
        score = np.where(
            nps,
            np.clip(np.round(rng.normal(2.5 + 7.0 * q, 1.6)), 0, 10),
            np.clip(np.round(rng.normal(1.6 + 3.2 * q, 0.7)), 1, 5),
        )
        start, days = self._month_bounds(t)
        seconds = rng.integers(0, days * 86400, n).astype("timedelta64[s]")
        return pd.DataFrame(
            {
                "response_id": ids("CS-", self._next_ids("csat", n), 8),
                "partner_id": pop.partner_ids(p).astype(object),
                "customer_id": self._customers(p),
                "survey_type": np.where(nps, "nps", "csat").astype(object),
                "score": score,
                "responded_at": start.astype("datetime64[s]") + seconds,
            }
        )

    def month_leads(self, t: int, new: pd.DataFrame) -> pd.DataFrame | None:
        """This month's lead extract: new leads plus leads converted this month."""
        if self.leads_stop_month is not None and t >= self.leads_stop_month:
            self.restate.pop(("leads", t), None)
            return None
        converted = self.restate.pop(("leads", t), [])
        out = _concat([new, *converted])
        # A lead created and converted in the same month appears once, converted.
        out = out.drop_duplicates("lead_id", keep="last")
        return out.drop(columns=["_p", "_conv"])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate, skipping empty frames (their all-NA columns would blur the dtypes)."""
    nonempty = [f for f in frames if len(f)]
    if not nonempty:
        return frames[0].iloc[0:0]
    with warnings.catch_warnings():
        # Restated frames legitimately hold all-null columns (e.g. no conversions yet).
        warnings.simplefilter("ignore", FutureWarning)
        return pd.concat(nonempty, ignore_index=True)


def _empty(entity: str) -> pd.DataFrame:
    from orchestration.extracts import get_entity

    contract = get_entity("crm", entity)
    assert contract is not None
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in contract.columns})
