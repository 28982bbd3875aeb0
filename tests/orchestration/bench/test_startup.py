"""Startup costs the benchmark showed: the dbt manifest is parsed once per project content,
shared between data dirs, and incremental models are rebuilt when their SQL changes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from orchestration import dbt_project
from orchestration.dbt_project import (
    incremental_signatures,
    needs_full_refresh,
    prepare_manifest,
    project_content_fingerprint,
    project_fingerprint,
    record_incremental_build,
)


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "models" / "a.sql").write_text("select 1 as a\n")
    (root / "dbt_project.yml").write_text("name: p\n")
    return root


def test_fingerprint_follows_content_not_mtime(tmp_path):
    root = _project(tmp_path)
    first = project_fingerprint(root)
    later = time.time() + 60
    os.utime(root / "models" / "a.sql", (later, later))
    assert project_fingerprint(root) == first
    (root / "models" / "a.sql").write_text("select 2 as a\n")
    assert project_fingerprint(root) != first
    (root / "models" / "a.sql").write_text("select 1 as a\n")
    (root / "models" / "b.sql").write_text("select 1 as b\n")
    assert project_fingerprint(root) != first


class _FakeProject:
    """A DbtProject stand-in whose `dbt parse` writes a manifest and counts the parses."""

    def __init__(self, target: Path, parses: list[Path]) -> None:
        self.target_path = target
        self.manifest_path = target / "manifest.json"
        project = self

        class Preparer:
            def prepare(self, _project) -> None:
                parses.append(project.target_path)
                project.target_path.mkdir(parents=True, exist_ok=True)
                project.manifest_path.write_text(json.dumps({"parsed_into": str(target)}))

        self.preparer = Preparer()


def test_a_new_data_dir_reuses_the_parsed_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARTNERSCORE_CACHE_DIR", str(tmp_path / "cache"))
    fingerprints = iter(["aaa", "aaa", "aaa", "bbb"])
    monkeypatch.setattr(dbt_project, "project_fingerprint", lambda: next(fingerprints))
    parses: list[Path] = []
    first = _FakeProject(tmp_path / "one" / "target", parses)
    second = _FakeProject(tmp_path / "two" / "target", parses)

    prepare_manifest(first)  # parses, fills the cache
    prepare_manifest(first)  # current: nothing to do
    prepare_manifest(second)  # another data dir, same project: copied from the cache
    assert parses == [first.target_path]
    assert json.loads(second.manifest_path.read_text()) == {"parsed_into": str(first.target_path)}
    assert (tmp_path / "cache" / "dbt-manifests" / "aaa" / "manifest.json").exists()
    prepare_manifest(second)  # the project changed: parse again
    assert parses == [first.target_path, second.target_path]
    assert (second.target_path / "manifest.fingerprint").read_text().strip() == "bbb"


def _manifest(model_sql_checksum: str, macro_sql: str) -> dict:
    return {
        "nodes": {
            "model.p.inc": {
                "config": {"materialized": "incremental"},
                "checksum": {"checksum": model_sql_checksum},
                "depends_on": {"macros": ["macro.p.outer"]},
            },
            "model.p.tab": {
                "config": {"materialized": "table"},
                "checksum": {"checksum": "t"},
                "depends_on": {"macros": []},
            },
        },
        "macros": {
            "macro.p.outer": {"macro_sql": "outer", "depends_on": {"macros": ["macro.p.inner"]}},
            "macro.p.inner": {"macro_sql": macro_sql, "depends_on": {"macros": []}},
        },
    }


def test_incremental_models_rebuild_when_their_sql_or_a_macro_changes(tmp_path):
    base = incremental_signatures(_manifest("m1", "inner"))
    assert list(base) == ["model.p.inc"]
    assert incremental_signatures(_manifest("m2", "inner")) != base
    assert incremental_signatures(_manifest("m1", "inner v2")) != base  # a macro two levels down

    target = tmp_path / "target"
    target.mkdir()
    project = _FakeProject(target, [])
    project.manifest_path.write_text(json.dumps(_manifest("m1", "inner")))
    assert needs_full_refresh(project)  # nothing recorded yet
    failed = {"results": [{"unique_id": "model.p.inc", "status": "error"}]}
    assert not record_incremental_build(project, failed)
    assert needs_full_refresh(project)
    built = {"results": [{"unique_id": "model.p.inc", "status": "success"}]}
    assert record_incremental_build(project, built)
    assert not needs_full_refresh(project)
    project.manifest_path.write_text(json.dumps(_manifest("m1", "inner v2")))
    assert needs_full_refresh(project)


def test_another_checkout_of_the_same_files_parses_its_own_manifest(tmp_path):
    """Manifests and dbt's partial-parse state hold absolute paths (seeds load from them)."""
    root = _project(tmp_path)
    moved = tmp_path / "elsewhere" / "project"
    moved.parent.mkdir()
    root.rename(moved)
    assert project_fingerprint(moved) != project_fingerprint(_project(tmp_path))
    # the rows a build writes do not depend on where the checkout lives
    assert project_content_fingerprint(moved) == project_content_fingerprint(tmp_path / "project")


def test_partial_parse_state_of_another_checkout_is_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARTNERSCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(dbt_project, "project_fingerprint", lambda: "aaa")
    target = tmp_path / "target"
    project = _FakeProject(target, [])
    state = target / dbt_project.PARTIAL_PARSE_FILE
    owner = target / dbt_project.PARTIAL_PARSE_OWNER_FILE

    prepare_manifest(project)  # parses; the state now belongs to this checkout
    state.write_bytes(b"state of this checkout")
    prepare_manifest(project)
    assert state.read_bytes() == b"state of this checkout"
    assert owner.read_text().strip() == dbt_project.PROJECT_DIR.resolve().as_posix()

    owner.write_text("/somewhere/else/partnerscore\n")  # written by another checkout
    prepare_manifest(project)
    assert not state.exists()
    assert owner.read_text().strip() == dbt_project.PROJECT_DIR.resolve().as_posix()


def test_the_bench_parses_a_data_dir_that_has_no_parse_state(tmp_path, monkeypatch):
    """A manifest copied from the cache comes without dbt's partial-parse state, so the first
    `dbt build` there would parse the whole project inside the timed run (5 s at scale S)."""
    monkeypatch.setenv("PARTNERSCORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARTNERSCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(dbt_project, "project_fingerprint", lambda: "aaa")
    parses: list[Path] = []
    first = _FakeProject(tmp_path / "one" / "target", parses)
    second = _FakeProject(tmp_path / "two" / "target", parses)

    prepare_manifest(first)  # parses, fills the cache
    prepare_manifest(second)  # copied from the cache: no parse state in two/target
    assert parses == [first.target_path]
    prepare_manifest(second, with_parse_state=True)  # the bench: parse here
    assert parses == [first.target_path, second.target_path]
    (second.target_path / dbt_project.PARTIAL_PARSE_FILE).write_bytes(b"state")
    prepare_manifest(second, with_parse_state=True)  # state present, manifest current
    assert parses == [first.target_path, second.target_path]
