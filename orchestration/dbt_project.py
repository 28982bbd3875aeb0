"""The dbt project as Dagster sees it, and how its manifest is kept current.

Loading the Dagster definitions needs dbt's ``manifest.json``; ``dbt parse`` (a subprocess
that imports dbt and renders every model) takes 20 s or more on a shared machine. The
manifest depends only on the dbt project's files and the dbt version, never on the data
directory (no model reads an environment variable), so it is parsed once per distinct
content and shared between data directories through a cache keyed by a hash of those files.
Content, not modification times: touching a file does not re-parse, and any real change does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import PROJECT_DIR, get_settings

DBT_INPUT_DIRS = ("models", "seeds", "macros", "snapshots", "tests/dbt")
DBT_INPUT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml")
FINGERPRINT_FILE = "manifest.fingerprint"  # beside manifest.json: what it was parsed from
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
PARTIAL_PARSE_OWNER_FILE = "partial_parse.project"  # the project directory that wrote it


def dbt_executable() -> str:
    """The dbt installed beside this Python, so `.venv/bin/partnerscore` works without activating."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_dbt_project() -> DbtProject:
    settings = get_settings()
    project = DbtProject(
        project_dir=PROJECT_DIR,
        target_path=settings.dbt_target_dir,
        profiles_dir=PROJECT_DIR,
    )
    # Under `dagster dev` the manifest is re-parsed on load so model edits show up at once.
    project.prepare_if_dev()
    return project


