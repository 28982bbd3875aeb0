"""High-volume event streams (portal activity, LMS xAPI), generated and written per month chunk.

Rows are drawn with numpy into Arrow tables of plain numbers; DuckDB renders ids, timestamps
and JSON while copying to gzip, so no Python loop ever touches an individual event.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from orchestration.extracts import EVENT_TYPES
from orchestration.generate.population import Population
from orchestration.generate.writer import LandingWriter

PART_LINES = 2_000_000  # team decision: portal parts hold at most 2,000,000 lines

EVENT_P = (0.38, 0.22, 0.10, 0.08, 0.03, 0.02, 0.05, 0.01, 0.02, 0.05, 0.04)
_EVENT_LIST = "[" + ", ".join(f"'{e}'" for e in EVENT_TYPES) + "]"

# Plain string concatenation: every value is generated ASCII without quotes or backslashes,
# so no JSON escaping is needed, and DuckDB's concat is much faster than json_object.
_PORTAL_SQL = f"""
select concat(
    '{{"event_id":"EV', lpad(n::varchar, 11, '0'),
    '","partner_id":"P', lpad((p + 1)::varchar, 5, '0'),
    '","user_id":"U', lpad((p + 1)::varchar, 5, '0'), '-', lpad((u + 1)::varchar, 3, '0'),
    '","event_type":"', {_EVENT_LIST}[ty + 1],
    '","occurred_at":"', strftime(make_timestamp(ts * 1000000), '%Y-%m-%dT%H:%M:%SZ'),
    '","properties":',
    case
        when ty in (1, 2) then concat('{{"content_id":"CNT-', lpad((c % 600)::varchar, 4, '0'), '"}}')
        when ty = 3 then concat('{{"price_list":"PL-', lpad((c % 12)::varchar, 2, '0'), '"}}')
        when ty = 5 then concat('{{"invitee_role":"', ['sales', 'presales', 'support'][c % 3 + 1],
            '"}}')
        when ty = 6 then concat('{{"thread_id":"TH-', lpad(c::varchar, 5, '0'), '"}}')
        when ty = 7 then concat('{{"plan_year":', year(make_timestamp(ts * 1000000)) + 1, '}}')
        when ty = 8 then concat('{{"mdf_amount_usd":', round(amt, 2)::varchar, '}}')
        when ty in (9, 10) then concat('{{"event_id":"EVT-', lpad((c % 150)::varchar, 3, '0'),
            '"}}')
        else '{{}}'
    end,
    '}}', chr(10)
) as line
from t
"""

# A fixed course catalog: (course_id, name, kind). Certifications are what partner programs
# reward, so they get their own pass/fail outcomes.
_TOPICS = (
    "Platform Fundamentals", "Security Essentials", "Analytics Deep Dive", "Cloud Migration",
    "Selling the Platform", "Pricing and Packaging", "Technical Presales", "Support Operations",
    "Integration Patterns", "Customer Success",
)  # fmt: skip
COURSES: tuple[tuple[str, str, str], ...] = tuple(
    [(f"MOD-{i:03d}", f"{_TOPICS[i % 10]}: Module {i // 10 + 1}", "module") for i in range(20)]
    + [(f"CRS-{i:03d}", f"{_TOPICS[i % 10]} Course", "course") for i in range(10)]
    + [(f"CERT-{i:03d}", f"Certified {_TOPICS[i]} Professional", "certification") for i in range(6)]
    + [(f"SPEC-{i:03d}", f"{_TOPICS[i]} Specialization", "specialization") for i in range(3)]
)
_COURSE_P = np.array(
    [3.0 if k == "module" else 2.0 if k == "course" else 1.6 if k == "certification" else 0.8
     for _, _, k in COURSES]
)  # fmt: skip
_COURSE_P = _COURSE_P / _COURSE_P.sum()
_CERTIFYING = np.array([k in ("certification", "specialization") for _, _, k in COURSES])
_IS_CERT = np.array([k == "certification" for _, _, k in COURSES])
VERBS = ("enrolled", "completed", "passed", "failed")


def _lit_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _xapi_object(with_result: bool) -> str:
    result = (
        "'result', json_object('score', json_object('scaled', round(score / 100, 4))),"
        if with_result
        else ""
    )
    verbs, kinds = _lit_list(VERBS), _lit_list(tuple(c[2] for c in COURSES))
    ids, names = _lit_list(tuple(c[0] for c in COURSES)), _lit_list(tuple(c[1] for c in COURSES))
    return f"""json_object(
    'id', printf('%08x-%04x-4000-8000-%012x', seed, m, n),
    'actor', json_object('account', json_object(
        'homePage', 'https://lms.example.com', 'name', printf('LRN%05d-%03d', p + 1, l + 1))),
    'verb', json_object(
        'id', 'http://adlnet.gov/expapi/verbs/' || {verbs}[v + 1],
        'display', json_object('en-US', {verbs}[v + 1])),
    'object', json_object(
        'id', 'https://lms.example.com/courses/' || {ids}[k + 1],
        'definition', json_object(
            'name', json_object('en-US', {names}[k + 1]),
            'extensions', json_object('https://partnerscore.dev/xapi/course-kind', {kinds}[k + 1]))),
    {result}
    'context', json_object('extensions', case when expires is null
        then json_object('https://partnerscore.dev/xapi/partner-id', printf('P%05d', p + 1))
        else json_object('https://partnerscore.dev/xapi/partner-id', printf('P%05d', p + 1),
            'https://partnerscore.dev/xapi/certification-expires',
            strftime(make_timestamp(ts * 1000000) + to_days(730), '%Y-%m-%d')) end),
    'timestamp', strftime(make_timestamp(ts * 1000000), '%Y-%m-%dT%H:%M:%SZ'))"""


# Optional members (result, certification expiry) are left out rather than written as null.
_XAPI_SQL = f"""
select (case when score is null then {_xapi_object(False)} else {_xapi_object(True)} end)::varchar
    || chr(10) as line
