"""Row-level problems are quarantined with an exact row, column and reason; the rest loads."""

from __future__ import annotations

import datetime as dt
import json

from ingest_helpers import OPP_HEADER, opp_row

DATE = "2025-03-01"
FILE = f"crm/opportunities/{DATE}/opportunities.csv"
EVENTS = f"portal/activity_events/{DATE}/activity_events.jsonl.gz"


def _quarantine(query):
    return query(
        "select source_file, source_row, column_name, reason from raw_meta.quarantined_rows "
        "order by source_file, source_row"
    )


def test_bad_rows_are_quarantined_with_row_column_and_reason(landing, run_ingest, query):
    rows = [
        opp_row("O1"),
        opp_row("O2", amount="12,5x"),  # wrong type (quoted below, so one field)
        opp_row("O3") + ",surplus",  # malformed: one field too many
        opp_row(""),  # missing key
        opp_row("O1", partner_id="P00002"),  # duplicate of row 1
        opp_row("O6", stage=""),  # required value missing
        opp_row("O7", created_date="01/02/2025", is_won="maybe"),  # two problems
        opp_row("O8"),
    ]
    rows[1] = rows[1].replace("12,5x", '"12,5x"')
    landing("crm", "opportunities", DATE, "opportunities.csv", "\n".join([OPP_HEADER, *rows]))

    report = run_ingest("crm/opportunities")

    assert _quarantine(query) == [
        (FILE, 2, "amount", "amount: '12,5x' is not a decimal"),
        (
            FILE,
            3,
            None,
            "malformed row: too many columns (Expected Number of Columns: 11 Found: 12)",
        ),
        (FILE, 4, "opportunity_id", "missing required key opportunity_id"),
        (FILE, 5, "opportunity_id", "duplicate key opportunity_id 'O1': first seen in row 1"),
        (FILE, 6, "stage", "stage: required value is missing"),
        (
            FILE,
            7,
            "created_date",
            "created_date: '01/02/2025' is not an ISO date (YYYY-MM-DD); "
            "is_won: 'maybe' is not a boolean (true/false/1/0/yes/no)",
        ),
    ]
    assert query("select original_text from raw_meta.quarantined_rows where source_row = 3") == [
        (rows[2],)
    ]
    # Loaded rows keep their exact data-row number, also after the malformed line.
    assert query("select opportunity_id, _source_row from raw_crm.opportunities order by 2") == [
        ("O1", 1),
        ("O8", 8),
    ]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (8, 2, 6)


def test_types_are_parsed_per_contract(landing, run_ingest, query):
    rows = [
        opp_row("O1", amount="1234.5", is_won="yes", closed_date=""),
        opp_row("O2", amount=" 7 ", is_won="0"),
        opp_row("O3", is_won="FALSE"),
    ]
    landing("crm", "opportunities", DATE, "opportunities.csv", "\n".join([OPP_HEADER, *rows]))
    run_ingest("crm/opportunities")
    assert query(
        "select opportunity_id, amount::varchar, is_won, closed_date, deal_registration_id "
        "from raw_crm.opportunities order by 1"
    ) == [
        ("O1", "1234.50", True, None, None),
        ("O2", "7.00", False, dt.date(2025, 2, 20), None),
        ("O3", "100.00", False, dt.date(2025, 2, 20), None),
    ]


def _event(event_id: str, **extra: object) -> str:
    event = {
        "event_id": event_id,
        "partner_id": "P00001",
        "user_id": "U1",
        "event_type": "login",
        "occurred_at": "2025-03-02T10:00:00Z",
        "properties": {"page": "home"},
    }
    event.update(extra)
    return json.dumps(event)