def dbt_input_files(project_dir: Path = PROJECT_DIR) -> list[Path]:
    """Every file dbt reads to build its manifest, in a stable order."""
    files = [project_dir / name for name in DBT_INPUT_FILES if (project_dir / name).is_file()]
    for folder in DBT_INPUT_DIRS:
        files.extend(
            path
            for path in (project_dir / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        )
    return sorted(files, key=lambda p: p.relative_to(project_dir).as_posix())


def project_content_fingerprint(project_dir: Path = PROJECT_DIR) -> str:
    """Hash of the dbt project's files (names and contents) and the dbt versions: what decides
    the rows a build writes, wherever the checkout lives."""
    digest = hashlib.sha256(f"dbt-core {version('dbt-core')} {version('dbt-duckdb')}".encode())
    for path in dbt_input_files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def project_fingerprint(project_dir: Path = PROJECT_DIR) -> str:
    """The content fingerprint and the project's directory: what a parsed manifest depends on.

    The directory counts: a manifest holds absolute paths (seeds are loaded from them), so one
    parsed in another checkout of the same files is not this checkout's.
    """
    digest = hashlib.sha256(project_dir.resolve().as_posix().encode() + b"\0")
    digest.update(project_content_fingerprint(project_dir).encode())
    return digest.hexdigest()[:24]


def manifest_is_stale(manifest_path: Path) -> bool:
    """True when the manifest was not parsed from the dbt project as it is now (or is missing)."""
    stamp = manifest_path.parent / FINGERPRINT_FILE
    if not manifest_path.exists() or not stamp.exists():
        return True
    return stamp.read_text().strip() != project_fingerprint()


def _copy_atomically(source: Path, target: Path) -> None:
    """Readers never see a half-written file, and two writers never mix theirs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def cached_manifest_path(fingerprint: str) -> Path:
    return get_settings().dbt_manifest_cache_dir / fingerprint / "manifest.json"


def prepare_manifest(project: DbtProject | None = None, *, with_parse_state: bool = False) -> Path:
    """Make the data dir's manifest current: as it is, from the shared cache, or by parsing.

    Never at import in production: `partnerscore run`, `dev` and `bench` call it first.
    with_parse_state: also parse when this data dir has no partial-parse state (a manifest from
    the cache comes without it, so the first `dbt build` would parse the whole project); the
    bench asks for it to keep parsing out of the timed build.
    """
    project = project or build_dbt_project()
    manifest = Path(project.manifest_path)
    target = Path(project.target_path)
    _drop_partial_parse_of_another_checkout(target)
    fingerprint = project_fingerprint()
    stamp = manifest.parent / FINGERPRINT_FILE
    needs_state = with_parse_state and not (target / PARTIAL_PARSE_FILE).exists()
    current = manifest.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint
    if current and not needs_state:
        return manifest
    cached = cached_manifest_path(fingerprint)
    if cached.exists() and not needs_state:
        _copy_atomically(cached, manifest)
    else:
        project.preparer.prepare(project)  # dbt parse into this data dir's target
        _copy_atomically(manifest, cached)
    stamp.write_text(fingerprint + "\n")
    return manifest


def _drop_partial_parse_of_another_checkout(target: Path, project_dir: Path = PROJECT_DIR) -> None:
    """Delete dbt's partial-parse state when another checkout of the project wrote it.

    dbt checks the files' contents, the profile and the project config before reusing that
    state, not the project's directory, and the state keeps absolute paths: a data dir shared
    by two checkouts (or a project moved elsewhere) then loads seeds from the old directory.
    """
    state = target / PARTIAL_PARSE_FILE
    owner = target / PARTIAL_PARSE_OWNER_FILE
    current = project_dir.resolve().as_posix()
    if state.exists() and (not owner.exists() or owner.read_text().strip() != current):
        state.unlink()
    target.mkdir(parents=True, exist_ok=True)
    owner.write_text(current + "\n")


def keep_partial_parse(invocation_target: Path, project: DbtProject) -> None:
    """Keep the partial-parse state of the last dbt invocation for the next one.

    dagster-dbt gives each invocation a target folder of its own and seeds it with the
    project target's ``partial_parse.msgpack``; dbt only re-parses the changed files when that
    state was written for the same profile (the warehouse path is part of it). Copying the
    newest state back means the next `dbt build` in this data dir parses incrementally.
    """
    state = invocation_target / PARTIAL_PARSE_FILE
    if state.exists():
        _copy_atomically(state, Path(project.target_path) / PARTIAL_PARSE_FILE)


INCREMENTAL_SIGNATURE_FILE = "incremental_models.json"  # beside manifest.json, per data dir


def incremental_signatures(manifest: dict) -> dict[str, str]:
    """unique_id -> hash of each incremental model's SQL and of every macro it calls.

    An incremental table keeps the rows its SQL computed when they were inserted, so a change
    to that SQL (or to a macro it uses) leaves stale rows until the table is rebuilt.
    """
    macros = manifest.get("macros", {})

    def reachable(ids: list[str], seen: set[str]) -> set[str]:
        for macro_id in ids:
            if macro_id in macros and macro_id not in seen:
                seen.add(macro_id)
                reachable(macros[macro_id].get("depends_on", {}).get("macros", []), seen)
        return seen

    signatures = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("config", {}).get("materialized") != "incremental":
            continue
        digest = hashlib.sha256(node["checksum"]["checksum"].encode())
        for macro_id in sorted(reachable(node.get("depends_on", {}).get("macros", []), set())):
            digest.update(macro_id.encode() + b"\0" + macros[macro_id]["macro_sql"].encode())
        signatures[unique_id] = digest.hexdigest()
    return signatures


def needs_full_refresh(project: DbtProject) -> bool:
    """True when an incremental model's SQL changed since it was last built in this data dir
    (or no build recorded it): the next `dbt build` must then run with --full-refresh."""
    saved = Path(project.target_path) / INCREMENTAL_SIGNATURE_FILE
    if not saved.exists():
        return True
    current = incremental_signatures(json.loads(Path(project.manifest_path).read_text()))
    return json.loads(saved.read_text()) != current


def record_incremental_build(project: DbtProject, run_results: dict) -> bool:
    """Remember the incremental models' signatures once all of them built successfully."""
    current = incremental_signatures(json.loads(Path(project.manifest_path).read_text()))
    status = {r["unique_id"]: r["status"] for r in run_results.get("results", [])}
    if any(status.get(unique_id) != "success" for unique_id in current):
        return False
    target = Path(project.target_path) / INCREMENTAL_SIGNATURE_FILE
    target.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return True
