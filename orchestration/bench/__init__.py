"""The benchmark: the whole pipeline against hand-written DuckDB SQL on the same extracts.

``partnerscore bench`` generates (or reuses) landing data at a fixed scale, runs the
Dagster pipeline on a data directory of its own, runs the baseline in ``baseline.sql``
on the same files, adds one day of extracts and runs the pipeline again, and reports
wall time, rows per second and peak memory per stage (see ``docs/performance.md``).
"""

from __future__ import annotations

from orchestration.bench.scales import SCALES, Scale, get_scale

__all__ = ["SCALES", "Scale", "get_scale"]
