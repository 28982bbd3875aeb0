"""Column mappings: let a customer's export (e.g. a Salesforce report) feed the contract.

A mapping in ``config/column_mappings/*.yml`` renames source columns to contract
columns, translates coded values and gives non-ISO date formats. It applies to
a file when the file's header contains all of the mapping's source columns.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestration.extracts import get_entity
from orchestration.settings import CONFIG_DIR

MAPPINGS_DIR = CONFIG_DIR / "column_mappings"


class MappingError(ValueError):
    """A mapping file a person has to fix."""


class ColumnMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", description="File stem; filled in when loaded.")
    entity: str = Field(
        description="'<source>/<entity>' as in extracts.py, e.g. crm/opportunities."
    )
    description: str = ""
    columns: dict[str, str] = Field(description="Contract column -> source column.")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Contract column -> {source text: contract text}."
    )
    formats: dict[str, str] = Field(
        default_factory=dict, description="Contract date/timestamp column -> strptime format."
    )

    @model_validator(mode="after")
    def _check_contract(self) -> ColumnMapping:
        source, _, name = self.entity.partition("/")
        entity = get_entity(source, name)
        if entity is None:
            raise ValueError(f"unknown entity {self.entity!r}")
        known = {c.name: c for c in entity.columns}
        for section in ("columns", "values", "formats"):
            unknown = sorted(set(getattr(self, section)) - set(known))
            if unknown:
                raise ValueError(f"{section}: not contract columns of {self.entity}: {unknown}")
        for col in self.formats:
            if known[col].type not in ("date", "timestamp"):
                raise ValueError(f"formats: {col} is a {known[col].type}, not a date/timestamp")
        return self

    def matches(self, header: list[str]) -> bool:
        return set(self.columns.values()) <= set(header)

    def source_for(self, contract_column: str) -> str:
        return self.columns.get(contract_column, contract_column)


def load_mapping(path: Path) -> ColumnMapping:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ColumnMapping.model_validate({"name": path.stem, **raw})
    except ValidationError as exc:
        problems = "; ".join(
            (".".join(str(p) for p in e["loc"]) + ": " if e["loc"] else "")
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise MappingError(f"{path}: invalid column mapping: {problems}") from exc
    except (yaml.YAMLError, TypeError) as exc:
        raise MappingError(f"{path}: invalid column mapping: {exc}") from exc


@lru_cache(maxsize=8)
def _load_dir(directory: Path, stamp: tuple[tuple[str, int], ...]) -> tuple[ColumnMapping, ...]:
    return tuple(load_mapping(directory / name) for name, _ in stamp)


def load_mappings(directory: Path = MAPPINGS_DIR) -> tuple[ColumnMapping, ...]:
    """All mappings in a folder; cached until a file changes."""
    if not directory.is_dir():
        return ()
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in files)
    return _load_dir(directory, stamp)


def find_mapping(
    entity_key: str, header: list[str], mappings: tuple[ColumnMapping, ...]
) -> ColumnMapping | None:
    """The first mapping for this entity whose source columns are all in the header."""
    for mapping in mappings:
        if mapping.entity == entity_key and mapping.matches(header):
            return mapping
    return None
