"""Session fixtures: one ``dbt build`` on the fixture warehouse, and a fast in-memory runner that
executes the compiled scoring models against generated staging tables (no dbt per example)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from tests.scoring.fixture_data import build_warehouse, create_raw_schema

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).parent / "dbt"


@dataclass
class BuiltProject:
    data_dir: Path
    manifest: dict

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.data_dir / "warehouse.duckdb"), read_only=True)


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> BuiltProject:
    """Build the fixture warehouse with the real ``dbt build`` (seeds, models, tests, snapshots)."""
    data_dir = tmp_path_factory.mktemp("scoring")
    build_warehouse(data_dir)
    env = {
        **os.environ,
        "PARTNERSCORE_DATA_DIR": str(data_dir),
        "DBT_TARGET_PATH": str(data_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    result = subprocess.run(
        [str(DBT), "build", "--profiles-dir", ".", "--selector", "scoring"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:]
    manifest = json.loads((data_dir / "dbt" / "target" / "manifest.json").read_text())
    return BuiltProject(data_dir, manifest)


def _seed_types() -> dict[str, dict[str, str]]:
    spec = yaml.safe_load((PROJECT_DIR / "seeds" / "_seeds.yml").read_text())
    return {s["name"]: s["config"]["column_types"] for s in spec["seeds"]}


class ScoringRunner:
    """Runs the compiled staging-to-marts SQL of the project inside an in-memory DuckDB.

    The compiled SQL names relations ``"warehouse"."<schema>"."<name>"``; the runner attaches an
    in-memory database under that name, so the SQL runs unchanged.
    """

    def __init__(self, manifest: dict) -> None:
        nodes = manifest["nodes"]
        self.models = {
            uid: node
            for uid, node in nodes.items()
            if node["resource_type"] == "model" and node["package_name"] == "partnerscore"
        }
        self.order = self._topological(self.models)
        self.seed_types = _seed_types()
        self._conn: duckdb.DuckDBPyConnection | None = None

    @staticmethod
    def _topological(models: dict) -> list[str]:
        done: list[str] = []

        def visit(uid: str) -> None:
            if uid in done:
                return
            for parent in models[uid]["depends_on"]["nodes"]:
                if parent in models:
                    visit(parent)
            done.append(uid)

        for uid in sorted(models):
            visit(uid)
        return done

    def _setup(self) -> duckdb.DuckDBPyConnection:
        """Raw schema, seeds and empty staging tables, created once and reused by every run."""
        conn = duckdb.connect()
        conn.execute("attach ':memory:' as warehouse")
        conn.execute("use warehouse")
        create_raw_schema(conn)
        for schema in ("staging", "intermediate", "marts", "scoring_config"):
            conn.execute(f"create schema if not exists {schema}")
        for seed, types in self.seed_types.items():
            columns = ", ".join(f"'{c}': '{t}'" for c, t in types.items())
            path = PROJECT_DIR / "seeds" / f"{seed}.csv"
            conn.execute(
                f"create table scoring_config.{seed} as select * from "
                f"read_csv('{path}', header = true, columns = {{{columns}}})"
            )
            conn.execute(
                f"create table scoring_config.{seed}__original as from scoring_config.{seed}"
            )
        for uid in self.order:
            node = self.models[uid]
            if node["schema"] == "staging":
                relation = f"{node['schema']}.{node['alias']}"
                sql = node["compiled_code"]
                conn.execute(f"create table {relation} as select * from ({sql}) as s limit 0")
        return conn

    def run(
        self,
        staging: dict[str, pd.DataFrame],
        seed_overrides: dict[str, pd.DataFrame] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """Load the staging frames (and seed overrides), then build every downstream model."""
        if self._conn is None:
            self._conn = self._setup()
        conn = self._conn
        for seed in self.seed_types:
            conn.execute(f"delete from scoring_config.{seed}")
            frame = (seed_overrides or {}).get(seed)
            if frame is None:
                conn.execute(
                    f"insert into scoring_config.{seed} from scoring_config.{seed}__original"
                )
            else:
                conn.register("override_frame", frame)
                conn.execute(f"insert into scoring_config.{seed} by name from override_frame")
                conn.unregister("override_frame")
        for uid in self.order:
            node = self.models[uid]
            relation = f"{node['schema']}.{node['alias']}"
            if node["schema"] == "staging":
                conn.execute(f"delete from {relation}")
                frame = staging.get(node["alias"])
                if frame is not None and len(frame):
                    conn.register("input_frame", frame)
                    conn.execute(f"insert into {relation} by name select * from input_frame")
                    conn.unregister("input_frame")
            else:
                conn.execute(f"create or replace table {relation} as {node['compiled_code']}")
        return conn


@pytest.fixture(scope="session")
def runner(built_project: BuiltProject) -> ScoringRunner:
    return ScoringRunner(built_project.manifest)


@pytest.fixture
def fixture_conn(built_project: BuiltProject) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = built_project.connect()
    try:
        yield conn
    finally:
        conn.close()
