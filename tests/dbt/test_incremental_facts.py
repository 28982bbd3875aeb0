"""The monthly facts and their per-batch event fingerprints: incremental equals a full refresh.

int_partner_event_fingerprints_monthly redoes only the load batches whose events changed, and
int_partner_metric_facts_monthly only the partner-months whose fingerprint changed. Each step
below changes the inputs the way production does and then checks, on a small generated landing
zone, that both models equal a `--full-refresh` build of the same warehouse row for row, and that
the run touched only the batches and partner-months it had to: the cases where a cheap check could
miss a change (a batch that gains one event and loses another in the same run, a correction
changed and then withdrawn, a partner-month whose only events are blocked) are here on purpose.
"""

from __future__ import annotations

import csv
import gzip
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.settings import Settings, get_settings
from tests.dbt.incremental_steps import (
    build_and_compare,
    execute,
    ingest,
    query,
    read_events,
    replace_scope_counts,
    run_dbt,
    write_events,
)

pytestmark = pytest.mark.e2e

MODELS = (
    "intermediate.int_partner_event_fingerprints_monthly",
    "intermediate.int_partner_metric_facts_monthly",
)
SELECT = ["--select", "+int_partner_metric_facts_monthly"]
FULL_REFRESH = ["--select", *(model.split(".")[1] for model in MODELS), "--full-refresh"]
FACTS = "intermediate.int_partner_metric_facts_monthly"
EVENT_FINGERPRINTS = "intermediate.int_partner_event_fingerprints_monthly"


def _build_and_compare(settings: Settings) -> dict[str, tuple[int, int]]:
    """Incremental build, then a full refresh of a copy; returns the scope of each model."""
    return build_and_compare(settings, SELECT, FULL_REFRESH, MODELS)


def _portal(settings: Settings, extract_date: str) -> Path:
    return settings.landing_dir / "portal" / "activity_events" / extract_date


def _write_events(folder: Path, rows: list[dict]) -> None:
    write_events(folder / "activity_events.jsonl.gz", rows)


def _batch(settings: Settings, extract_date: str) -> str:
    """The batch id the portal extract of that date was loaded under."""
    return execute(
        settings,
        "select distinct _batch_id from raw_portal.activity_events "
        "where _extract_date = cast(? as date) and _batch_id not like '%:quarantine'",
        [extract_date],
    )[0][0]


def _block(settings: Settings, extract_date: str) -> None:
    execute(
        settings,
        """
        insert into raw_meta.blocked_batches
        select distinct _batch_id, 'portal', 'activity_events', _extract_date, 'test_check',
            'test block', now(), null
        from raw_portal.activity_events where _extract_date = cast(? as date)
        """,
        [extract_date],
    )


def _correct(settings: Settings, correction_id: str, event_id: str, partner_id: str) -> None:
    execute(
        settings,
        "insert into raw_meta.corrections values (?, 'portal', 'activity_events', ?, "
        "'partner_id', ?, 'test', now(), 'wrong partner', null)",
        [correction_id, event_id, partner_id],
    )


def _facts(settings: Settings, partner_id: str, month: str) -> int:
    return query(
        settings.warehouse_path,
        f"select count(*) from {FACTS} where partner_id = ? and activity_month = cast(? as date)",
        [partner_id, month],
    )[0][0]


