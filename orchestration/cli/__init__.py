"""The ``partnerscore`` command line. Each command lives in its own module below."""

from __future__ import annotations

import importlib

from orchestration.cli.app import app

# Modules register their commands on ``app`` when imported.
for _module in ("pipeline", "generate", "scores", "quality", "bench"):
    try:
        importlib.import_module(f"orchestration.cli.{_module}")
    except ModuleNotFoundError as exc:  # a command group not built yet
        if exc.name != f"orchestration.cli.{_module}":
            raise

__all__ = ["app"]
