"""Random valid flex programs for the planner's property tests (hypothesis), shared by the tests that compare
the planner with what must hold and with a plain walk through the schedule."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from programmer.program import program_from_data

DAY = 1440
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""How many examples is the profile's (tests/conftest.py): 40 in a run of the suite, 300 in
benchmarks/property_tests.py."""


@st.composite
def flex_therapies(draw, max_days: int = 7, max_steps: int = 13) -> dict:
    """A flex therapy as the document writes it: 1 to ``max_days`` days, day 1 from 00:00, up to ``max_steps``
    steps a day (a later day may have none: the step before runs on), rates from 0.01 to 200 an hour."""
    cycle_days = draw(st.integers(1, max_days))
    steps = []
    for day in range(1, cycle_days + 1):
        if day == 1:
            others = draw(st.sets(st.integers(1, DAY - 1), max_size=max_steps - 1))
            minutes = [0] + sorted(others)
        else:
            minutes = sorted(draw(st.sets(st.integers(0, DAY - 1), max_size=max_steps)))
        for minute in minutes:
            rate = draw(st.floats(0.01, 200, allow_nan=False, allow_infinity=False))
            steps.append({"day": day, "start": f"{minute // 60:02d}:{minute % 60:02d}", "dose_per_hour": rate})
    return {"mode": "flex", "cycle_days": cycle_days, "steps": steps}


def make_program(therapy: dict, concentration: float):
    """A baclofen program (mcg) of ``therapy`` at ``concentration`` mcg/mL."""
    return program_from_data({"format": "itb-program/1",
                              "drug": {"name": "baclofen", "dose_unit": "mcg",
                                       "concentration_per_ml": concentration},
                              "therapy": therapy})
