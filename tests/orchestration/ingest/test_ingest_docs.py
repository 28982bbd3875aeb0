from __future__ import annotations

from orchestration.extracts import ENTITIES
from orchestration.ingest.docs import DOC_PATH, render


def test_extracts_doc_is_in_sync_with_the_contract():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/extracts.md is stale: run .venv/bin/python -m orchestration.ingest.docs"
    )


def test_extracts_doc_lists_every_column():
    text = render()
    for entity in ENTITIES:
        assert f"### `{entity.source}/{entity.name}` -> `{entity.raw_table}`" in text
        for column in entity.columns:
            assert f"| `{column.name}` | {column.type} |" in text
