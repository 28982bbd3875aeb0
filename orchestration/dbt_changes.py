"""Which dbt nodes a refresh must run: those downstream of an input that changed.

Every model here is a function of its sources (the raw tables, partner-ops corrections and
blocked batches), the seeds and the project's SQL; none reads the clock. A node none of whose
inputs changed since a build that succeeded would write the same rows again and pass the same
tests: running it costs dbt's per-node work and nothing else. So the daily refresh leaves those
nodes out (the bench's daily delta at scale M, a day of events and opportunities, leaves out 65
of 126: the 9 seeds, 7 CRM and LMS staging models, the partner snapshot and 48 tests), and skips
dbt altogether when nothing changed and the scores it built last are the published ones.

What changed is found by comparing fingerprints of the sources (their load batches and row
counts, or whole rows for the small raw_meta tables) with those recorded by the last build that
succeeded. The record lives in the warehouse (``dbt_meta.last_build``), so a warehouse that is
deleted or restored from a copy brings its own record, or none, and then everything builds.
Anything else that can change the rows (the project's files: SQL, seeds, macros, config) builds
everything too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

STATE_TABLE = "dbt_meta.last_build"
# the project fingerprint the marks in dbt_meta.tested_models were made under
TESTED_PROJECT_TABLE = "dbt_meta.tested_project"
# dbt resource types a `dbt build` runs (unit tests are excluded from refreshes anyway)
BUILT_TYPES = ("model", "seed", "snapshot", "test")
SUCCESS_STATUSES = ("success", "pass", "warn")
MARTS_SCHEMA = "marts"  # what publish copies


@dataclass(frozen=True)
class BuildInputs:
    """What a build reads: the project's files (a fingerprint) and each source's fingerprint."""

    project: str
    sources: dict[str, str]


@dataclass
class BuildPlan:
    """``excluded``: names of nodes to leave out; ``skip``: run no dbt at all."""

    reason: str
    changed_sources: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    skip: bool = False


def _source_dependents(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """source unique_id -> every node downstream of it (transitively)."""
    children: dict[str, set[str]] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        for parent in node.get("depends_on", {}).get("nodes", []):
            children.setdefault(parent, set()).add(unique_id)
    downstream: dict[str, set[str]] = {}
    for source_id in manifest.get("sources", {}):
        seen: set[str] = set()
        stack = list(children.get(source_id, ()))
        while stack:
            node_id = stack.pop()
            if node_id not in seen:
                seen.add(node_id)
                stack.extend(children.get(node_id, ()))
        if seen:
            downstream[source_id] = seen
    return downstream


def source_fingerprints(
    conn: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> dict[str, str]:
    """A fingerprint of every source some node reads.

    Raw tables: row count, a sum of hashes of the rows' load batch and the latest load time (a
    new, re-delivered, replaced or deleted batch changes it; ingest never edits rows in place).
    The 10 M events of scale M take 0.07 s. Other sources (raw_meta corrections and blocks, a
    few rows each) are hashed whole. A missing table is a fingerprint too.
    """
    read = _source_dependents(manifest)
    fingerprints = {}
    for source_id in sorted(read):
        source = manifest["sources"][source_id]
        schema, table = source["schema"], source.get("identifier") or source["name"]
        columns = {
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()
        }
        if not columns:
            fingerprints[source_id] = "missing"
            continue
        relation = f'"{schema}"."{table}"'
        if {"_batch_id", "_loaded_at"} <= columns:
            query = f"select count(*), sum(hash(_batch_id)), max(_loaded_at) from {relation}"
        else:
            query = f"select count(*), sum(hash(source_rows)) from {relation} as source_rows"
        fingerprints[source_id] = json.dumps(conn.execute(query).fetchone(), default=str)
    return fingerprints


def read_last_build(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'dbt_meta' and table_name = 'last_build'"
    ).fetchone()[0]
    if not exists:
        return None
    row = conn.execute(f"select state from {STATE_TABLE}").fetchone()
    return json.loads(row[0]) if row else None


def record_last_build(
    conn: duckdb.DuckDBPyConnection, inputs: BuildInputs, run_id: str | None
) -> None:
    """Remember the inputs of a build whose every node succeeded (in one transaction)."""
    state = {"project": inputs.project, "sources": inputs.sources, "run_id": run_id}
    conn.execute("create schema if not exists dbt_meta")
    conn.execute(f"create table if not exists {STATE_TABLE} (state varchar not null)")
    conn.execute("begin")
    conn.execute(f"delete from {STATE_TABLE}")
    conn.execute(f"insert into {STATE_TABLE} values (?)", [json.dumps(state, sort_keys=True)])
    conn.execute("commit")


def forget_last_build(conn: duckdb.DuckDBPyConnection) -> None:
    """A build that did not succeed leaves nodes built from inputs the record does not name."""
    if read_last_build(conn) is not None:
        conn.execute(f"delete from {STATE_TABLE}")


def update_last_build(
    conn: duckdb.DuckDBPyConnection,
    inputs: BuildInputs,
    run_id: str | None,
    run_results: dict[str, Any],
    *,
    whole_project: bool,
) -> None:
    """After a `dbt build`: record its inputs if it succeeded, forget the record if it failed.

    A build of a hand-picked subset (``whole_project`` false) changes neither: the nodes it left
    out may be behind its inputs, and the next refresh redoes everything downstream of a
    source changed since the recorded build anyway.
    """
    if not whole_project:
        return
    if build_succeeded(run_results):
        record_last_build(conn, inputs, run_id)
    else:
        forget_last_build(conn)


def forget_tests_of_another_project(conn: duckdb.DuckDBPyConnection, project: str) -> bool:
    """Make every data test read its whole model once after the dbt project changed; True if so.

    Tests of incremental models read only the scopes rewritten since they last passed
    (``macros/tested_scope.sql``). That holds while the tests stay the same: a test added or
    changed (a new accepted value, a new ``not_null``) must read every row once, or the rows
    written before it would never be checked by it. dbt keeps no record of how its tests
    looked, so the marks of tested models (``dbt_meta.tested_models``) are kept with the
    project fingerprint they were made under and forgotten when the project's files differ.
    """
    conn.execute("create schema if not exists dbt_meta")
    conn.execute(f"create table if not exists {TESTED_PROJECT_TABLE} (project varchar not null)")
    recorded = conn.execute(f"select project from {TESTED_PROJECT_TABLE}").fetchone()
    if recorded is not None and recorded[0] == project:
        return False
    # marks without a recorded project (made before it was kept) are of an unknown project too
    marked = (
        conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'dbt_meta' and table_name = 'tested_models'"
        ).fetchone()[0]
        and conn.execute("select count(*) from dbt_meta.tested_models").fetchone()[0]
    )
    conn.execute("begin")
    if marked:
        conn.execute("delete from dbt_meta.tested_models")
    conn.execute(f"delete from {TESTED_PROJECT_TABLE}")
    conn.execute(f"insert into {TESTED_PROJECT_TABLE} values (?)", [project])
    conn.execute("commit")
    return bool(marked)


def build_succeeded(run_results: dict[str, Any]) -> bool:
    results = run_results.get("results", [])
    return bool(results) and all(r.get("status") in SUCCESS_STATUSES for r in results)


def plan_build(
    manifest: dict[str, Any],
    inputs: BuildInputs,
    last_build: dict[str, Any] | None,
    *,
    published_run_id: str | None,
) -> BuildPlan:
    """The nodes to run, given the inputs now and those of the last build that succeeded.

    ``published_run_id``: the run whose build the published copy holds, when it is current (not
    stale). dbt is skipped only when nothing changed and that is the last build: otherwise a
    refresh after a failed publish would never publish again.
    """
    if last_build is None:
        return BuildPlan("no earlier successful build in this warehouse")
    if last_build.get("project") != inputs.project:
        return BuildPlan("the dbt project (SQL, seeds, macros or config) changed")
    previous = last_build.get("sources", {})
    changed = sorted(s for s in inputs.sources if previous.get(s) != inputs.sources[s])
    nodes = manifest.get("nodes", {})
    if not changed:
        if published_run_id is not None and published_run_id == last_build.get("run_id"):
            return BuildPlan("no input changed since the last build, which is published", skip=True)
        # the marts alone (their periods unchanged, so cheap) give publish its inputs again
        marts = {uid for uid, node in nodes.items() if node.get("schema") == MARTS_SCHEMA}
        return _plan_running(
            marts, nodes, "no input changed, but the last build is not the published one", []
        )
    downstream = _source_dependents(manifest)
    names = [manifest["sources"][s]["source_name"] + "." + manifest["sources"][s]["name"]
             for s in changed]  # fmt: skip
    return _plan_running(
        set().union(*(downstream.get(s, set()) for s in changed)),
        nodes,
        f"changed since the last build: {', '.join(names)}",
        names,
    )


def _plan_running(
    selected: set[str], nodes: dict[str, Any], reason: str, changed: list[str]
) -> BuildPlan:
    selected = set(selected)
    for unique_id, node in nodes.items():
        # a test runs when any node it reads runs (dbt's eager indirect selection)
        if node["resource_type"] == "test" and any(
            parent in selected for parent in node.get("depends_on", {}).get("nodes", [])
        ):
            selected.add(unique_id)
    excluded = sorted(
        node["name"]
        for unique_id, node in nodes.items()
        if node["resource_type"] in BUILT_TYPES and unique_id not in selected
    )
    return BuildPlan(reason, changed, excluded)
