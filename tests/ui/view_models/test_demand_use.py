"""The demand dose's use on the Overview, counted by hand from a log: presses given and refused a day on the pump's
clock, a merged run of refusals counted whole, and a log that does not reach back far enough said so."""

from __future__ import annotations

from datetime import date, datetime

from programmer.port import DemandDose, DemandSettings, PumpEvent
from ui.view_models.demand_use import DayUse, daily_use, settings_text, use_text

NOW = datetime(2026, 12, 4, 10, 30)  # a Friday


def press(index: int, time: datetime, granted: bool, coalesced: int | None = None) -> PumpEvent:
    if granted:
        return PumpEvent(index, time, "demand_granted", {"bolus_id": f"demand-{index}", "dose": 25.0,
                                                         "dose_unit": "mcg", "volume_ml": 0.05, "count_24h": 1})
    detail: dict = {"reason": "lockout", "count_24h": 1}
    if coalesced is not None:
        detail |= {"coalesced": coalesced, "first_time": "2026-12-03T20:00:00"}
    return PumpEvent(index, time, "demand_refused", detail)


LOG = [
    PumpEvent(0, datetime(2026, 11, 20, 9, 0), "refill", {}),
    press(1, datetime(2026, 11, 27, 23, 59), True),   # 8 days back: before the first day shown
    press(2, datetime(2026, 11, 28, 0, 0), True),     # the first day shown, Sat 28 Nov
    press(3, datetime(2026, 12, 3, 20, 0), True),
    press(4, datetime(2026, 12, 3, 21, 0), False, coalesced=12),  # 12 refusals merged into one event
    press(5, datetime(2026, 12, 4, 8, 0), False),
    press(6, datetime(2026, 12, 4, 9, 0), True),
]


def test_presses_are_counted_a_day_a_merged_run_whole():
    use = daily_use(LOG, NOW)
    assert [u.day for u in use] == [date(2026, 11, 28 + n) for n in range(3)] + [date(2026, 12, n) for n in (1, 2, 3, 4)]
    assert use[0] == DayUse(date(2026, 11, 28), 1, 0)
    assert use[-2] == DayUse(date(2026, 12, 3), 1, 12)
    assert use[-1] == DayUse(date(2026, 12, 4), 1, 1)
    assert sum(u.granted for u in use) == 3 and sum(u.refused for u in use) == 13


def test_the_use_reads_totals_then_the_days_with_presses_newest_first_and_says_when_the_log_is_short():
    assert use_text(LOG, NOW).splitlines() == ["3 given, 13 refused in 7 days", "Fri 04 Dec: 1 given, 1 refused",
                                               "Thu 03 Dec: 1 given, 12 refused", "Sat 28 Nov: 1 given, 0 refused"]
    assert use_text(LOG[:2], NOW) == "no presses in 7 days"
    assert "not counted" not in use_text(LOG, NOW)
    short = use_text(LOG[3:], NOW)
    assert short.endswith("(the log read starts Thu 03 Dec 20:00: earlier presses are not counted)")


def test_the_settings_in_words():
    demand = DemandDose(True, dose=25.0, duration_min=10.0, lockout_min=120.0, max_per_day=4)
    assert settings_text(DemandSettings(demand, "mcg", "0" * 16)) == (
        "on: 25\u00a0mcg over 10\u00a0min a press; lockout 120\u00a0min; at most 4\u00a0doses a day")
    assert settings_text(DemandSettings(DemandDose(False), None, "0" * 16)) == "off"
    assert settings_text(None) == "not available on this pump"
