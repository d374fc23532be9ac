"""The patient's dose history as the History page shows it: the daily dose and the concentration as steps over
months, the refills as points, and a table row for every entry. No Qt.

Why steps: a daily dose holds from the moment it was written until the next one, so a line drawn straight from one
to the next would show doses the patient never had. The last step runs on to ``until`` (now), so the dose running
today is drawn to today. Doses in different units (a change of drug) are never joined: each unit is a series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ui.view_models.format import moment

DOSE_KINDS = ("program",)
"""The entries that set the daily dose (a bolus, prime or bridge adds to it once, and is a row only)."""
KIND_WORDS = {"program": "program written", "refill": "refill", "bolus": "bolus", "prime": "prime",
              "bridge": "bridge bolus", "demand": "demand dose set"}
COLUMNS = ("Date (this computer's clock)", "Entry", "Drug", "Dose", "Concentration", "Volume", "Reservoir", "By")


class DoseEntryLike(Protocol):
    """The fields of ``clinic.patients.DoseEntry`` the page reads."""

    time: datetime
    kind: str
    drug: str
    dose_unit: str
    concentration: float | None
    daily_dose: float | None
    volume_ml: float | None
    dose: float | None
    reservoir_ml: float | None
    username: str


@dataclass(frozen=True)
class Steps:
    """A step series: ``xs`` has one more value than ``ys`` (pyqtgraph's ``stepMode='center'``), in seconds since
    the epoch; ``label`` names it with its unit."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]


@dataclass(frozen=True)
class Points:
    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]


def _steps(label: str, changes: list[tuple[datetime, float]], until: datetime) -> Steps:
    xs = tuple(time.timestamp() for time, _ in changes) + (max(until, changes[-1][0]).timestamp(),)
    return Steps(label, xs, tuple(value for _, value in changes))


def daily_dose_steps(entries: list[DoseEntryLike], until: datetime) -> list[Steps]:
    """One step series per dose unit, from the programs written, oldest first."""
    by_unit: dict[str, list[tuple[datetime, float]]] = {}
    for entry in entries:
        if entry.kind in DOSE_KINDS and entry.daily_dose is not None:
            by_unit.setdefault(entry.dose_unit, []).append((entry.time, entry.daily_dose))
    return [_steps(f"daily dose, {unit}/day", changes, until) for unit, changes in by_unit.items()]


def concentration_steps(entries: list[DoseEntryLike], until: datetime) -> list[Steps]:
    """The drug's concentration in the pump, one series per drug and unit: it changes at a refill (and a program
    says which it is for)."""
    by_drug: dict[str, list[tuple[datetime, float]]] = {}
    for entry in entries:
        if entry.concentration is None:
            continue
        key = f"{entry.drug}, {entry.dose_unit}/mL"
        changes = by_drug.setdefault(key, [])
        if not changes or changes[-1][1] != entry.concentration:
            changes.append((entry.time, entry.concentration))
    return [_steps(key, changes, until) for key, changes in by_drug.items()]


def refill_points(entries: list[DoseEntryLike]) -> Points:
    """Each refill's volume added, mL."""
    refills = [(entry.time.timestamp(), entry.volume_ml) for entry in entries
               if entry.kind == "refill" and entry.volume_ml is not None]
    return Points("refill, mL added", tuple(x for x, _ in refills), tuple(y for _, y in refills))


def _figure(value: float | None, unit: str) -> str:
    return "" if value is None else f"{value:g} {unit}"


def rows(entries: list[DoseEntryLike]) -> list[tuple[str, ...]]:
    """The table, newest first: a person looks for the last change first."""
    return [(moment(entry.time.astimezone()), KIND_WORDS.get(entry.kind, entry.kind), entry.drug,
             _figure(entry.daily_dose, f"{entry.dose_unit}/day")
             or _figure(entry.dose, entry.dose_unit),
             _figure(entry.concentration, f"{entry.dose_unit}/mL"), _figure(entry.volume_ml, "mL"),
             _figure(entry.reservoir_ml, "mL"), entry.username)
            for entry in reversed(entries)]


def count_text(entries: list[DoseEntryLike]) -> str:
    """'3 entries, Mon 05 Jan 2026 09:00 to Thu 05 Mar 2026 11:30' (this computer's clock)."""
    if not entries:
        return "no entries"
    first, last = entries[0].time.astimezone(), entries[-1].time.astimezone()
    number = f"{len(entries)} entry" if len(entries) == 1 else f"{len(entries)} entries"
    return f"{number}, {moment(first)} to {moment(last)}"


def bar_width_s(points: Points) -> float:
    """How wide a refill's bar is drawn, in seconds: a sixtieth of the span shown, from a minute to two days, so bars
    months apart stay apart and a session's minutes still show one."""
    span = max(points.xs) - min(points.xs) if points.xs else 0.0
    return min(max(span / 60, 60.0), 2 * 86400.0)


def date_span(steps: list[Steps], refills: Points) -> tuple[float, float] | None:
    """The dates the plots show, POSIX seconds: from the first step or refill to the last step's end (now), each
    refill's bar whole (``bar_width_s``); None when there is nothing to show."""
    half = bar_width_s(refills) / 2
    starts = [series.xs[0] for series in steps] + [x - half for x in refills.xs]
    ends = [series.xs[-1] for series in steps] + [x + half for x in refills.xs]
    return (min(starts), max(ends)) if starts else None
