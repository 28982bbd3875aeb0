"""Determinism, the overwrite guard, the CLI and the default end month."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration.generate import LandingNotEmptyError, default_end_month, generate_demo
from orchestration.settings import Settings

from .conftest import make_run

SMALL = {"partners": 30, "months": 6, "events": 3_000, "defects": True}


def _hashes(settings: Settings) -> dict[str, str]:
    out = {}
    for root in (settings.landing_dir, settings.ground_truth_dir):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = path.relative_to(settings.data_dir).as_posix()
                out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path) -> None:
    first, _ = make_run(tmp_path / "a", seed=9, **SMALL)
    again, _ = make_run(tmp_path / "b", seed=9, **SMALL)
    other, _ = make_run(tmp_path / "c", seed=10, **SMALL)
    a, b, c = _hashes(first), _hashes(again), _hashes(other)
    assert len(a) > 40 and a == b
    assert set(a) == set(c)  # same layout ...
    differing = [k for k in a if a[k] != c[k]]
    assert len(differing) > 0.9 * len(a)  # ... different content


def test_empty_landing_zone_replaces_stale_ground_truth(data_dir: Settings) -> None:
    stale = data_dir.ground_truth_dir / "defects.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"kind": "stale"}\n')
    generate_demo(data_dir, partners=5, months=2, end_month="2025-01")
    assert stale.read_text() == ""  # a clean run has no defects


def test_refuses_a_non_empty_landing_zone_unless_overwrite(data_dir: Settings) -> None:
    stray = data_dir.landing_dir / "crm" / "partners" / "2020-01-01" / "partners.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text("partner_id\nP1\n")
    with pytest.raises(LandingNotEmptyError):
        generate_demo(data_dir, partners=5, months=2, end_month="2025-01")
    assert stray.read_text() == "partner_id\nP1\n"  # untouched

    summary = generate_demo(data_dir, partners=5, months=2, end_month="2025-01", overwrite=True)
    assert not stray.exists()
    assert summary.rows["crm/partners"] > 0
    assert (data_dir.ground_truth_dir / "partners.csv").read_text().count("\n") == 6


def test_cli_generates_and_refuses_with_a_hint(data_dir: Settings) -> None:
    from orchestration.cli import app  # imports every command group (Dagster): only here

    runner = CliRunner()
    args = ["generate", "--partners", "8", "--months", "3", "--seed", "1", "--end-month", "2025-03"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "crm/opportunities" in result.output
    extracts = sorted(p.name for p in (data_dir.landing_dir / "crm" / "partners").iterdir())
    assert extracts == ["2025-02-01", "2025-03-01", "2025-04-01"]

    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "--overwrite" in refused.output

    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    bad = runner.invoke(app, ["generate", "--end-month", "2025-13", "--overwrite"])
    assert bad.exit_code == 1 and "YYYY-MM" in bad.output


def test_progress_callback_sees_every_month(data_dir: Settings) -> None:
    seen: list[tuple[str, int, int]] = []
    generate_demo(
        data_dir, partners=5, months=3, end_month="2024-12", progress=lambda *a: seen.append(a)
    )
    assert seen == [("2024-10", 1, 3), ("2024-11", 2, 3), ("2024-12", 3, 3)]


def test_events_argument_sets_the_portal_volume(data_dir: Settings) -> None:
    summary = generate_demo(data_dir, partners=40, months=4, events=20_000, end_month="2025-04")
    assert 18_000 < summary.rows["portal/activity_events"] < 22_000


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2026, 11, 23), date(2026, 10, 1)), (date(2025, 1, 1), date(2024, 12, 1))],
)
def test_default_end_month_is_the_last_full_month(today: date, expected: date) -> None:
    assert default_end_month(today) == expected


def test_defects_need_enough_months(data_dir: Settings) -> None:
    with pytest.raises(ValueError, match="at least 6 months"):
        generate_demo(data_dir, partners=5, months=4, defects=True, end_month="2025-01")
    assert not any(Path(data_dir.landing_dir).rglob("*.csv*"))
