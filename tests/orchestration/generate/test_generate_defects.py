"""--defects: every kind injected, recorded where it really is, and counts still reconcile."""

from __future__ import annotations

import gzip
import json
import zlib

import pandas as pd
import pytest

from .conftest import data_rows, defects, landing_files, read_text

INGEST_KINDS = {
    "malformed_row": "ingest:quarantine",
    "wrong_type": "ingest:quarantine",
    "missing_key": "ingest:quarantine",
    "duplicate_key": "ingest:quarantine",
    "missing_required_column": "ingest:rejected_file",
    "truncated_gzip": "ingest:rejected_file",
    "wrong_format": "ingest:rejected_file",
    "unknown_entity": "ingest:unknown_entity",
    "extra_column": "ingest:extra_column",
    "non_utf8_encoding": "ingest:rejected_file",
}
QUALITY_KINDS = {
    "orphan_partner_id": "check:referential_integrity",
    "out_of_range_value": "check:value_ranges",
    "unaccepted_value": "check:accepted_values",
    "revenue_spike_without_activity": "check:revenue_spike_anomaly",
    "volume_drop": "check:volume_anomaly",
    "null_rate_shift": "check:null_rate_shift",
    "stale_source": "check:freshness",
}


def _row(settings, defect) -> list[str]:
    import csv
    import io

    text = read_text(settings.landing_dir / defect["file"])
    if ".csv" in defect["file"]:
        return list(csv.reader(io.StringIO(text)))[defect["row"]]
    return [text.splitlines()[defect["row"] - 1]]


def test_every_kind_is_injected_and_recorded(defect_run) -> None:
    settings, summary = defect_run
    records = defects(settings)
    assert summary.defects == len(records)
    kinds = {r["kind"]: r["caught_by"] for r in records}
    assert kinds == {**INGEST_KINDS, **QUALITY_KINDS}
    for r in records:
        assert set(r) == {"kind", "source", "entity", "file", "row", "column", "detail",
                          "caught_by"}  # fmt: skip
        assert (settings.landing_dir / r["file"]).is_file(), r
        assert r["file"].startswith(f"{r['source']}/{r['entity']}/")
        if r["row"] is not None:
            assert 1 <= r["row"] <= data_rows(settings.landing_dir / r["file"]), r


def test_recorded_rows_hold_the_fault(defect_run) -> None:
    settings, _ = defect_run
    for d in defects(settings):
        if d["row"] is None:
            continue
        row = _row(settings, d)
        header = None
        if ".csv" in d["file"]:
            header = read_text(settings.landing_dir / d["file"]).splitlines()[0].split(",")
        kind = d["kind"]
        if kind == "malformed_row" and header:
            assert len(row) != len(header)
        elif kind == "malformed_row":
            with pytest.raises(json.JSONDecodeError):
                json.loads(row[0])
        elif kind == "wrong_type":
            assert row[header.index(d["column"])] in {"12,5x", "31/02/2025"}
        elif kind == "missing_key":
            assert row[header.index(d["column"])] == ""
        elif kind == "duplicate_key":
            rows = read_text(settings.landing_dir / d["file"]).splitlines()[1:]
            keys = [r.split(",")[0] for r in rows]
            assert keys.count(row[0]) == 2 and keys.index(row[0]) < d["row"] - 1
        elif kind == "orphan_partner_id":
            partners = pd.read_csv(
                sorted(landing_files(settings, "crm", "partners"))[-1], encoding="utf-8-sig"
            )
            assert row[header.index("partner_id")] not in set(partners.partner_id)
        elif kind == "out_of_range_value":
            assert float(row[header.index("score")]) == 42
        elif kind == "unaccepted_value":
            assert row[header.index("stage")] == "won!"


