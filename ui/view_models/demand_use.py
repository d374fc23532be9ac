"""The patient's demand dose on the Overview: its settings in words, and how it was used day by day. No Qt.

A demand dose (a patient's therapy manager) is only safe when someone looks at how it is used: a patient who
presses far more often than the lockout lets through is in pain or withdrawal, one who never presses may not
need it. So the Overview shows, for each of the last days on the pump's clock, how many presses gave a dose
and how many were refused, counted from the pump's own log (``demand_granted`` and ``demand_refused``,
docs/protocol.md). The pump merges a flood of refused presses into one event that says how many it stands for
(``coalesced``): such an event counts that many, on the day of its last press.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Sequence

from programmer.port import DemandSettings, PumpEvent
from ui.view_models.format import count, quantity

USE_DAYS = 7
"""How many days of use the Overview shows, today (on the pump's clock) included."""


@dataclass(frozen=True)
class DayUse:
    """One day on the pump's clock: the presses that gave a dose and those refused."""

    day: date
    granted: int
    refused: int

    def text(self) -> str:
        return f"{self.day:%a %d %b}: {self.granted} given, {self.refused} refused"


def settings_text(settings: DemandSettings | None) -> str:
    """The demand dose as the pump holds it, in words; what to say of a pump that has none."""
    if settings is None:
        return "not available on this pump"
    demand = settings.demand
    if not demand.enabled:
        return "off"
    unit = settings.dose_unit or "dose units"
    return (f"on: {quantity(demand.dose, unit)} over {quantity(demand.duration_min, 'min')} a press; lockout "
            f"{quantity(demand.lockout_min, 'min')}; at most {count(demand.max_per_day, 'dose')} a day")


def _presses(event: PumpEvent) -> int:
    """How many presses one event stands for (a merged run counts all of its own)."""
    merged = event.detail.get("coalesced")
    return merged if isinstance(merged, int) and not isinstance(merged, bool) and merged > 0 else 1


def daily_use(events: Sequence[PumpEvent], pump_time: datetime, days: int = USE_DAYS) -> list[DayUse]:
    """Granted and refused presses for each of the last ``days`` days up to ``pump_time``'s, oldest first."""
    first = pump_time.date() - timedelta(days=days - 1)
    granted = dict.fromkeys((first + timedelta(days=n) for n in range(days)), 0)
    refused = dict(granted)
    for event in events:
        day = event.time.date()
        if day in granted and event.kind == "demand_granted":
            granted[day] += _presses(event)
        elif day in refused and event.kind == "demand_refused":
            refused[day] += _presses(event)
    return [DayUse(day, granted[day], refused[day]) for day in granted]


def use_text(events: Sequence[PumpEvent], pump_time: datetime, days: int = USE_DAYS) -> str:
    """The last days' use: the totals, then a line for each day with presses, newest first (the page stays short),
    and a word when the log read does not reach that far back (the older days' presses are then not known)."""
    use = daily_use(events, pump_time, days)
    given, refused = sum(day.granted for day in use), sum(day.refused for day in use)
    lines = [f"{given} given, {refused} refused in {days} days" if given or refused else f"no presses in {days} days"]
    lines += [day.text() for day in reversed(use) if day.granted or day.refused]
    first = datetime.combine(use[0].day, datetime.min.time())
    whole_log = bool(events) and events[0].index == 0  # the pump's log from its first switch-on: nothing before
    if not whole_log and (not events or events[0].time > first):
        since = "no event was read" if not events else f"the log read starts {events[0].time:%a %d %b %H:%M}"
        lines.append(f"({since}: earlier presses are not counted)")
    return "\n".join(lines)
