"""Small generated landing zones shared by the generator tests (generated once per module)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.generate import GenerationSummary, generate_demo
from orchestration.settings import Settings, get_settings

END_MONTH = "2025-06"


def make_run(root: Path, **kwargs) -> tuple[Settings, GenerationSummary]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PARTNERSCORE_DATA_DIR", str(root / "data"))
        settings = get_settings()
        summary = generate_demo(settings, end_month=END_MONTH, **kwargs)
    return settings, summary


@pytest.fixture(scope="package")
def clean_run(tmp_path_factory) -> tuple[Settings, GenerationSummary]:
    return make_run(tmp_path_factory.mktemp("clean"), partners=100, months=15, seed=3)


@pytest.fixture(scope="package")
def defect_run(tmp_path_factory) -> tuple[Settings, GenerationSummary]:
    return make_run(tmp_path_factory.mktemp("defects"), partners=60, months=8, seed=5, defects=True)


def read_text(path: Path, encoding: str = "utf-8") -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode(encoding)


def data_rows(path: Path) -> int:
    """Data rows in a landing file (CSV header excluded)."""
    import csv

    text = read_text(path).lstrip("\ufeff")
    if ".csv" in path.name:
        return sum(1 for _ in csv.reader(io.StringIO(text))) - 1
    return sum(1 for line in text.splitlines() if line.strip())


def landing_files(settings: Settings, source: str, entity: str) -> Iterator[Path]:
    yield from sorted((settings.landing_dir / source / entity).glob("*/*"))


def defects(settings: Settings) -> list[dict]:
    lines = (settings.ground_truth_dir / "defects.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]
