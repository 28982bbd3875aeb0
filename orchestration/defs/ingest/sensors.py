"""Watch the landing zone and run the affected raw assets (and everything downstream)."""

from __future__ import annotations

import hashlib
import json
import time

import dagster as dg

from orchestration.extracts import ENTITIES
from orchestration.ingest import scan_landing
from orchestration.settings import get_settings

from .assets import raw_key

# A file modified this recently may still be being written; wait for the next tick.
SETTLE_SECONDS = 15

_raw_selection = dg.AssetSelection.assets(*[raw_key(e) for e in ENTITIES])


def landing_fingerprints(now: float | None = None) -> tuple[dict[str, str], list[str], list[str]]:
    """(entity -> fingerprint of its files' path/size/mtime, unsettled entities, problems).

    Only the file system is read: the sensor never opens the warehouse.
    """
    now = time.time() if now is None else now
    scan = scan_landing(get_settings().landing_dir)
    fingerprints: dict[str, str] = {}
    unsettled: list[str] = []
    for entity in ENTITIES:
        files = sorted(
            (f.relative, f.size_bytes, f.mtime_ns)
            for folder in scan.for_entity(entity)
            for f in folder.files
        )
        if not files:
            continue
        name = f"{entity.source}/{entity.name}"
        if any(now - mtime / 1e9 < SETTLE_SECONDS for _, _, mtime in files):
            unsettled.append(name)
        fingerprints[name] = hashlib.sha256(json.dumps(files).encode()).hexdigest()
    return fingerprints, unsettled, [str(p) for p in scan.problems]


@dg.sensor(
    name="landing_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    target=_raw_selection.downstream(),
    description="Runs the raw assets of entities whose landing files changed, and downstream.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    fingerprints, unsettled, problems = landing_fingerprints()
    for problem in problems:
        context.log.warning(f"not ingested: {problem}")
    changed = sorted(
        name for name, fp in fingerprints.items() if seen.get(name) != fp and name not in unsettled
    )
    if not changed:
        reasons = ["no new or changed landing files"]
        if unsettled:
            reasons.append(f"waiting for files to settle in {', '.join(unsettled)}")
        if problems:
            reasons.append("not ingested: " + "; ".join(problems))
        return dg.SkipReason("; ".join(reasons))
    keys = [raw_key(e) for e in ENTITIES if f"{e.source}/{e.name}" in changed]
    selection = dg.AssetSelection.assets(*keys).downstream()
    if context.repository_def is not None:
        graph = context.repository_def.asset_graph
        targets = sorted(
            (k for k in selection.resolve(graph) if graph.get(k).is_materializable),
            key=lambda k: k.to_user_string(),
        )
    else:  # evaluated without definitions (tests): the raw assets themselves
        targets = keys
    cursor = {**seen, **{name: fingerprints[name] for name in changed}}
    run_key = hashlib.sha256(json.dumps([cursor[n] for n in changed]).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                asset_selection=targets,
                tags={
                    "partnerscore/trigger": "landing",
                    "partnerscore/entities": ",".join(changed),
                },
            )
        ],
        cursor=json.dumps(cursor, sort_keys=True),
    )
