"""Column mappings: a Salesforce report export loads through config/column_mappings."""

from __future__ import annotations

import datetime as dt

import pytest

from orchestration.ingest import MappingError, load_mappings
from orchestration.ingest.mappings import MAPPINGS_DIR, load_mapping

SALESFORCE = (
    "Opportunity ID,Account ID,Opportunity Name,Amount,Opportunity Currency,Stage,"
    "Created Date (MM/DD/YYYY),Close Date,Won,Product Family,Deal Registration ID\n"
    "006A1,001P1,Acme renewal,12500.00,USD,Closed Won,03/14/2025,04/02/2025,1,Security,DR-9\n"
    "006A2,001P1,Globex,8000,EUR,Negotiation/Review,02/28/2025,,0,Network,\n"
    "006A3,001P2,Initech,900,USD,Closed Lost,13/01/2025,04/01/2025,0,Network,\n"
)


def test_shipped_mappings_are_valid():
    mappings = load_mappings(MAPPINGS_DIR)
    assert [m.name for m in mappings] == ["salesforce_opportunities"]
    assert mappings[0].entity == "crm/opportunities"


def test_salesforce_export_loads_end_to_end(landing, run_ingest, query):
    landing("crm", "opportunities", "2025-05-01", "opportunities.csv", SALESFORCE)
    report = run_ingest("crm/opportunities")

    assert report.errors == []
    assert report.files[0].mapping == "salesforce_opportunities"
    assert report.extra_columns == ["Opportunity Name"]
    assert query(
        "select opportunity_id, partner_id, amount::varchar, currency, stage, created_date, "
        "closed_date, is_won, product_line, deal_registration_id, _extra_columns::varchar "
        "from raw_crm.opportunities order by 1"
    ) == [
        (
            "006A1",
            "001P1",
            "12500.00",
            "USD",
            "closed_won",
            dt.date(2025, 3, 14),
            dt.date(2025, 4, 2),
            True,
            "Security",
            "DR-9",
            '{"Opportunity Name":"Acme renewal"}',
        ),
        (
            "006A2",
            "001P1",
            "8000.00",
            "EUR",
            "negotiation",
            dt.date(2025, 2, 28),
            None,
            False,
            "Network",
            None,
            '{"Opportunity Name":"Globex"}',
        ),
    ]
    assert query("select source_row, column_name, reason from raw_meta.quarantined_rows") == [
        (3, "created_date", "created_date: '13/01/2025' is not an ISO date (YYYY-MM-DD)")
    ]


def test_invalid_mapping_is_explained(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("entity: crm/opportunities\ncolumns:\n  amount_usd: Amount\n")
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    assert str(exc.value) == (
        f"{path}: invalid column mapping: "
        "columns: not contract columns of crm/opportunities: ['amount_usd']"
    )
    path.write_text("entity: crm/opportunity\ncolumns: {amount: Amount}\n")
    with pytest.raises(MappingError, match="unknown entity 'crm/opportunity'"):
        load_mapping(path)
