"""Time the checks and publish stages on a COPY of a bench data dir (it rewrites quality state).

    cp -r data/bench/M/seed-42 /tmp/M
    PARTNERSCORE_DATA_DIR=/tmp/M python expectations/bench_quality_stages.py full
    PARTNERSCORE_DATA_DIR=/tmp/M python expectations/bench_quality_stages.py delta
    PARTNERSCORE_DATA_DIR=/tmp/M python expectations/bench_quality_stages.py publish

``full`` forgets every check result, profile and count, as after a fresh ingest; ``delta``
forgets only the newest batch of the portal events and the opportunities (what a bench daily
delta loads) and the batch-less results; both then run what the Dagster "checks" stage runs:
``run_all`` without marts, the mart checks and the partner data gaps. ``publish`` times one
publish (incremental when an earlier published copy with recorded partitions exists).
"""

import os
import sys
import time

import pandas as pd  # noqa: F401 (imported up front, as in the Dagster process, not timed)

from expectations import runner
from expectations.remediation import refresh_partner_data_gaps
from orchestration.serving.publish import publish
from orchestration.settings import get_settings
from orchestration.warehouse import connect

DELTA_ENTITIES = (("portal", "activity_events"), ("crm", "opportunities"))


def forget(mode: str) -> None:
    with connect(get_settings()) as conn:
        if mode == "full":
            conn.execute("drop table if exists quality.batch_partner_months")
            for table in ("check_results", "batch_profiles", "alerts"):
                conn.execute(f"delete from quality.{table}")
            conn.execute("delete from raw_meta.blocked_batches")
            return
        ids = [
            conn.execute(
                f"select _batch_id from raw_{s}.{e} order by _extract_date desc limit 1"
            ).fetchone()[0]
            for s, e in DELTA_ENTITIES
        ]
        marks = ", ".join("?" for _ in ids)
        conn.execute(
            f"delete from quality.check_results where batch_id in ({marks}) or batch_id is null",
            ids,
        )
        conn.execute(f"delete from quality.batch_profiles where batch_id in ({marks})", ids)


def main(mode: str) -> None:
    settings = get_settings()
    if mode == "publish":
        started = time.perf_counter()
        report = publish(settings, run_id="bench")
        print(
            f"publish {time.perf_counter() - started:.2f} s, {report.mode}, "
            f"{report.rows_written:,} of {sum(report.tables.values()):,} rows written"
        )
        return
    forget(mode)
    laps = [time.perf_counter()]
    raw = runner.run_all(settings, run_id=f"bench-{mode}", include_marts=False)
    laps.append(time.perf_counter())
    marts = runner.run_asset_checks(settings, "marts/fct_partner_scores", run_id=f"bench-{mode}")
    laps.append(time.perf_counter())
    with connect(settings) as conn:
        refresh_partner_data_gaps(conn)
    laps.append(time.perf_counter())
    names = ("quality_raw", "mart checks", "partner_data_gaps")
    print(
        f"{mode}: "
        + ", ".join(f"{n} {b - a:.2f} s" for n, a, b in zip(names, laps, laps[1:], strict=False))
        + f"; total {laps[-1] - laps[0]:.2f} s; failed: "
        + str(sorted({(r.asset_key, r.check_name) for r in raw.failures + marts.failures}))
    )


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("full", "delta", "publish"):
        sys.exit(__doc__)
    if "PARTNERSCORE_DATA_DIR" not in os.environ:
        sys.exit("set PARTNERSCORE_DATA_DIR to a copy of a bench data dir")
    main(sys.argv[1])