def test_jsonl_rows_timestamps_and_extra_columns(landing, run_ingest, query):
    lines = [
        _event("E1", occurred_at="2025-03-02T12:30:00+02:00"),
        '{"event_id": "E2", "partner_id": ',  # invalid JSON
        _event("E3", browser="firefox"),  # unexpected key kept
        "",  # blank line
        _event("E5", occurred_at="yesterday"),
        "[1, 2]",
        _event("E7", occurred_at="2025-03-02 08:00:00"),  # naive: UTC
    ]
    landing("portal", "activity_events", DATE, "activity_events.jsonl.gz", "\n".join(lines), True)

    report = run_ingest("portal/activity_events")

    assert _quarantine(query) == [
        (EVENTS, 2, None, "malformed row: not valid JSON"),
        (EVENTS, 4, None, "malformed row: empty line"),
        (EVENTS, 5, "occurred_at", "occurred_at: 'yesterday' is not an ISO 8601 timestamp"),
        (EVENTS, 6, None, "malformed row: not a JSON object"),
    ]
    assert query("select original_text from raw_meta.quarantined_rows where source_row = 2") == [
        (lines[1],)
    ]
    assert query(
        "select event_id, occurred_at, properties::varchar, _extra_columns::varchar, _source_row "
        "from raw_portal.activity_events order by event_id"
    ) == [
        ("E1", dt.datetime(2025, 3, 2, 10, 30), '{"page":"home"}', None, 1),
        ("E3", dt.datetime(2025, 3, 2, 10, 0), '{"page":"home"}', '{"browser":"firefox"}', 3),
        ("E7", dt.datetime(2025, 3, 2, 8, 0), '{"page":"home"}', None, 7),
    ]
    assert report.extra_columns == ["browser"]
    assert query("select extra_columns from raw_meta.file_manifest") == [(["browser"],)]


def test_extra_csv_column_is_kept_and_listed(landing, run_ingest, query):
    text = f"{OPP_HEADER},region_code\n{opp_row('O1')},EMEA\n{opp_row('O2')},\n"
    landing("crm", "opportunities", DATE, "opportunities.csv", text)
    report = run_ingest("crm/opportunities")
    assert report.extra_columns == ["region_code"]
    assert query(
        "select opportunity_id, _extra_columns::varchar from raw_crm.opportunities order by 1"
    ) == [("O1", '{"region_code":"EMEA"}'), ("O2", None)]


def test_duplicate_key_across_parts_names_the_first_file(landing, run_ingest, query):
    landing(
        "crm",
        "opportunities",
        DATE,
        "opportunities-part-0001.csv",
        f"{OPP_HEADER}\n{opp_row('O1')}",
    )
    landing(
        "crm",
        "opportunities",
        DATE,
        "opportunities-part-0002.csv",
        f"{OPP_HEADER}\n{opp_row('O1')}",
    )
    run_ingest("crm/opportunities")
    assert query("select source_file, reason from raw_meta.quarantined_rows") == [
        (
            f"crm/opportunities/{DATE}/opportunities-part-0002.csv",
            "duplicate key opportunity_id 'O1': first seen in row 1 of "
            f"crm/opportunities/{DATE}/opportunities-part-0001.csv",
        )
    ]


