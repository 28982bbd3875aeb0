"""Plain helpers for ingest tests (a uniquely named module: `conftest` is ambiguous)."""

from __future__ import annotations

OPP_HEADER = (
    "opportunity_id,partner_id,customer_id,amount,currency,stage,created_date,closed_date,"
    "is_won,product_line,deal_registration_id"
)


def opp_row(opp_id: str, amount: str = "100.00", **overrides: str) -> str:
    values = {
        "opportunity_id": opp_id,
        "partner_id": "P00001",
        "customer_id": "C1",
        "amount": amount,
        "currency": "USD",
        "stage": "closed_won",
        "created_date": "2025-02-01",
        "closed_date": "2025-02-20",
        "is_won": "true",
        "product_line": "core",
        "deal_registration_id": "",
    }
    values.update(overrides)
    return ",".join(values.values())
