"""A clean run honours the extract contract file by file, and its expected counts are exact."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.extracts import DUCKDB_TYPES, ENTITIES

from .conftest import data_rows, landing_files

CSV_ENTITIES = [e for e in ENTITIES if e.source == "crm"]


def _typed_check(conn: duckdb.DuckDBPyConnection, entity, relation: str) -> None:
    """Every value casts to its contract type, required values and keys are present and unique.

    One aggregate query per relation keeps this fast; ``relation`` has a ``file`` column and
    keys must be unique within each file (= extract).
    """
    checks = []
    for col in entity.columns:
        name = f'"{col.name}"'
        checks.append(
            f"count(*) filter ({name} is not null "
            f'and try_cast({name} as {DUCKDB_TYPES[col.type]}) is null) as "cast:{col.name}"'
        )
        if col.required:
            checks.append(f'count(*) filter ({name} is null) as "null:{col.name}"')
        if col.accepted_values:
            accepted = ", ".join(f"'{v}'" for v in col.accepted_values)
            checks.append(f'count(*) filter ({name} not in ({accepted})) as "accepted:{col.name}"')
    cursor = conn.execute(f"select count(*) as rows, {', '.join(checks)} from {relation}")
    values = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    assert values.pop("rows") > 0, entity.name
    assert {k: v for k, v in values.items() if v} == {}, entity.name
    dupes = conn.execute(
        f"select count(*) - count(distinct (file, {entity.key})) from {relation}"
    ).fetchone()[0]
    assert dupes == 0, entity.name


@pytest.mark.parametrize("entity", CSV_ENTITIES, ids=lambda e: e.name)
def test_crm_csv_files_follow_the_contract(clean_run, entity) -> None:
    settings, _ = clean_run
    files = list(landing_files(settings, entity.source, entity.name))
    assert len(files) == 15, entity.name  # one extract per month
    expected_name = f"{entity.name}.csv" if entity.name == "partners" else f"{entity.name}.csv.gz"
    assert {p.name for p in files} == {expected_name}
    conn = duckdb.connect()
    source = f"read_csv({[str(p) for p in files]}, all_varchar=true, header=true, filename='file')"
    header = conn.execute(f"select * exclude (file) from {source} limit 0").description
    assert [d[0] for d in header] == [c.name for c in entity.columns]
    conn.execute(f"create temp table t as select * from {source}")
    _typed_check(conn, entity, "t")


def test_portal_events_follow_the_contract(clean_run) -> None:
    settings, _ = clean_run
    entity = next(e for e in ENTITIES if e.name == "activity_events")
    conn = duckdb.connect()
    parts = list(landing_files(settings, "portal", "activity_events"))
    assert {p.name for p in parts} == {"activity_events-part-0001.jsonl.gz"}
    first = json.loads(gzip_first_line(parts[0]))
    assert list(first) == [c.name for c in entity.columns]
    assert first["occurred_at"].endswith("Z") and isinstance(first["properties"], dict)
    conn.execute(
        "create temp table t as select * from read_json("
        f"{[str(p) for p in parts]}, format='newline_delimited', filename='file', "
        "columns={event_id: 'varchar', partner_id: 'varchar', user_id: 'varchar', "
        "event_type: 'varchar', occurred_at: 'varchar', properties: 'json'})"
    )
    _typed_check(conn, entity, "t")
    # Events belong to the month before their extract date, and ids are globally unique.
    misplaced = conn.execute(
        "select count(*) from t where strptime(occurred_at, '%Y-%m-%dT%H:%M:%SZ') "
        ">= strptime(regexp_extract(file, '(\\d{4}-\\d{2}-\\d{2})', 1), '%Y-%m-%d') "
        "or strptime(occurred_at, '%Y-%m-%dT%H:%M:%SZ') < strptime(regexp_extract(file, "
        "'(\\d{4}-\\d{2}-\\d{2})', 1), '%Y-%m-%d') - interval 1 month"
    ).fetchone()[0]
    assert misplaced == 0
    assert conn.execute("select count(distinct event_id) = count(*) from t").fetchone()[0]


def test_lms_xapi_statements_follow_the_team_shape(clean_run) -> None:
    settings, _ = clean_run
    entity = next(e for e in ENTITIES if e.name == "learning_records")
    conn = duckdb.connect()
    files = [str(p) for p in landing_files(settings, "lms", "learning_records")]
    assert all(f.endswith("learning_records.xapi.jsonl.gz") for f in files)
    # Flatten as the team decision defines it, then check the contract on the result.
    conn.execute(
        f"""
        create temp view t as
        select
            j->>'id' as record_id,
            j->'actor'->'account'->>'name' as learner_id,
            j->'context'->'extensions'->>'https://partnerscore.dev/xapi/partner-id' as partner_id,
            regexp_extract(j->'object'->>'id', '[^/]+$') as course_id,
            j->'object'->'definition'->'name'->>'en-US' as course_name,
            j->'object'->'definition'->'extensions'->>'https://partnerscore.dev/xapi/course-kind'
                as course_kind,
            regexp_extract(j->'verb'->>'id', '[^/]+$') as verb,
            (j->'result'->'score'->>'scaled')::double * 100 as score,
            j->>'timestamp' as occurred_at,
            filename as file,
            j->'context'->'extensions'->>'https://partnerscore.dev/xapi/certification-expires'
                as certification_expires_date,
            (j->'result') is null as no_result
        from (select json(line) as j, filename from read_csv({files},
              columns={{'line': 'varchar'}}, delim='{chr(1)}', quote='', header=false,
              filename=true))
        """
    )
    _typed_check(conn, entity, "t")
    rows = conn.execute(
        "select verb, count(*), count(score), count(certification_expires_date), "
        "min(score), max(score), sum(no_result::int) from t group by verb order by verb"
    ).fetchall()
    by_verb = {r[0]: r[1:] for r in rows}
    assert set(by_verb) == {"completed", "enrolled", "failed", "passed"}
    # Scores only on passed/failed; the result member is absent otherwise.
    assert by_verb["enrolled"][1] == 0 and by_verb["enrolled"][5] == by_verb["enrolled"][0]
    assert by_verb["passed"][1] == by_verb["passed"][0] and by_verb["passed"][3] >= 70
    assert by_verb["failed"][4] < 70
    # Expiry only on passed certifications.
    assert by_verb["failed"][2] == 0 and 0 < by_verb["passed"][2] < by_verb["passed"][0]


def test_expected_counts_equal_rows_written(clean_run) -> None:
    settings, summary = clean_run
    expected = json.loads((settings.ground_truth_dir / "expected_counts.json").read_text())
    assert set(expected) == {f"{e.source}/{e.name}" for e in ENTITIES}
    for entity in ENTITIES:
        figures = expected[f"{entity.source}/{entity.name}"]
        actual = sum(data_rows(p) for p in landing_files(settings, entity.source, entity.name))
        assert figures == {
            "rows_written": actual,
            "rows_expected_loaded": actual,
            "rows_expected_quarantined": 0,
            "files_expected_rejected": 0,
        }, entity.name
        assert summary.rows[f"{entity.source}/{entity.name}"] == actual
    assert (settings.ground_truth_dir / "defects.jsonl").read_text() == ""


def test_monthly_extract_layout(clean_run) -> None:
    settings, summary = clean_run
    folders = sorted(p.name for p in (settings.landing_dir / "crm" / "partners").iterdir())
    assert len(folders) == 15
    assert folders[-1] == "2025-07-01" and folders[0] == "2024-05-01"
    assert all(f.endswith("-01") for f in folders)
    assert summary.first_month == "2024-04" and summary.end_month == "2025-06"


def gzip_first_line(path) -> str:
    import gzip

    with gzip.open(path, "rt") as fh:
        return fh.readline()
