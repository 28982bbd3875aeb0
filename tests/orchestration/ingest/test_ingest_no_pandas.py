"""Ingest binds no Python parameters: DuckDB would import pandas (seconds) to convert them."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from orchestration.ingest import ingest_entity
from orchestration.settings import get_settings
from orchestration.warehouse import connect

settings = get_settings()
with connect(settings) as conn:
    report = ingest_entity(conn, settings, "portal/activity_events")
assert report.rows_loaded == 2, report.summary()
print("pandas" in sys.modules)
"""


def test_ingest_does_not_import_pandas(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / "portal" / "activity_events" / "2025-03-01"
    folder.mkdir(parents=True)
    event = {
        "event_id": "E1",
        "partner_id": "P00001",
        "user_id": "U1",
        "event_type": "login",
        "occurred_at": "2025-03-02T10:00:00Z",
        "properties": {},
    }
    lines = [json.dumps(event), json.dumps({**event, "event_id": "E2"})]
    (folder / "activity_events.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    env = {**os.environ, "PARTNERSCORE_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False", out.stderr