from t
"""


def _month_epoch(month: date) -> int:
    return int(np.datetime64(month, "s").astype(np.int64))


def write_portal_month(
    writer: LandingWriter,
    rng: np.random.Generator,
    pop: Population,
    counts: np.ndarray,
    month: date,
    next_month: date,
    extract_date: date,
    first_event_number: int,
) -> int:
    """Write one month of portal events as parts of at most PART_LINES lines; returns rows."""
    start = _month_epoch(month)
    span = _month_epoch(next_month) - start
    written = 0
    part = 0
    # Chunks of whole partners, so memory stays bounded by the part size.
    cum = np.cumsum(counts)
    lo = 0
    while lo < pop.n:
        base = cum[lo - 1] if lo else 0
        hi = int(np.searchsorted(cum, base + PART_LINES, side="right"))
        hi = max(hi, lo + 1)
        chunk = np.arange(lo, hi)
        k = counts[lo:hi]
        total = int(k.sum())
        lo = hi
        if total == 0:
            continue
        p = np.repeat(chunk, k).astype(np.int32)
        ts = start + rng.integers(0, span, total)
        order = np.argsort(ts, kind="stable")
        p, ts = p[order], ts[order]
        table = pa.table(
            {
                "n": np.arange(first_event_number + written, first_event_number + written + total),
                "p": p,
                "u": (rng.random(total) * pop.portal_users[p]).astype(np.int32),
                "ty": rng.choice(len(EVENT_TYPES), total, p=EVENT_P).astype(np.int8),
                "ts": ts,
                "c": rng.integers(0, 100_000, total).astype(np.int32),
                "amt": rng.lognormal(7.5, 0.8, total),
            }
        )
        part += 1
        name = f"activity_events-part-{part:04d}.jsonl.gz"
        writer.write_lines("portal", "activity_events", extract_date, name, table, _PORTAL_SQL)
        written += total
    return written


def write_lms_month(
    writer: LandingWriter,
    rng: np.random.Generator,
    pop: Population,
    counts: np.ndarray,
    month: date,
    next_month: date,
    extract_date: date,
    first_record_number: int,
    seed: int,
    month_index: int,
) -> int:
    """Write one month of LMS xAPI statements (one JSON object per line); returns rows."""
    total = int(counts.sum())
    if total == 0:
        return 0
    start = _month_epoch(month)
    span = _month_epoch(next_month) - start
    p = np.repeat(np.arange(pop.n), counts)
    ts = np.sort(start + rng.integers(0, span, total))
    ts = ts[rng.permutation(total)]  # time order independent of partner order
    order = np.argsort(ts, kind="stable")
    p, ts = p[order], ts[order]
    course = rng.choice(len(COURSES), total, p=_COURSE_P)
    q = pop.quality[p]
    certifying = _CERTIFYING[course]
    r = rng.random(total)
    # Modules/courses: enrol or complete. Certifications: enrol, then pass or fail, and
    # the pass rate is what quality buys.
    passed = rng.random(total) < 0.25 + 0.7 * q
    verb = np.where(
        certifying,
        np.where(r < 0.4, 0, np.where(passed, 2, 3)),
        np.where(r < 0.45, 0, 1),
    ).astype(np.int8)
    score = np.where(
        verb == 2,
        70 + 30 * rng.beta(1 + 3 * q, 2.0),
        np.where(verb == 3, 20 + 49 * rng.random(total), np.nan),
    )
    expires = np.where((verb == 2) & _IS_CERT[course], 1, np.nan)
    table = pa.table(
        {
            "seed": np.full(total, seed & 0xFFFFFFFF, dtype=np.int64),
            "m": np.full(total, month_index, dtype=np.int64),
            "n": np.arange(first_record_number, first_record_number + total),
            "p": p.astype(np.int32),
            "l": (rng.random(total) * pop.learners[p]).astype(np.int32),
            "k": course.astype(np.int16),
            "v": verb,
            "score": pa.array(np.round(score, 1), from_pandas=True),
            "expires": pa.array(expires, from_pandas=True),
            "ts": ts,
        }
    )
    name = "learning_records.xapi.jsonl.gz"
    writer.write_lines("lms", "learning_records", extract_date, name, table, _XAPI_SQL)
    return total
