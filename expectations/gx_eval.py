"""Great Expectations 1.x (pandas engine, ephemeral context) over SQL-computed aggregates.

DuckDB computes the measurements (violating-row counts per batch, robust z-score
excesses, ages); each becomes one row of a small frame with its bounds, and one GX suite
(`partnerscore_measurements`) decides which rows fail. Row-level validation of millions
of rows in pandas would cost minutes; validating the aggregates costs ~0.1 s per asset.
The context, batch definition and suite are built once per process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

logging.getLogger("great_expectations").setLevel(logging.WARNING)
SUITE_NAME = "partnerscore_measurements"
_lock = threading.Lock()
_state: dict[str, object] = {}


@dataclass(frozen=True)
class Measurement:
    """One observed value and the bounds it must lie within; ``observed=None`` = no verdict."""

    check_name: str
    key: str  # unique within one evaluation, e.g. "not_null|<batch_id>"
    observed: float | None
    min_value: float | None = None
    max_value: float | None = None


def _suite():
    if not _state:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        batch_def = (
            context.data_sources.add_pandas("partnerscore")
            .add_dataframe_asset("measurements")
            .add_batch_definition_whole_dataframe("all")
        )
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=SUITE_NAME,
                expectations=[
                    # excess = distance outside [min, max]; <= 0 means within bounds.
                    gx.expectations.ExpectColumnValuesToBeBetween(column="excess", max_value=0),
                ],
            )
        )
        _state.update(batch_def=batch_def, suite=suite)
    return _state["batch_def"], _state["suite"]


def frame_of(measurements: list[Measurement]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [(m.check_name, m.key, m.observed, m.min_value, m.max_value) for m in measurements],
        columns=["check_name", "key", "observed", "min_value", "max_value"],
    )
    for col in ("observed", "min_value", "max_value"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    below = frame["min_value"] - frame["observed"]
    above = frame["observed"] - frame["max_value"]
    frame["excess"] = np.fmax(below, above)  # NaN only when observed is NaN or no bounds
    frame.loc[frame["observed"].isna(), "excess"] = np.nan
    return frame


def evaluate(measurements: list[Measurement]) -> set[str]:
    """Validate the measurements with GX; returns the keys of those outside their bounds."""
    if not measurements:
        return set()
    frame = frame_of(measurements)
    if frame["key"].duplicated().any():
        raise ValueError("measurement keys must be unique within one evaluation")
    with _lock:
        batch_def, suite = _suite()
        batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["key"]},
        )
    failed: set[str] = set()
    for r in result.results:
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"GX could not evaluate {r.expectation_config.type}: {r.exception_info}"
            )
        if r.success:
            continue
        failed |= {str(item["key"]) for item in r.result.get("unexpected_index_list") or []}
    return failed
