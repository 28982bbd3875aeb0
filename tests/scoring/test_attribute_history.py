"""Partner attributes as of each period (compiled SQL, in-memory): a later CRM change of a
partner's type or region never changes the scores of periods before it."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scoring.conftest import ScoringRunner
from tests.scoring.inputs import populations, staging_frames

FAST = settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
KEY = ["partner_id", "period_grain", "period_start"]
OTHER_TYPE = {"reseller": "msp", "msp": "reseller"}
OTHER_REGION = {"NA": "EMEA", "EMEA": "NA"}


def with_later_extract(
    frames: dict[str, pd.DataFrame], partner_id: str, extract: date
) -> dict[str, pd.DataFrame]:
    """The same inputs plus a CRM extract on ``extract`` saying the partner changed type and
    region (the earlier extract stays valid until then)."""
    history = frames["stg_crm__partners_history"].copy()
    mask = history.partner_id == partner_id
    before = history[mask].iloc[0].to_dict()
    history.loc[mask, "valid_to_date"] = extract
    after = {
        **before,
        "partner_type": OTHER_TYPE[before["partner_type"]],
        "region": OTHER_REGION[before["region"]],
        "extract_date": extract,
        "valid_from_date": extract,
        "valid_to_date": None,
    }
    return {**frames, "stg_crm__partners_history": pd.concat([history, pd.DataFrame([after])])}


def _scores(conn) -> pd.DataFrame:
    return conn.sql("select * from marts.fct_partner_scores").df().sort_values(KEY)


@FAST
@given(specs=populations, data=st.data())
def test_a_later_crm_change_leaves_earlier_periods_alone(
    runner: ScoringRunner, specs, data
) -> None:
    index = data.draw(st.integers(0, len(specs) - 1))
    extract = data.draw(st.sampled_from([date(2025, 3, 1), date(2025, 6, 1)]))
    partner_id = f"P{index:03d}"
    frames = staging_frames(specs)
    base = _scores(runner.run(frames))
    changed = _scores(runner.run(with_later_extract(frames, partner_id, extract)))
    # A period takes the extract in force the day after it ends.
    earlier = pd.to_datetime(base.period_end) + timedelta(days=1) < pd.Timestamp(extract)
    assert earlier.any() and (~earlier).any()
    pd.testing.assert_frame_equal(
        base[earlier.to_numpy()].reset_index(drop=True),
        changed[earlier.to_numpy()].reset_index(drop=True),
    )
    moved = changed[(changed.partner_id == partner_id) & ~earlier.to_numpy()]
    assert len(moved) > 0
    expected_type = OTHER_TYPE[specs[index].partner_type]
    assert (moved.partner_type == expected_type).all()
    assert (moved.region == OTHER_REGION[specs[index].region]).all()
