"""Find extract folders in the landing zone: landing/<source>/<entity>/<extract_date>/<file>."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.extracts import ENTITIES, Entity, get_entity

# Longest suffix first so "x.xapi.jsonl.gz" is not taken for plain jsonl.
_FORMATS: tuple[tuple[str, str], ...] = (
    (".xapi.jsonl", "xapi"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".csv", "csv"),
    (".parquet", "parquet"),
)


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str  # path relative to the landing dir, as stored in _source_file
    file_format: str  # csv | jsonl | xapi | parquet
    compressed: bool
    size_bytes: int
    mtime_ns: int


@dataclass(frozen=True)
class ExtractFolder:
    entity: Entity
    extract_date: dt.date
    path: Path
    files: tuple[LandingFile, ...]


@dataclass(frozen=True)
class LandingProblem:
    path: str  # relative to the landing dir
    problem: str

    def __str__(self) -> str:
        return f"landing/{self.path}: {self.problem}"


@dataclass
class LandingScan:
    extracts: list[ExtractFolder] = field(default_factory=list)
    problems: list[LandingProblem] = field(default_factory=list)

    def for_entity(self, entity: Entity) -> list[ExtractFolder]:
        return [e for e in self.extracts if e.entity == entity]


def detect_format(name: str) -> tuple[str, bool] | None:
    """(format, gzip-compressed) from a file name, or None when the extension is unknown."""
    lower = name.lower()
    compressed = lower.endswith(".gz")
    if compressed:
        lower = lower[:-3]
    for suffix, fmt in _FORMATS:
        if lower.endswith(suffix):
            if fmt == "parquet" and compressed:
                return None  # parquet compresses internally
            return fmt, compressed
    return None


def _known() -> str:
    return ", ".join(f"{e.source}/{e.name}" for e in ENTITIES)


def scan_landing(landing_dir: Path, entity: Entity | None = None) -> LandingScan:
    """List extract folders (optionally of one entity) and everything that does not fit."""
    scan = LandingScan()
    if not landing_dir.is_dir():
        return scan
    sources = {e.source for e in ENTITIES}
    for source_dir in sorted(p for p in landing_dir.iterdir() if not p.name.startswith(".")):
        rel_source = source_dir.name
        if not source_dir.is_dir() or rel_source not in sources:
            scan.problems.append(
                LandingProblem(rel_source, f"unknown source folder; expected one of {_known()}")
            )
            continue
        if entity is not None and rel_source != entity.source:
            continue
        for entity_dir in sorted(p for p in source_dir.iterdir() if not p.name.startswith(".")):
            rel_entity = f"{rel_source}/{entity_dir.name}"
            found = get_entity(rel_source, entity_dir.name)
            if not entity_dir.is_dir() or found is None:
                scan.problems.append(
                    LandingProblem(rel_entity, f"unknown entity folder; expected one of {_known()}")
                )
                continue
            if entity is not None and found != entity:
                continue
            _scan_entity(scan, found, entity_dir, landing_dir)
    return scan


def _scan_entity(scan: LandingScan, entity: Entity, entity_dir: Path, landing_dir: Path) -> None:
    for date_dir in sorted(p for p in entity_dir.iterdir() if not p.name.startswith(".")):
        rel = date_dir.relative_to(landing_dir).as_posix()
        try:
            extract_date = dt.date.fromisoformat(date_dir.name)
            if len(date_dir.name) != 10:
                raise ValueError
        except ValueError:
            scan.problems.append(
                LandingProblem(rel, "folder name is not an extract date (expected YYYY-MM-DD)")
            )
            continue
        if not date_dir.is_dir():
            scan.problems.append(LandingProblem(rel, "expected a folder, found a file"))
            continue
        files: list[LandingFile] = []
        for path in sorted(p for p in date_dir.iterdir() if not p.name.startswith(".")):
            frel = path.relative_to(landing_dir).as_posix()
            fmt = detect_format(path.name) if path.is_file() else None
            if fmt is None:
                scan.problems.append(
                    LandingProblem(
                        frel,
                        "unknown file type; expected .csv, .jsonl, .xapi.jsonl (optionally .gz) "
                        "or .parquet",
                    )
                )
                continue
            stat = path.stat()
            files.append(LandingFile(path, frel, fmt[0], fmt[1], stat.st_size, stat.st_mtime_ns))
        if files:
            scan.extracts.append(ExtractFolder(entity, extract_date, date_dir, tuple(files)))
