"""The hidden truth behind the demo data: partners, their latent quality and monthly dynamics.

Everything here is small (partners x months arrays), so it is computed up front; the
row-level extracts are then streamed month by month from these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from orchestration.extracts import PARTNER_TYPES, REGIONS, TIERS

TRAJECTORIES = ("rising", "steady", "seasonal", "declining", "churning")
TRAJECTORY_P = (0.2, 0.33, 0.15, 0.15, 0.17)

# Countries per region with their currency (amounts are written in local currency).
COUNTRIES: dict[str, tuple[tuple[str, str], ...]] = {
    "NA": (("US", "USD"), ("US", "USD"), ("US", "USD"), ("CA", "CAD")),
    "EMEA": (
        ("GB", "GBP"),
        ("DE", "EUR"),
        ("FR", "EUR"),
        ("NL", "EUR"),
        ("ES", "EUR"),
        ("IT", "EUR"),
        ("SE", "SEK"),
    ),
    "APAC": (("JP", "JPY"), ("AU", "AUD"), ("SG", "SGD"), ("IN", "INR")),
    "LATAM": (("BR", "BRL"), ("MX", "MXN"), ("CL", "USD"), ("AR", "USD")),
}
# Rough local units per USD; only needs to be plausible and fixed for determinism.
FX_PER_USD = {
    "USD": 1.0,
    "CAD": 1.37,
    "GBP": 0.79,
    "EUR": 0.92,
    "SEK": 10.6,
    "JPY": 150.0,
    "AUD": 1.52,
    "SGD": 1.35,
    "INR": 83.0,
    "BRL": 5.0,
    "MXN": 17.0,
}
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})

_NAME_STEMS = (
    "Apex", "Northwind", "Blue Harbor", "Cobalt", "Vertex", "Summit", "Lumen", "Kestrel",
    "Ironbridge", "Silverline", "Orbit", "Pinnacle", "Redwood", "Quantum", "Harbor", "Nimbus",
    "Atlas", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Helix", "Juniper",
)  # fmt: skip
_NAME_MIDDLES = (
    "Systems", "Networks", "Cloud", "Data", "Digital", "Consulting", "Technologies", "IT",
    "Solutions", "Integration", "Services", "Security",
)  # fmt: skip
# Accented names for countries that use them: real CRMs are full of these, and they
# exercise UTF-8 handling (and the latin-1 defect) end to end.
_LOCAL_NAMES = {
    "FR": ("Société Réseaux", "Intégration Générale", "Sécurité Numérique"),
    "DE": ("Müller Datentechnik", "Schäfer Systemhaus", "Größer Netzwerke"),
    "ES": ("Informática Peñalara", "Soluciones Ibéricas", "Técnica Añil"),
    "BR": ("Tecnologia São Paulo", "Informação Ágil", "Soluções Paraná"),
    "SE": ("Nätverk Åkesson", "Datasäkerhet Öst", "Molnlösningar Ärla"),
}
_LEGAL = {
    "US": "Inc.", "CA": "Ltd.", "GB": "Ltd", "DE": "GmbH", "FR": "SAS", "NL": "B.V.", "ES": "S.L.",
    "IT": "S.r.l.", "SE": "AB", "JP": "K.K.", "AU": "Pty Ltd", "SG": "Pte. Ltd.", "IN": "Pvt. Ltd.",
    "BR": "Ltda.", "MX": "S.A. de C.V.", "CL": "SpA", "AR": "S.A.",
}  # fmt: skip

# The burn-in lets lagged drivers (revenue follows activity by 3-6 months) exist at month 0.
BURN_IN = 8


def month_start(year: int, month: int, offset: int) -> date:
    """First day of the month ``offset`` months after (year, month)."""
    idx = year * 12 + (month - 1) + offset
    return date(idx // 12, idx % 12 + 1, 1)


@dataclass
class Population:
    """Partners (static attributes) and their monthly latent engagement.

    Month index t runs 0..months-1 over the window; arrays over months carry BURN_IN
    leading columns so t maps to column t + BURN_IN.
    """

    n: int
    months: int
    first_month: date
    quality: np.ndarray
    size: np.ndarray
    trajectory: np.ndarray  # index into TRAJECTORIES
    churn_month: np.ndarray  # month index the status turns inactive; -1 when not churning
    partner_type: np.ndarray
    region: np.ndarray
    country: np.ndarray  # str
    currency: np.ndarray  # str
    segment: np.ndarray
    base_tier: np.ndarray
    join_date: np.ndarray  # datetime64[D]
    join_month: np.ndarray  # month index (negative = before the window)
    parent: np.ndarray  # partner index or -1
    employees: np.ndarray
    portal_users: np.ndarray
    learners: np.ndarray
    names: np.ndarray
    engagement: np.ndarray  # (n, BURN_IN + months): leading activity level
    pipeline_driver: np.ndarray  # (n, months): engagement averaged over t-6..t-3

    def month_date(self, t: int) -> date:
        return month_start(self.first_month.year, self.first_month.month, t)

    def partner_ids(self, idx: np.ndarray | None = None) -> np.ndarray:
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        if idx.size == 0:
            return np.zeros(0, dtype=object)
        return np.char.add("P", np.char.zfill((idx + 1).astype(str), 5))

    def tier_at(self, t: int) -> np.ndarray:
        # Tier reviews happen half-way: rising partners move up, declining/churning move down.
        tier = self.base_tier.copy()
        if t >= self.months // 2:
            tier = np.where(self.trajectory == 0, np.minimum(tier + 1, len(TIERS) - 1), tier)
            down = np.isin(self.trajectory, (3, 4))
            tier = np.where(down, np.maximum(tier - 1, 0), tier)
        return tier

    def status_at(self, t: int) -> np.ndarray:
        status = np.full(self.n, "active", dtype=object)
        churned = (self.churn_month >= 0) & (t >= self.churn_month)
        status[churned] = "inactive"
        status[churned & (t >= self.churn_month + 3)] = "terminated"
        return status

    def active_at(self, t: int) -> np.ndarray:
        return self.join_month <= t


def build_population(
    rng: np.random.Generator, n: int, months: int, first_month: date
) -> Population:
    quality = rng.beta(2.2, 2.2, n)
    # Size is drawn independently of quality: volumes must not leak into quality ratios.
    size = np.exp(rng.normal(0.0, 0.85, n))
    trajectory = rng.choice(len(TRAJECTORIES), n, p=TRAJECTORY_P)
    partner_type = rng.choice(len(PARTNER_TYPES), n, p=(0.38, 0.22, 0.14, 0.16, 0.10))
    region = rng.choice(len(REGIONS), n, p=(0.42, 0.32, 0.16, 0.10))
    country = np.empty(n, dtype=object)
    currency = np.empty(n, dtype=object)
    for r, name in enumerate(REGIONS):
        mask = region == r
        options = COUNTRIES[name]
        pick = rng.integers(0, len(options), mask.sum())
        country[mask] = [options[i][0] for i in pick]
        currency[mask] = [options[i][1] for i in pick]
    # Bigger partners serve bigger customers.
    seg_score = np.log(size) + rng.normal(0, 0.7, n)
    segment = np.digitize(seg_score, np.quantile(seg_score, [0.45, 0.8]))
    # Tier reflects size and past performance (quality), plus program politics (noise).
    tier_score = 0.65 * np.log(size) / 0.85 + 0.9 * (quality - 0.5) / 0.22 + rng.normal(0, 0.6, n)
    base_tier = np.digitize(tier_score, np.quantile(tier_score, [0.4, 0.7, 0.9]))

    # Join dates: most joined years ago, ~12% join during the window.
    window_start = np.datetime64(first_month, "D")
    joins_in_window = rng.random(n) < 0.12
    days_before = (rng.exponential(900, n) + 30).astype(int)
    days_in = (rng.random(n) * max(months - 3, 1) * 30.4).astype(int)
    join_date = np.where(
        joins_in_window,
        window_start + days_in.astype("timedelta64[D]"),
        window_start - days_before.astype("timedelta64[D]"),
    )
    jm = join_date.astype("datetime64[M]").astype(int) - np.datetime64(first_month, "M").astype(int)
    join_month = jm.astype(int)

    # Churners: activity fades from churn_month - 8 (revenue follows ~4 months later),
    # then the CRM status turns inactive at churn_month.
    churn_month = np.full(n, -1)
    churning = trajectory == 4
    lo = min(max(months // 3, 1), months - 1)
    churn_month[churning] = rng.integers(lo, months, churning.sum())
    churn_month[churning] = np.maximum(churn_month[churning], join_month[churning] + 9)
    late = churning & (churn_month >= months)
    trajectory[late] = 3  # would churn after the window: it is merely declining here
    churn_month[late] = -1

    parent = np.full(n, -1)
    subs = np.flatnonzero(rng.random(n) < 0.04)
    for i in subs[subs > 10]:
        same = np.flatnonzero(region[:i] == region[i])
        if same.size:
            parent[i] = same[rng.integers(0, same.size)]

    employees = np.maximum(1, np.round(22 * size * np.exp(rng.normal(0, 0.25, n)))).astype(int)
    portal_users = np.maximum(1, np.round(4 * size**0.9)).astype(int)
    learners = np.maximum(1, np.round(3 * size**0.9)).astype(int)

    names = np.empty(n, dtype=object)
    stems = rng.integers(0, len(_NAME_STEMS), n)
    mids = rng.integers(0, len(_NAME_MIDDLES), n)
    for i in range(n):
        local = _LOCAL_NAMES.get(country[i])
        if local is not None and stems[i] % 2 == 0:
            base = local[mids[i] % len(local)]
        else:
            base = f"{_NAME_STEMS[stems[i]]} {_NAME_MIDDLES[mids[i]]}"
        names[i] = f"{base} {_LEGAL[country[i]]}"

    engagement = _engagement(rng, n, months, first_month, trajectory, churn_month, join_month)
    total = engagement.shape[1]
    driver = np.zeros((n, months))
    for t in range(months):
        c = t + BURN_IN
        driver[:, t] = engagement[:, max(c - 6, 0) : max(c - 2, 1)].mean(axis=1)
    del total
    return Population(
        n=n,
        months=months,
        first_month=first_month,
        quality=quality,
        size=size,
        trajectory=trajectory,
        churn_month=churn_month,
        partner_type=partner_type,
        region=region,
        country=country,
        currency=currency,
        segment=segment,
        base_tier=base_tier,
        join_date=join_date,
        join_month=join_month,
        parent=parent,
        employees=employees,
        portal_users=portal_users,
        learners=learners,
        names=names,
        engagement=engagement,
        pipeline_driver=driver,
    )


def _engagement(
    rng: np.random.Generator,
    n: int,
    months: int,
    first_month: date,
    trajectory: np.ndarray,
    churn_month: np.ndarray,
    join_month: np.ndarray,
) -> np.ndarray:
    """Monthly engagement per partner: trend x seasonality x AR(1) shocks, zero before joining.

    The shocks matter: they give engagement month-to-month variation of its own, so the
    3-6 month lead of activity over revenue is visible in the data.
    """
    cols = BURN_IN + months
    t = np.arange(cols) - BURN_IN  # month index relative to the window
    frac = np.clip((t + BURN_IN) / max(cols - 1, 1), 0, 1)
    cal = np.array([month_start(first_month.year, first_month.month, int(x)).month for x in t])
    q4 = np.isin(cal, (10, 11, 12)).astype(float)
    summer = np.isin(cal, (7, 8)).astype(float)
    trend = np.ones((n, cols))
    trend[trajectory == 0] = 0.45 + 1.2 * frac
    trend[trajectory == 2] = 1.0 + 0.9 * q4 - 0.25 * summer
    trend[trajectory == 3] = 1.5 - 1.0 * frac
    churners = np.flatnonzero(churn_month >= 0)
    for i in churners:
        fade_start = churn_month[i] - 8
        fade = np.clip(1 - (t - fade_start) / 4, 0, 1)
        trend[i] = fade
    season = 1.0 + 0.15 * q4  # everyone sells a little more in Q4
    shocks = np.zeros((n, cols))
    eps = rng.normal(0, 0.45, (n, cols))
    shocks[:, 0] = eps[:, 0]
    for c in range(1, cols):
        shocks[:, c] = 0.45 * shocks[:, c - 1] + eps[:, c]
    joined = t[None, :] >= join_month[:, None]
    return trend * season * np.exp(shocks - 0.1) * joined