def test_monthly_facts_incremental_equals_full_refresh(tmp_path, monkeypatch):
    """One scenario, in order; each step starts from the incremental state of the last."""
    from orchestration.generate import generate_demo

    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    settings = get_settings()
    settings.ensure_dirs()
    generate_demo(settings, partners=20, months=3, seed=5, events=3000, end_month="2025-03")
    ingest(settings)
    run_dbt(settings, "build", *SELECT, "--exclude-resource-type", "test", "unit_test")

    # the extract of 2025-03-01 holds February's events; the last extract is 2025-04-01
    february = {e["event_id"]: e for e in read_events(_portal(settings, "2025-03-01"))}
    partners = sorted({e["partner_id"] for e in february.values()})
    ids = sorted(february)
    first, second, third = february[ids[0]], february[ids[1]], february[ids[2]]
    moved = min(read_events(_portal(settings, "2025-02-01")), key=lambda e: e["event_id"])
    other = next(p for p in partners if p != first["partner_id"])
    facts_before = query(settings.warehouse_path, f"select count(*) from {FACTS}")[0][0]

    # 1. a new day with a late event for an old month, an event for a month nobody had yet, and
    # a re-sent copy of a February event (same id, another partner and month) that dedup prefers
    day = [
        {**first, "event_id": "NEW-1", "occurred_at": "2025-03-30T09:00:00Z"},
        {**first, "event_id": "LATE-1", "occurred_at": "2025-01-15T08:00:00Z"},
        {**first, "event_id": "JUNE-1", "partner_id": other, "occurred_at": "2025-06-01T08:00:00Z"},
        {**second, "partner_id": other, "occurred_at": "2025-01-20T10:00:00Z"},
    ]
    _write_events(_portal(settings, "2025-04-02"), day)
    ingest(settings)
    scope = _build_and_compare(settings)
    assert _facts(settings, other, "2025-06-01") > 0
    assert query(
        settings.warehouse_path,
        "select partner_id from staging.stg_portal__activity_events where event_id = ?",
        [second["event_id"]],
    ) == [(other,)]
    # the new batch and the February batch (it lost the re-sent event) were redone, no other
    redone = query(
        settings.warehouse_path,
        f"select count(*) from {EVENT_FINGERPRINTS} where batch_id in (?, ?)",
        [_batch(settings, "2025-04-02"), _batch(settings, "2025-03-01")],
    )[0][0]
    assert scope["int_partner_event_fingerprints_monthly"] == (redone, redone)
    assert 0 < scope["int_partner_metric_facts_monthly"][1] < facts_before / 2

    # 2. nothing changed: nothing is rewritten
    scope = replace_scope_counts(settings, run_dbt(settings, "run", *SELECT))
    assert scope["int_partner_event_fingerprints_monthly"] == (0, 0)
    assert scope["int_partner_metric_facts_monthly"] == (0, 0)

    # 3. in one run the February batch gains an event and loses another, at the same count: the
    # day's batch is blocked (the re-sent event falls back to its February row) while a new day
    # re-sends another February event. The June partner-month has no facts left: deleted.
    # Partner ops move a January event to another partner.
    _block(settings, "2025-04-02")
    _write_events(
        _portal(settings, "2025-04-03"),
        [{**third, "partner_id": other, "occurred_at": "2025-02-11T10:00:00Z"}],
    )
    targets = sorted(p for p in partners if p != moved["partner_id"])
    _correct(settings, "C1", moved["event_id"], targets[0])
    ingest(settings)
    _build_and_compare(settings)
    assert _facts(settings, other, "2025-06-01") == 0
    assert query(
        settings.warehouse_path,
        "select event_id, partner_id, is_corrected from staging.stg_portal__activity_events "
        "where event_id in (?, ?, ?) order by event_id",
        [second["event_id"], third["event_id"], moved["event_id"]],
    ) == sorted(
        [
            (second["event_id"], second["partner_id"], False),
            (third["event_id"], other, False),
            (moved["event_id"], targets[0], True),
        ]
    )
    assert (
        query(
            settings.warehouse_path,
            f"select count(*) from {EVENT_FINGERPRINTS} where batch_id = ?",
            [_batch(settings, "2025-04-02")],
        )[0][0]
        == 0
    )

    # 4. the block is released, the February extract is re-delivered without its first event,
    # and the correction is changed to a third partner
    execute(settings, "update raw_meta.blocked_batches set released_at = now()")
    folder = _portal(settings, "2025-03-01")
    kept = [e for e in february.values() if e["event_id"] != first["event_id"]]
    for path in folder.iterdir():
        path.unlink()
    _write_events(folder, kept)
    _correct(settings, "C2", moved["event_id"], targets[1])
    ingest(settings)
    _build_and_compare(settings)
    assert _facts(settings, other, "2025-06-01") > 0

    # 5. the correction is withdrawn: the batch that held it is redone once more
    execute(settings, "delete from raw_meta.corrections")
    scope = _build_and_compare(settings)
    assert scope["int_partner_event_fingerprints_monthly"][0] > 0

    # 6. a CRM restatement alone: a new opportunities extract that moves one won opportunity to
    # another partner. No event batch is redone (the withdrawn correction's batch no more).
    opportunities = settings.landing_dir / "crm" / "opportunities"
    last = sorted(p for p in opportunities.iterdir() if p.is_dir())[-1]
    source = next(last.glob("opportunities.csv*"))
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", newline="") as lines:
        rows = list(csv.DictReader(lines))
    won = next(r for r in rows if r["stage"] == "closed_won" and r["closed_date"])
    restated = settings.landing_dir / "crm" / "opportunities" / "2025-04-05"
    restated.mkdir(parents=True)
    with open(restated / "opportunities.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(won))
        writer.writeheader()
        writer.writerow({**won, "partner_id": other, "amount": "1234.5"})
    ingest(settings)
    scope = _build_and_compare(settings)
    assert scope["int_partner_event_fingerprints_monthly"] == (0, 0)
    assert 0 < scope["int_partner_metric_facts_monthly"][1] < facts_before / 2
    assert query(
        settings.warehouse_path,
        "select partner_id, amount from staging.stg_crm__opportunities where opportunity_id = ?",
        [won["opportunity_id"]],
    ) == [(other, Decimal("1234.50"))]
