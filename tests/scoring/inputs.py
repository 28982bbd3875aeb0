"""Hypothesis strategies producing staging tables for the in-memory scoring runner."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pandas as pd
from hypothesis import strategies as st

MONTHS = [date(2025, m, 1) for m in range(1, 9)]  # v1, rescored (Apr-Jun) and v2 periods


@dataclass(frozen=True)
class PartnerMonth:
    won: int
    lost: int
    amount: int
    events: int
    completions: int
    csat: int | None
    renewal: str | None
    leads: int
    converted: int
    registrations: int
    approved: int


@dataclass(frozen=True)
class PartnerSpec:
    partner_type: str
    region: str
    months: tuple[PartnerMonth, ...]
    employees: int | None = None


partner_months = st.builds(
    PartnerMonth,
    won=st.integers(0, 3),
    lost=st.integers(0, 3),
    amount=st.integers(1, 50).map(lambda k: k * 1000),
    events=st.integers(0, 6),
    completions=st.integers(0, 2),
    csat=st.none() | st.integers(1, 5),
    renewal=st.sampled_from([None, "renewed", "churned"]),
    leads=st.integers(0, 3),
    converted=st.integers(0, 3),
    registrations=st.integers(0, 2),
    approved=st.integers(0, 2),
)

partner_specs = st.builds(
    PartnerSpec,
    partner_type=st.sampled_from(["reseller", "msp"]),
    region=st.sampled_from(["NA", "EMEA"]),
    months=st.lists(partner_months, min_size=len(MONTHS), max_size=len(MONTHS)).map(tuple),
)

populations = st.lists(partner_specs, min_size=2, max_size=7)


def with_amount_factor(specs: list[PartnerSpec], index: int, factor: int) -> list[PartnerSpec]:
    """The same population with one partner's opportunity amounts multiplied by factor."""
    target = specs[index]
    months = tuple(replace(m, amount=m.amount * factor) for m in target.months)
    return [replace(s, months=months) if i == index else s for i, s in enumerate(specs)]


def staging_frames(specs: list[PartnerSpec]) -> dict[str, pd.DataFrame]:
    rows: dict[str, list[dict]] = {}

    def add(table: str, **row: object) -> None:
        rows.setdefault(table, []).append({**row, "is_corrected": False})

    for p_index, spec in enumerate(specs):
        pid = f"P{p_index:03d}"
        add(
            "stg_crm__partners",
            partner_id=pid,
            partner_name=pid,
            partner_type=spec.partner_type,
            tier="silver",
            region=spec.region,
            joined_date=date(2024, 1, 1),
            status="active",
            employee_count=spec.employees,
        )
        # One extract per partner: its attributes stand for every period (no history yet).
        add(
            "stg_crm__partners_history",
            partner_id=pid,
            partner_name=pid,
            partner_type=spec.partner_type,
            tier="silver",
            region=spec.region,
            joined_date=date(2024, 1, 1),
            status="active",
            employee_count=spec.employees,
            extract_date=date(2024, 1, 1),
            valid_from_date=None,
            valid_to_date=None,
        )
        for m_index, (month, pm) in enumerate(zip(MONTHS, spec.months, strict=True)):
            key = f"{pid}-{m_index}"
            for n in range(pm.won + pm.lost):
                won = n < pm.won
                created = month + timedelta(days=n)
                add(
                    "stg_crm__opportunities",
                    opportunity_id=f"O-{key}-{n}",
                    partner_id=pid,
                    amount=pm.amount,
                    currency="USD",
                    amount_usd=float(pm.amount),
                    stage="closed_won" if won else "closed_lost",
                    created_date=created,
                    closed_date=created + timedelta(days=10 + n),
                    is_won=won,
                    is_closed=True,
                )
            for n in range(pm.registrations):
                add(
                    "stg_crm__deal_registrations",
                    deal_registration_id=f"D-{key}-{n}",
                    partner_id=pid,
                    submitted_date=month,
                    decided_date=month + timedelta(days=5),
                    status="approved" if n < pm.approved else "rejected",
                )
            for n in range(pm.leads):
                add(
                    "stg_crm__leads",
                    lead_id=f"L-{key}-{n}",
                    partner_id=pid,
                    created_date=month,
                    is_converted=n < pm.converted,
                )
            if pm.renewal:
                add(
                    "stg_crm__renewals",
                    renewal_id=f"R-{key}",
                    partner_id=pid,
                    contract_end_date=month + timedelta(days=3),
                    renewal_status=pm.renewal,
                )
            if pm.csat is not None:
                add(
                    "stg_crm__csat_responses",
                    response_id=f"S-{key}",
                    partner_id=pid,
                    survey_type="csat",
                    score=float(pm.csat),
                    satisfaction_score=(pm.csat - 1) * 25.0,
                    responded_at=datetime.combine(month, datetime.min.time()),
                    responded_date=month,
                )
            for n in range(pm.events):
                at = datetime.combine(month, datetime.min.time()) + timedelta(days=n)
                add(
                    "stg_portal__activity_events",
                    event_id=f"E-{key}-{n}",
                    partner_id=pid,
                    user_id=f"U-{pid}-{n % 2}",
                    event_type=("login", "event_attendance", "mdf_claim")[n % 3],
                    occurred_at=at,
                    occurred_date=at.date(),
                )
            for n in range(pm.completions):
                passed = n == 1
                at = datetime.combine(month, datetime.min.time()) + timedelta(days=2)
                add(
                    "stg_lms__learning_records",
                    record_id=f"X-{key}-{n}",
                    learner_id=f"U-{pid}-{n}",
                    partner_id=pid,
                    course_id=f"C-{m_index}-{n}",
                    course_kind="certification" if passed else "course",
                    verb="passed" if passed else "completed",
                    occurred_at=at,
                    occurred_date=at.date(),
                    certification_expires_date=month + timedelta(days=120) if passed else None,
                )
    # Period bounds come from activity: make sure every month exists even with sparse draws.
    for m_index, month in enumerate(MONTHS):
        at = datetime.combine(month, datetime.min.time())
        add(
            "stg_portal__activity_events",
            event_id=f"E-bound-{m_index}",
            partner_id="P-unknown",
            user_id="U-bound",
            event_type="login",
            occurred_at=at,
            occurred_date=month,
        )
    return {table: pd.DataFrame(table_rows) for table, table_rows in rows.items()}
