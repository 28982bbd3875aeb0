"""File-level failures: the file is rejected with a message naming it; the rest still loads."""

from __future__ import annotations

import codecs
import gzip

from ingest_helpers import OPP_HEADER, opp_row

DATE = "2025-03-01"
FOLDER = f"crm/opportunities/{DATE}"


def _good_csv(*ids: str) -> str:
    return "\n".join([OPP_HEADER, *(opp_row(i) for i in ids)]) + "\n"


def test_truncated_gzip_is_rejected_and_other_files_still_load(landing, run_ingest, query):
    landing(
        "crm", "opportunities", DATE, "opportunities-part-0001.csv.gz", _good_csv("O1"), gz=True
    )
    big = gzip.compress(_good_csv(*[f"O{i}" for i in range(2, 5000)]).encode())
    landing("crm", "opportunities", DATE, "opportunities-part-0002.csv.gz", big[: len(big) // 2])

    report = run_ingest("crm/opportunities")

    assert report.errors == [
        f"landing/{FOLDER}/opportunities-part-0002.csv.gz: truncated gzip file "
        "(the compressed stream ends early; re-deliver the file)"
    ]
    assert (report.files_loaded, report.files_rejected, report.rows_loaded) == (1, 1, 1)
    assert query("select opportunity_id from raw_crm.opportunities") == [("O1",)]
    assert query(
        "select source_file, status, rows_read from raw_meta.file_manifest order by 1"
    ) == [
        (f"{FOLDER}/opportunities-part-0001.csv.gz", "loaded", 1),
        (f"{FOLDER}/opportunities-part-0002.csv.gz", "rejected", None),
    ]


def test_corrupt_gzip_data_is_rejected(landing, run_ingest):
    big = bytearray(gzip.compress(_good_csv(*[f"O{i}" for i in range(1, 5000)]).encode()))
    big[len(big) // 2 : len(big) // 2 + 64] = b"\xff" * 64  # damaged inside the deflate stream
    landing("crm", "opportunities", DATE, "opportunities.csv.gz", bytes(big))
    report = run_ingest("crm/opportunities")
    assert len(report.errors) == 1
    assert report.errors[0].startswith(
        f"landing/{FOLDER}/opportunities.csv.gz: corrupt gzip data ("
    ), report.errors
    assert (report.files_loaded, report.rows_loaded) == (0, 0)


def test_multi_member_gzip_loads_every_member(landing, run_ingest, query):
    # concatenated gzip members are one valid file (`cat a.gz b.gz`); all rows load
    members = gzip.compress(_good_csv("O1", "O2").encode()) + gzip.compress(
        "\n".join(opp_row(i) for i in ("O3", "O4")).encode() + b"\n"
    )
    landing("crm", "opportunities", DATE, "opportunities.csv.gz", members)
    report = run_ingest("crm/opportunities")
    assert report.errors == []
    assert query("select opportunity_id from raw_crm.opportunities order by 1") == [
        ("O1",),
        ("O2",),
        ("O3",),
        ("O4",),
    ]


def test_wrong_format_is_rejected(landing, run_ingest):
    landing("crm", "opportunities", DATE, "opportunities.csv", '{"opportunity_id": "O1"}\n')
    report = run_ingest("crm/opportunities")
    assert report.errors == [
        f"landing/{FOLDER}/opportunities.csv: looks like JSON, not CSV; check the file extension"
    ]


def test_csv_in_a_jsonl_file_is_rejected(landing, run_ingest):
    landing("portal", "activity_events", DATE, "activity_events.jsonl", "event_id,partner_id\n")
    report = run_ingest("portal/activity_events")
    assert report.errors == [
        f"landing/portal/activity_events/{DATE}/activity_events.jsonl: "
        "is not JSON lines: line 1 is not a JSON object"
    ]


def test_gz_name_without_gzip_content_is_rejected(landing, run_ingest):
    landing("crm", "opportunities", DATE, "opportunities.csv.gz", _good_csv("O1"))
    report = run_ingest("crm/opportunities")
    assert report.errors == [
        f"landing/{FOLDER}/opportunities.csv.gz: named .gz but is not gzip-compressed"
    ]


def test_missing_required_columns_are_named(landing, run_ingest, query):
    header = "opportunity_id,partner_id,currency,created_date,product_line"
    landing("crm", "opportunities", DATE, "opportunities.csv.gz", f"{header}\nO1,P1,USD,,x\n", True)
    report = run_ingest("crm/opportunities")
    assert report.errors == [
        f"landing/{FOLDER}/opportunities.csv.gz: missing required column(s) amount, stage; "
        f"found: {header.replace(',', ', ')}"
    ]
    assert query("select status, error from raw_meta.file_manifest") == [
        ("rejected", report.errors[0])
    ]


def test_non_utf8_file_is_rejected(landing, run_ingest, query):
    text = _good_csv("O1") + opp_row("O2", product_line="caf\u00e9") + "\n"
    landing("crm", "opportunities", DATE, "opportunities.csv", text.encode("latin-1"))
    report = run_ingest("crm/opportunities")
    assert report.errors == [
        f"landing/{FOLDER}/opportunities.csv: is not UTF-8 encoded (byte 0xe9 on line 3); "
        "re-export the file as UTF-8"
    ]
    assert query("select count(*) from raw_crm.opportunities") == [(0,)]


def test_utf16_file_is_rejected(landing, run_ingest):
    landing("crm", "opportunities", DATE, "opportunities.csv", _good_csv("O1").encode("utf-16"))
    report = run_ingest("crm/opportunities")
    assert report.errors == [
        f"landing/{FOLDER}/opportunities.csv: is UTF-16 encoded (byte-order mark found); "
        "expected UTF-8"
    ]


def test_utf8_with_bom_loads(landing, run_ingest, query):
    landing(
        "crm",
        "opportunities",
        DATE,
        "opportunities.csv",
        codecs.BOM_UTF8 + _good_csv("O1").encode(),
    )
    report = run_ingest("crm/opportunities")
    assert report.errors == []
    assert query("select opportunity_id, amount::varchar from raw_crm.opportunities") == [
        ("O1", "100.00")
    ]


def test_rejected_file_with_same_hash_is_not_retried_but_a_changed_one_is(landing, run_ingest):
    header = "opportunity_id,partner_id"
    landing("crm", "opportunities", DATE, "opportunities.csv", f"{header}\nO1,P1\n")
    assert run_ingest("crm/opportunities").files_rejected == 1

    again = run_ingest("crm/opportunities")
    assert (again.errors, again.files_rejected, again.files_skipped) == ([], 0, 1)
    assert again.files[0].status == "still_rejected"
    assert again.still_rejected[0].startswith(f"landing/{FOLDER}/opportunities.csv: missing")

    landing("crm", "opportunities", DATE, "opportunities.csv", _good_csv("O1"))
    fixed = run_ingest("crm/opportunities")
    assert (fixed.errors, fixed.files_loaded, fixed.files_replaced) == ([], 1, 1)


def test_format_not_in_the_contract_is_rejected(landing, run_ingest):
    landing("crm", "opportunities", DATE, "opportunities.jsonl", '{"opportunity_id": "O1"}\n')
    report = run_ingest("crm/opportunities")
    assert report.errors == [
        f"landing/{FOLDER}/opportunities.jsonl: jsonl files are not accepted for "
        "crm/opportunities; expected csv, parquet"
    ]


def test_csv_text_in_a_parquet_file_is_rejected(landing, run_ingest):
    landing("lms", "learning_records", DATE, "learning_records.parquet", "record_id\nR1\n")
    report = run_ingest("lms/learning_records")
    assert report.errors == [
        f"landing/lms/learning_records/{DATE}/learning_records.parquet: is not a Parquet file "
        "(no PAR1 magic bytes at its start and end); check the file extension"
    ]
