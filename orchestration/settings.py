"""Where partnerscore keeps its data and how it talks to the warehouse.

Everything the pipeline writes at run time lives under ``PARTNERSCORE_DATA_DIR``
(default ``./data``), so a checkout stays clean and a second data directory is
a second, independent installation.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_DIR / "config"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


class Settings(BaseModel):
    """Runtime settings, read from environment variables (see README, "Configuration")."""

    data_dir: Path = Field(description="Root of everything the pipeline writes.")
    duckdb_memory_limit: str | None = Field(
        default=None, description="DuckDB memory_limit, e.g. '8GB'; DuckDB's default when unset."
    )
    duckdb_threads: int | None = Field(
        default=None, description="DuckDB threads; all cores when unset."
    )
    alert_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "partnerscore@localhost"
    smtp_recipients: list[str] = Field(default_factory=list)

    @classmethod
    def from_env(cls) -> Settings:
        recipients = _env("PARTNERSCORE_ALERT_EMAIL_TO", "") or ""
        threads = _env("PARTNERSCORE_DUCKDB_THREADS")
        return cls(
            data_dir=Path(_env("PARTNERSCORE_DATA_DIR", str(PROJECT_DIR / "data"))).resolve(),
            duckdb_memory_limit=_env("PARTNERSCORE_DUCKDB_MEMORY_LIMIT"),
            duckdb_threads=int(threads) if threads else None,
            alert_webhook_url=_env("PARTNERSCORE_ALERT_WEBHOOK_URL"),
            smtp_host=_env("PARTNERSCORE_SMTP_HOST"),
            smtp_port=int(_env("PARTNERSCORE_SMTP_PORT", "25") or 25),
            smtp_sender=_env("PARTNERSCORE_ALERT_EMAIL_FROM", "partnerscore@localhost") or "",
            smtp_recipients=[r.strip() for r in recipients.split(",") if r.strip()],
        )

    # Layout of the data directory: one place that names every path.
    @cached_property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @cached_property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @cached_property
    def published_path(self) -> Path:
        """The copy BI tools read; replaced atomically by each successful publish."""
        return self.data_dir / "published" / "partnerscore.duckdb"

    @cached_property
    def ground_truth_dir(self) -> Path:
        """Generator's hidden answers (latent quality, churn, injected defects); never ingested."""
        return self.data_dir / "ground_truth"

    @cached_property
    def corrections_dir(self) -> Path:
        """Partner-ops corrections waiting to be applied by the next run."""
        return self.data_dir / "corrections"

    @cached_property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @cached_property
    def duckdb_temp_dir(self) -> Path:
        return Path(_env("PARTNERSCORE_DUCKDB_TEMP_DIR", str(self.data_dir / "tmp" / "duckdb")))

    @cached_property
    def dagster_home(self) -> Path:
        return Path(_env("DAGSTER_HOME", str(self.data_dir / "dagster_home")))

    @cached_property
    def dbt_target_dir(self) -> Path:
        return self.data_dir / "dbt" / "target"

    @cached_property
    def dbt_log_dir(self) -> Path:
        return self.data_dir / "dbt" / "logs"

    @cached_property
    def dbt_manifest_cache_dir(self) -> Path:
        """dbt manifests by project hash (orchestration/dbt_project.py). Under the data dir, so a
        run writes nowhere else; ``PARTNERSCORE_CACHE_DIR`` shares one cache between data dirs
        (the bench points its own data dirs at the outer one)."""
        cache = _env("PARTNERSCORE_CACHE_DIR", None)
        return (Path(cache) if cache else self.data_dir / "cache") / "dbt-manifests"

    def ensure_dirs(self) -> None:
        for path in (
            self.landing_dir,
            self.published_path.parent,
            self.corrections_dir,
            self.reports_dir,
            self.duckdb_temp_dir,
            self.dagster_home,
            self.dbt_target_dir,
            self.dbt_log_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)

    def export_env(self) -> None:
        """Make child processes (dbt, Dagster) see the same paths and turn off telemetry."""
        os.environ["PARTNERSCORE_DATA_DIR"] = str(self.data_dir)
        os.environ.setdefault("DAGSTER_HOME", str(self.dagster_home))
        os.environ["DBT_TARGET_PATH"] = str(self.dbt_target_dir)
        os.environ["DBT_LOG_PATH"] = str(self.dbt_log_dir)
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
        os.environ["DO_NOT_TRACK"] = "1"
        os.environ["PARTNERSCORE_DUCKDB_TEMP_DIR"] = str(self.duckdb_temp_dir)
        # dbt's profile reads the limit from the environment, so it always gets one: the
        # configured limit, else DuckDB's own default of 80 % of physical memory.
        os.environ["PARTNERSCORE_DUCKDB_MEMORY_LIMIT"] = (
            self.duckdb_memory_limit or default_memory_limit()
        )
        # dbt and dagster run as child processes: find the ones installed beside this Python
        # even when the virtual environment is not activated (`.venv/bin/partnerscore run`).
        venv_bin = str(Path(sys.executable).parent)
        if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")


def default_memory_limit() -> str:
    import psutil

    return f"{max(1, int(psutil.virtual_memory().total * 0.8 / 1e9))}GB"


def get_settings() -> Settings:
    settings = Settings.from_env()
    settings.export_env()
    return settings
