"""Time the portal checks on a synthetic batch: ``python expectations/bench_quality.py 1000000``.

Builds, in a throwaway data dir, raw_portal.activity_events with 6 history batches of
rows/10 and one new batch of ``rows`` (DuckDB ``range``), then times ``run_asset_checks``.
"""

import os
import sys
import tempfile
import time
from datetime import date

os.environ["PARTNERSCORE_DATA_DIR"] = tempfile.mkdtemp(prefix="psq-")
from expectations.config import load_config
from expectations.runner import run_asset_checks
from orchestration.ingest import ensure_raw_schema
from orchestration.settings import get_settings
from orchestration.warehouse import connect

n = int(sys.argv[1])
s = get_settings()
with connect(s) as c:
    ensure_raw_schema(c)
    c.execute(
        "insert into raw_crm.partners (partner_id, partner_name, partner_type, tier, region, joined_date, status, _extract_date, _batch_id) select 'P' || lpad(i::varchar, 5, '0'), 'x', 'reseller', 'gold', 'EMEA', date '2020-01-01', 'active', date '2026-11-01', 'partners-1' from range(1, 2001) t(i)"
    )
    t = time.time()
    for m in range(7):
        rows = n if m == 6 else n // 10
        ext = date(2026, 5 + m, 1)
        c.execute(f"""insert into raw_portal.activity_events
          select 'EV' || {m} || '-' || i, 'P' || lpad((i % 2000 + 1)::varchar, 5, '0'), 'U' || (i % 50000),
                 'login', timestamp '{ext}' - interval 20 day + (i % 86400) * interval 1 second,
                 '{{"k": 1}}'::json,
                 'portal/activity_events/{ext}/activity_events-part-0001.jsonl.gz', i, date '{ext}',
                 'x', now()::timestamp, null, 'activity_events-{ext}'
          from range({rows}) t(i)""")
    print(f"built in {time.time() - t:.1f}s")
t = time.time()
run = run_asset_checks(
    s, "raw_portal/activity_events", run_id="bench", config=load_config(), today=date(2026, 11, 20)
)
print(
    f"{n:,} rows in the new batch (+{6 * (n // 10):,} history rows): checks took {time.time() - t:.2f}s; "
    f"{len(run.results)} results, failures: {[r.check_name for r in run.failures]}"
)
