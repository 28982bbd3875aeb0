"""A tiny landing zone written by hand in the team's extract formats, with known answers."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from orchestration.extracts import get_entity


def _columns(entity: str) -> list[str]:
    contract = get_entity("crm", entity)
    assert contract is not None
    return [c.name for c in contract.columns]


PARTNER_COLUMNS = _columns("partners")
OPPORTUNITY_COLUMNS = _columns("opportunities")
DEAL_REGISTRATION_COLUMNS = _columns("deal_registrations")


def _csv(path: Path, columns: list[str], rows: list[dict], compress: bool) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data) if compress else data)


def _jsonl_gz(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))


def _xapi(record_id: str, partner_id: str, verb: str, course: str, kind: str, ts: str) -> dict:
    statement = {
        "id": record_id,
        "actor": {"account": {"homePage": "https://lms.example.com", "name": f"L-{partner_id}"}},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}},
        "object": {
            "id": f"https://lms.example.com/courses/{course}",
            "definition": {
                "name": {"en-US": course},
                "extensions": {"https://partnerscore.dev/xapi/course-kind": kind},
            },
        },
        "context": {"extensions": {"https://partnerscore.dev/xapi/partner-id": partner_id}},
        "timestamp": ts,
    }
    if verb in ("passed", "failed"):
        statement["result"] = {"score": {"scaled": 0.9}}
    return statement


def write_tiny_landing(landing: Path) -> None:
    """Four resellers in NA over two months (2025-01, 2025-02), extracts dated the 1st after.

    Known answers for 2025-01: P1 won 1000 (its 500 opportunity is restated lost in the
    February extract, so only the latest state counts), P2 has 3 portal events, P3 passed
    one certification, P4 did nothing.
    """
    partners = [
        {
            "partner_id": f"P{i}",
            "partner_name": f"Partner {i}",
            "partner_type": "reseller",
            "tier": "silver",
            "region": "NA",
            "country": "US",
            "segment": "smb",
            "joined_date": "2020-01-01",
            "status": "active",
            "parent_partner_id": "",
            "employee_count": 10,
        }
        for i in range(1, 5)
    ]
    for extract in ("2025-02-01", "2025-03-01"):
        _csv(landing / f"crm/partners/{extract}/partners.csv", PARTNER_COLUMNS, partners, False)

    def opportunity(oid: str, amount: int, stage: str, won: str, closed: str) -> dict:
        return {
            "opportunity_id": oid,
            "partner_id": "P1",
            "customer_id": "C1",
            "amount": amount,
            "currency": "USD",
            "stage": stage,
            "created_date": "2025-01-05",
            "closed_date": closed,
            "is_won": won,
            "product_line": "core",
            "deal_registration_id": "",
        }

    _csv(
        landing / "crm/opportunities/2025-02-01/opportunities.csv.gz",
        OPPORTUNITY_COLUMNS,
        [
            opportunity("O1", 1000, "closed_won", "true", "2025-01-20"),
            opportunity("O2", 500, "closed_won", "true", "2025-01-25"),
        ],
        True,
    )
    _csv(
        landing / "crm/opportunities/2025-03-01/opportunities.csv.gz",
        OPPORTUNITY_COLUMNS,
        [opportunity("O2", 500, "closed_lost", "false", "2025-01-25")],
        True,
    )
    _csv(
        landing / "crm/deal_registrations/2025-02-01/deal_registrations.csv.gz",
        DEAL_REGISTRATION_COLUMNS,
        [
            {
                "deal_registration_id": "D1",
                "partner_id": "P1",
                "customer_id": "C1",
                "submitted_date": "2025-01-03",
                "decided_date": "2025-01-04",
                "status": "approved",
                "estimated_value": 900,
                "currency": "USD",
            }
        ],
        True,
    )
    events = [
        {
            "event_id": f"E{n}",
            "partner_id": partner,
            "user_id": f"U-{partner}",
            "event_type": event_type,
            "occurred_at": occurred,
            "properties": {"content_id": "CNT-0001"},
        }
        for n, (partner, event_type, occurred) in enumerate(
            [
                ("P2", "login", "2025-01-02T10:00:00Z"),
                ("P2", "content_view", "2025-01-02T10:05:00Z"),
                ("P2", "event_attendance", "2025-01-09T15:00:00Z"),
                ("P1", "login", "2025-02-03T09:00:00Z"),
            ]
        )
    ]
    _jsonl_gz(
        landing / "portal/activity_events/2025-02-01/activity_events-part-0001.jsonl.gz",
        events[:3],
    )
    _jsonl_gz(
        landing / "portal/activity_events/2025-03-01/activity_events-part-0001.jsonl.gz",
        events[3:],
    )
    _jsonl_gz(
        landing / "lms/learning_records/2025-02-01/learning_records.xapi.jsonl.gz",
        [
            _xapi("R1", "P3", "passed", "CERT-001", "certification", "2025-01-10T12:00:00Z"),
            _xapi("R2", "P3", "completed", "MOD-001", "module", "2025-01-11T12:00:00Z"),
        ],
    )
