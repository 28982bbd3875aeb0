"""The dbt project as Dagster sees it, and how its manifest is kept current."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import PROJECT_DIR, get_settings

DBT_INPUT_DIRS = ("models", "seeds", "macros", "snapshots", "tests/dbt")
DBT_INPUT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml")


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


def manifest_is_stale(manifest_path: Path) -> bool:
    """True when any dbt input changed after the manifest was written (or there is none)."""
    if not manifest_path.exists():
        return True
    built_at = manifest_path.stat().st_mtime
    inputs = [PROJECT_DIR / name for name in DBT_INPUT_FILES]
    for folder in DBT_INPUT_DIRS:
        inputs.extend((PROJECT_DIR / folder).rglob("*"))
    return any(path.is_file() and path.stat().st_mtime > built_at for path in inputs)


def prepare_manifest(project: DbtProject | None = None) -> Path:
    """Parse the dbt project once, ahead of loading definitions (never at import in production)."""
    project = project or build_dbt_project()
    if manifest_is_stale(project.manifest_path):
        project.preparer.prepare(project)
    return project.manifest_path