def test_rejected_files_are_really_broken(defect_run) -> None:
    settings, _ = defect_run
    by_kind = {d["kind"]: settings.landing_dir / d["file"] for d in defects(settings)}
    with pytest.raises((EOFError, zlib.error, gzip.BadGzipFile)):
        gzip.decompress(by_kind["truncated_gzip"].read_bytes())
    assert not by_kind["wrong_format"].read_bytes().startswith(b"PAR1")
    latin = by_kind["non_utf8_encoding"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        latin.decode("utf-8")
    assert any(ch in latin.decode("latin-1") for ch in "éüöñçåäãáí")
    header = read_text(by_kind["missing_required_column"]).splitlines()[0].split(",")
    assert "score" not in header and "response_id" in header
    assert "sales_rep_email" in read_text(by_kind["extra_column"]).splitlines()[0]
    assert by_kind["unknown_entity"].parts[-4:-2] == ("crm", "invoices")
    # The BOM file is valid data, not a defect.
    boms = [
        p
        for p in landing_files(settings, "crm", "partners")
        if p.read_bytes()[:3] == b"\xef\xbb\xbf"
    ]
    assert len(boms) == 1 and boms[0] not in by_kind.values()


def test_quality_faults_are_visible_in_the_data(defect_run) -> None:
    settings, _ = defect_run
    landing = settings.landing_dir
    # stale: leads extracts stop 4 months before the others
    leads = sorted(p.name for p in (landing / "crm" / "leads").iterdir())
    partners = sorted(p.name for p in (landing / "crm" / "partners").iterdir())
    assert leads == partners[: len(partners) - 4]
    # null-rate shift in the latest opportunities extract only
    opps = [
        pd.read_csv(p, dtype=str, on_bad_lines="skip")
        for p in landing_files(settings, "crm", "opportunities")
    ]
    assert opps[-1].customer_id.isna().mean() > 0.6
    assert max(o.customer_id.isna().mean() for o in opps[:-1]) == 0
    # volume drop: latest month's portal events about 80% below the earlier months
    volumes = [
        sum(data_rows(p) for p in folder.iterdir() if "part-0001" in p.name)
        for folder in sorted((landing / "portal" / "activity_events").iterdir())
    ]
    assert volumes[-1] < 0.4 * (sum(volumes[:-1]) / len(volumes[:-1]))


def test_revenue_spike_has_no_activity_behind_it(defect_run) -> None:
    settings, _ = defect_run
    spike = [d for d in defects(settings) if d["kind"] == "revenue_spike_without_activity"]
    assert len(spike) == 2
    latest = settings.landing_dir / spike[0]["file"]
    opps = pd.read_csv(latest, dtype=str, on_bad_lines="skip")
    partner = _row(settings, spike[0])[1]
    mine = opps[opps.partner_id == partner]
    month = latest.parent.name  # the extract date; data month is the one before
    data_month = pd.Timestamp(month) - pd.offsets.MonthBegin(1)
    in_month = pd.to_datetime(mine.created_date, errors="coerce") >= data_month
    assert not in_month.any()  # no opportunity created in the spike month
    won = mine[(mine.stage == "closed_won") & (pd.to_datetime(mine.closed_date) >= data_month)]
    history = pd.concat(
        pd.read_csv(p, dtype=str)
        for p in list(landing_files(settings, "crm", "opportunities"))[:-1]
    ).drop_duplicates("opportunity_id", keep="last")
    past = history[(history.partner_id == partner) & (history.stage == "closed_won")]
    trailing = past.amount.astype(float).sum() / 6
    assert won.amount.astype(float).sum() >= 5 * trailing
    for entity in ("deal_registrations", "leads"):
        files = list(landing_files(settings, "crm", entity))
        frame = pd.read_csv(files[-1], dtype=str, on_bad_lines="skip")
        date_col = "submitted_date" if entity == "deal_registrations" else "created_date"
        fresh = frame[(frame.partner_id == partner) & (frame[date_col] >= str(data_month.date()))]
        assert fresh.empty, entity
    events = "".join(read_text(p) for p in (latest.parents[2] / "portal").glob(
        f"activity_events/{month}/*part-0001*"))  # fmt: skip
    assert f'"partner_id":"{partner}"' not in events


def test_counts_reconcile_with_defects(defect_run) -> None:
    settings, _ = defect_run
    expected = json.loads((settings.ground_truth_dir / "expected_counts.json").read_text())
    records = defects(settings)
    rejected = {d["file"] for d in records if d["caught_by"] == "ingest:rejected_file"}
    for key, figures in expected.items():
        source, entity = key.split("/")
        readable = [
            p for p in landing_files(settings, source, entity)
            if p.relative_to(settings.landing_dir).as_posix() not in rejected
        ]  # fmt: skip
        quarantined = [
            d for d in records if d["caught_by"] == "ingest:quarantine" and d["entity"] == entity
        ]
        assert figures["rows_expected_quarantined"] == len(quarantined), key
        assert sum(data_rows(p) for p in readable) == (
            figures["rows_expected_loaded"] + figures["rows_expected_quarantined"]
        ), key
        n_rejected = sum(1 for f in rejected if f.startswith(f"{key}/"))
        assert figures["files_expected_rejected"] == n_rejected, key
        assert figures["rows_written"] > figures["rows_expected_loaded"] or n_rejected == 0


def test_tiny_demo_still_gets_every_defect(tmp_path) -> None:
    """A handful of partners can leave latest extracts empty; faults must still be injected."""
    from .conftest import make_run

    settings, _ = make_run(tmp_path, partners=1, months=6, seed=0, defects=True)
    assert {d["kind"] for d in defects(settings)} == set(INGEST_KINDS) | set(QUALITY_KINDS)
    truncated = next(d for d in defects(settings) if d["kind"] == "truncated_gzip")
    with pytest.raises((EOFError, zlib.error, gzip.BadGzipFile)):
        gzip.decompress((settings.landing_dir / truncated["file"]).read_bytes())
