"""One more day of extracts after the full build: what a daily run has to absorb.

The generator writes monthly extracts; a production landing zone gets a folder a day.
``write_daily_delta`` makes that day from the data already there: a 1/30 sample of the
last portal extract's events, re-keyed and moved to the new day, and the CRM changes of
a day (a 1/30 sample of the still-open opportunities in the last extract, restated as
closed won on that day).

``write_redelivery`` then delivers that day's events again, unchanged, a day later: the daily
run whose data changes no score, so what it costs is the floor of every daily run.
"""

from __future__ import annotations

import gzip
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from orchestration.extracts import get_entity

SAMPLE_EVERY = 30  # one day out of a month
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PORTAL_COLUMNS = (
    "{event_id: 'varchar', partner_id: 'varchar', user_id: 'varchar', event_type: 'varchar', "
    "occurred_at: 'timestamp', properties: 'json'}"
)


@dataclass
class DailyDelta:
    extract_date: date
    folders: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def extract_dates(entity_dir: Path) -> list[date]:
    if not entity_dir.is_dir():
        return []
    return sorted(
        date.fromisoformat(p.name) for p in entity_dir.iterdir() if _DATE_DIR.match(p.name)
    )


def _sql_path(path: Path) -> str:
    return path.as_posix().replace("'", "''")


def _portal_day(conn: duckdb.DuckDBPyConnection, landing: Path, last: date, day: date) -> int:
    source = landing / "portal" / "activity_events" / last.isoformat()
    target = landing / "portal" / "activity_events" / day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    covered = day - timedelta(days=1)  # a daily extract holds the previous day's events
    out = target / "activity_events-part-0001.jsonl.gz"
    conn.execute(
        f"""
        copy (
            select
                'D{day:%Y%m%d}-' || event_id as event_id,
                partner_id,
                user_id,
                event_type,
                strftime(
                    date '{covered.isoformat()}' + (occurred_at - date_trunc('day', occurred_at)),
                    '%Y-%m-%dT%H:%M:%SZ'
                ) as occurred_at,
                properties,
            from read_json(
                '{_sql_path(source)}/*.jsonl*',
                format = 'newline_delimited',
                columns = {_PORTAL_COLUMNS}
            )
            where hash(event_id) % {SAMPLE_EVERY} = 0
            order by occurred_at
        ) to '{_sql_path(out)}' (format json, compression gzip)
        """
    )
    rows = conn.execute(
        f"select count(*) from read_json('{_sql_path(out)}', format = 'newline_delimited')"
    ).fetchone()[0]
    if rows == 0:
        shutil.rmtree(target)
    return rows


def _crm_day(conn: duckdb.DuckDBPyConnection, landing: Path, last: date, day: date) -> int:
    entity = get_entity("crm", "opportunities")
    assert entity is not None
    source = landing / "crm" / "opportunities" / last.isoformat()
    if not any(source.glob("*.csv*")):
        return 0
    covered = day - timedelta(days=1)
    changed = {
        "stage": "'closed_won'",
        "closed_date": f"date '{covered.isoformat()}'",
        "is_won": "true",
    }
    typed = {
        c.name: f"cast({c.name} as decimal(18, 2))" for c in entity.columns if c.type == "decimal"
    }
    columns = ", ".join(
        f"{changed.get(c.name, typed.get(c.name, c.name))} as {c.name}" for c in entity.columns
    )
    conn.execute(
        f"""
        create or replace temp table delta_opportunities as
        select {columns}
        from read_csv('{_sql_path(source)}/*.csv*', header = true, union_by_name = true)
        where stage not in ('closed_won', 'closed_lost')
            and hash(opportunity_id) % {SAMPLE_EVERY} = 0
        """
    )
    rows = conn.execute("select count(*) from delta_opportunities").fetchone()[0]
    if rows == 0:
        return 0
    target = landing / "crm" / "opportunities" / day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"copy delta_opportunities to '{_sql_path(target / 'opportunities.csv.gz')}' "
        "(format csv, header true, compression gzip)"
    )
    return rows


def write_daily_delta(landing: Path) -> DailyDelta:
    """Write the day after the last portal extract; returns where and how many rows."""
    dates = extract_dates(landing / "portal" / "activity_events")
    if not dates:
        raise FileNotFoundError(f"no portal extracts under {landing}")
    last = dates[-1]
    day = last + timedelta(days=1)
    delta = DailyDelta(extract_date=day)
    conn = duckdb.connect()
    try:
        portal_rows = _portal_day(conn, landing, last, day)
        if portal_rows:
            delta.rows["portal/activity_events"] = portal_rows
            delta.folders.append(landing / "portal" / "activity_events" / day.isoformat())
        crm_last = extract_dates(landing / "crm" / "opportunities")
        if crm_last:
            crm_rows = _crm_day(conn, landing, crm_last[-1], day)
            if crm_rows:
                delta.rows["crm/opportunities"] = crm_rows
                delta.folders.append(landing / "crm" / "opportunities" / day.isoformat())
    finally:
        conn.close()
    return delta


def write_redelivery(landing: Path, delta: DailyDelta) -> DailyDelta:
    """The delta's portal events delivered again the next day: the same lines, a new file.

    Ingest loads them as a new batch, staging replaces each event with an identical row, and
    every scoring model finds no changed period. The lines are compressed anew, with the day in
    the gzip header's file name, so that ingest's manifest (which skips a file whose bytes it
    has loaded) sees a new file.
    """
    day = delta.extract_date + timedelta(days=1)
    redelivery = DailyDelta(extract_date=day)
    events = landing / "portal" / "activity_events"
    sources = sorted((events / delta.extract_date.isoformat()).glob("*.jsonl.gz"))
    if not sources:
        return redelivery
    target_dir = events / day.isoformat()
    target_dir.mkdir(parents=True, exist_ok=True)
    rows = 0
    for source in sources:
        target = target_dir / source.name
        with (
            gzip.open(source, "rb") as lines,
            target.open("wb") as file,
            gzip.GzipFile(f"{source.name} delivered again {day}", "wb", fileobj=file) as out,
        ):
            for line in lines:
                out.write(line)
                rows += bool(line.strip())
    redelivery.rows["portal/activity_events"] = rows
    redelivery.folders.append(target_dir)
    return redelivery


def remove_delta(folders: list[Path]) -> None:
    """Take a previous run's delta out of the landing zone, so the full build is repeatable."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
