"""Re-delivery rules: identical files change nothing; a changed extract replaces its rows."""

from __future__ import annotations

from ingest_helpers import OPP_HEADER, opp_row

MANIFEST = (
    "select extract_date::varchar, source_file, file_sha256, status, rows_read, rows_loaded, "
    "rows_quarantined, batch_id from raw_meta.file_manifest order by all"
)


def _csv(*rows: str) -> str:
    return "\n".join([OPP_HEADER, *rows]) + "\n"


def test_identical_redelivery_changes_nothing(landing, run_ingest, query):
    landing("crm", "opportunities", "2025-03-01", "opportunities.csv.gz", _csv(opp_row("O1")), True)
    landing("crm", "opportunities", "2025-04-01", "opportunities.csv.gz", _csv(opp_row("O2")), True)
    first = run_ingest("crm/opportunities")
    manifest = query(MANIFEST)
    raw = query(
        "select opportunity_id, _batch_id, _loaded_at from raw_crm.opportunities order by 1"
    )

    # Re-written with the same bytes (new mtime): still skipped by content hash.
    landing("crm", "opportunities", "2025-03-01", "opportunities.csv.gz", _csv(opp_row("O1")), True)
    second = run_ingest("crm/opportunities")

    assert (first.files_loaded, len(first.batch_ids)) == (2, 2)
    assert (second.files_loaded, second.files_skipped, second.batch_ids) == (0, 2, [])
    assert query(MANIFEST) == manifest
    assert (
        query("select opportunity_id, _batch_id, _loaded_at from raw_crm.opportunities order by 1")
        == raw
    )


def test_changed_redelivery_replaces_the_extract(landing, run_ingest, query):
    landing(
        "crm",
        "opportunities",
        "2025-03-01",
        "opportunities.csv",
        _csv(opp_row("O1"), opp_row("O2")),
    )
    landing("crm", "opportunities", "2025-04-01", "opportunities.csv", _csv(opp_row("O9")))
    first = run_ingest("crm/opportunities")
    march_batch = first.batch_ids[0]

    # March re-delivered: O2 corrected, O3 added, plus a second part file.
    landing(
        "crm",
        "opportunities",
        "2025-03-01",
        "opportunities.csv",
        _csv(opp_row("O1"), opp_row("O2", amount="250.00"), opp_row("O3", amount="x")),
    )
    landing(
        "crm", "opportunities", "2025-03-01", "opportunities-part-0002.csv", _csv(opp_row("O4"))
    )
    second = run_ingest("crm/opportunities")

    assert (second.files_loaded, second.files_replaced, second.files_skipped) == (2, 1, 1)
    assert second.replaced_batch_ids == [march_batch]
    new_batch = second.batch_ids[0]
    assert new_batch != march_batch
    assert query(
        "select opportunity_id, amount::varchar, _batch_id = ? from raw_crm.opportunities "
        "where _extract_date = '2025-03-01' order by 1",
        [new_batch],
    ) == [("O1", "100.00", True), ("O2", "250.00", True), ("O4", "100.00", True)]
    assert query(
        "select count(*) from raw_crm.opportunities where _extract_date = '2025-04-01'"
    ) == [(1,)]
    assert query(
        "select source_file, status, rows_read, rows_loaded, rows_quarantined "
        "from raw_meta.file_manifest where extract_date = '2025-03-01' order by status, source_file"
    ) == [
        ("crm/opportunities/2025-03-01/opportunities-part-0002.csv", "loaded", 1, 1, 0),
        ("crm/opportunities/2025-03-01/opportunities.csv", "loaded", 3, 2, 1),
        ("crm/opportunities/2025-03-01/opportunities.csv", "replaced", 2, 2, 0),
    ]
    assert query("select source_row, batch_id = ? from raw_meta.quarantined_rows", [new_batch]) == [
        (3, True)
    ]


def test_rows_read_equals_loaded_plus_quarantined_per_file(landing, run_ingest, query):
    rows = [opp_row(f"O{i}") for i in range(1, 40)]
    rows[5] = opp_row("O6", amount="abc")
    rows[9] = opp_row("O1")  # duplicate
    rows[12] = rows[12] + ",extra-field"  # malformed
    landing("crm", "opportunities", "2025-03-01", "opportunities.csv", _csv(*rows))
    report = run_ingest("crm/opportunities")

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (39, 36, 3)
    assert query(
        """
        select m.rows_read, m.rows_loaded, m.rows_quarantined,
            (select count(*) from raw_crm.opportunities r where r._source_file = m.source_file),
            (select count(*) from raw_meta.quarantined_rows q where q.source_file = m.source_file)
        from raw_meta.file_manifest m
        """
    ) == [(39, 36, 3, 36, 3)]
    assert "rows read 39 = loaded 36 + quarantined 3" in report.summary()
