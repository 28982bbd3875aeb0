from __future__ import annotations

import datetime as dt

import pytest

from orchestration.extracts import get_entity
from orchestration.ingest import detect_format, scan_landing


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("opportunities.csv", ("csv", False)),
        ("opportunities.csv.gz", ("csv", True)),
        ("activity_events-part-0001.jsonl.gz", ("jsonl", True)),
        ("learning_records.xapi.jsonl.gz", ("xapi", True)),
        ("learning_records.xapi.jsonl", ("xapi", False)),
        ("partners.parquet", ("parquet", False)),
        ("partners.xlsx", None),
        ("partners.parquet.gz", None),
    ],
)
def test_detect_format(name, expected):
    assert detect_format(name) == expected


def test_scan_finds_extracts_and_reports_what_does_not_fit(data_dir, landing):
    landing("crm", "partners", "2025-03-01", "partners.csv", "partner_id\n")
    landing("crm", "partners", "2025-04-01", "partners.csv", "partner_id\n")
    landing("crm", "partner", "2025-03-01", "partner.csv", "x\n")  # typo in the entity
    landing("erp", "invoices", "2025-03-01", "invoices.csv", "x\n")  # unknown source
    landing("crm", "partners", "March-2025", "partners.csv", "x\n")  # bad date folder
    landing("crm", "partners", "2025-05-01", "partners.xlsx", "x")  # unknown file type

    scan = scan_landing(data_dir.landing_dir)

    partners = get_entity("crm", "partners")
    dates = [f.extract_date for f in scan.for_entity(partners)]
    assert dates == [dt.date(2025, 3, 1), dt.date(2025, 4, 1)]
    problems = {p.path: p.problem for p in scan.problems}
    assert set(problems) == {
        "erp",
        "crm/partner",
        "crm/partners/March-2025",
        "crm/partners/2025-05-01/partners.xlsx",
    }
    assert problems["crm/partner"].startswith("unknown entity folder; expected one of crm/partners")
    assert "expected YYYY-MM-DD" in problems["crm/partners/March-2025"]
    assert str(scan.problems[0]).startswith("landing/")


def test_unknown_entity_folder_is_reported_by_the_entity_ingest(landing, run_ingest):
    landing("crm", "opportunity", "2025-03-01", "opportunity.csv", "x\n")
    report = run_ingest("crm/opportunities")
    assert report.files == []
    assert [str(p) for p in report.landing_problems] == [
        "landing/crm/opportunity: unknown entity folder; expected one of "
        "crm/partners, crm/opportunities, crm/deal_registrations, crm/leads, "
        "crm/csat_responses, crm/renewals, portal/activity_events, lms/learning_records"
    ]