def test_xapi_statements_are_flattened(landing, run_ingest, query):
    ext = "https://partnerscore.dev/xapi/"
    statement = {
        "id": "R1",
        "actor": {"account": {"homePage": "https://lms.example.com", "name": "L1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
        "object": {
            "id": "https://lms.example.com/courses/C42",
            "definition": {
                "name": {"en-US": "Security Specialist"},
                "extensions": {f"{ext}course-kind": "certification"},
            },
        },
        "result": {"score": {"scaled": 0.87}},
        "context": {
            "extensions": {
                f"{ext}partner-id": "P00001",
                f"{ext}certification-expires": "2027-01-31",
            }
        },
        "timestamp": "2025-03-02T10:00:00Z",
    }
    enrolled = {**statement, "id": "R2", "verb": {"id": "http://adlnet.gov/expapi/verbs/enrolled"}}
    del enrolled["result"]
    text = json.dumps(statement) + "\n" + json.dumps(enrolled) + "\n"
    landing("lms", "learning_records", DATE, "learning_records.xapi.jsonl.gz", text, gz=True)
    report = run_ingest("lms/learning_records")
    assert report.errors == []
    assert query(
        "select record_id, learner_id, partner_id, course_id, course_name, course_kind, verb, "
        "score, occurred_at, certification_expires_date from raw_lms.learning_records order by 1"
    ) == [
        (
            "R1",
            "L1",
            "P00001",
            "C42",
            "Security Specialist",
            "certification",
            "passed",
            87.0,
            dt.datetime(2025, 3, 2, 10, 0),
            dt.date(2027, 1, 31),
        ),
        (
            "R2",
            "L1",
            "P00001",
            "C42",
            "Security Specialist",
            "certification",
            "enrolled",
            None,
            dt.datetime(2025, 3, 2, 10, 0),
            dt.date(2027, 1, 31),
        ),
    ]


def test_parquet_rows_keep_their_row_numbers(data_dir, run_ingest, query):
    import duckdb

    folder = data_dir.landing_dir / "crm" / "partners" / DATE
    folder.mkdir(parents=True)
    duckdb.sql(
        f"""
        copy (
            select 'P' || i as partner_id, 'Partner ' || i as partner_name, 'msp' as partner_type,
                'gold' as tier, 'EMEA' as region, date '2020-01-01' as joined_date,
                'active' as status, case when i = 3 then null else i end as employee_count
            from range(1, 6) t(i)
            union all select null, 'No id', 'msp', 'gold', 'EMEA', date '2020-01-01', 'active', 1
        ) to '{folder / "partners.parquet"}' (format parquet)
        """
    )
    report = run_ingest("crm/partners")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (6, 5, 1)
    assert _quarantine(query) == [
        (
            f"crm/partners/{DATE}/partners.parquet",
            6,
            "partner_id",
            "missing required key partner_id",
        )
    ]
    assert query(
        "select partner_id, employee_count from raw_crm.partners where _source_row = 3"
    ) == [("P3", None)]


def test_json_column_keeps_any_json_value(landing, run_ingest, query):
    lines = [_event("E1"), _event("E2").replace('{"page": "home"}', '"{not an object"')]
    landing("portal", "activity_events", DATE, "activity_events.jsonl.gz", "\n".join(lines), True)
    report = run_ingest("portal/activity_events")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0)
    assert query("select properties::varchar from raw_portal.activity_events order by 1") == [
        ('"{not an object"',),
        ('{"page":"home"}',),
    ]


def test_jsonl_without_broken_objects_keeps_exact_reasons(landing, run_ingest, query):
    """Lines that do not start like an object are told apart without the careful re-parse."""
    lines = [_event("E1"), "not json", '"a string"', "   ", _event("E5", browser="x")]
    landing("portal", "activity_events", DATE, "activity_events.jsonl.gz", "\n".join(lines), True)
    report = run_ingest("portal/activity_events")
    assert _quarantine(query) == [
        (EVENTS, 2, None, "malformed row: not valid JSON"),
        (EVENTS, 3, None, "malformed row: not a JSON object"),
        (EVENTS, 4, None, "malformed row: empty line"),
    ]
    assert query("select event_id, _source_row from raw_portal.activity_events order by 1") == [
        ("E1", 1),
        ("E5", 5),
    ]
    assert report.extra_columns == ["browser"]


def test_jsonl_bad_encoding_after_the_sample_rejects_the_file(landing, run_ingest, query):
    """The direct line scan notices the reader's rejects and the file is rejected as before."""
    good = "\n".join(_event(f"E{i}") for i in range(1, 1001))  # well past the 64 KiB head
    data = good.encode() + b"\n" + _event("E1001").replace("home", "h\xe9me").encode("latin-1")
    landing("portal", "activity_events", DATE, "activity_events.jsonl.gz", data, True)
    report = run_ingest("portal/activity_events")
    assert report.files_rejected == 1
    assert "is not UTF-8 encoded (invalid byte sequence on data row 1001)" in report.errors[0]
    assert query("select count(*) from raw_portal.activity_events") == [(0,)]
