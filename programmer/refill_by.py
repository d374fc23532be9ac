"""The refill-by date: the latest moment, on the pump's clock, by which the pump should be refilled, and why.

Three things bound it, and the earliest wins:

- ``low_alarm``: the low-reservoir alarm less ``LOW_ALARM_MARGIN``, so that the appointment is booked before
  the pump starts beeping, with room for an appointment that has to move;
- ``drug_stability``: the drug's stability limit in the pump (the library's ``stability``, per drug and
  concentration) counted from the last fill, however much is left;
- ``battery``: the battery's projected end of service (``replace_by``), known once the pump reports ERI;
  refilling a pump that will stop is pointless, so the visit becomes the replacement's.

A date already past is due now: the refill-by is never before the moment it is projected from. The pure
functions here take dates; ``snapshot_refill_by`` and ``plan_refill_by`` pick them from a pump's reading or
a plan. Dates are naive, in the pump's clock, like every date the pump reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # types only: plan --json, which reads no pump, loads none of these (tests/cli/test_cli_startup.py)
    from programmer.library import LoadedLibrary
    from programmer.planner import Plan
    from programmer.port import PumpStatus
    from programmer.program import Drug
    from programmer.snapshot import PumpSnapshot

LOW_ALARM_MARGIN = timedelta(days=7)
"""How long before the low-reservoir alarm the refill is due. A week is this programmer's own choice: the pump
maker advises patients to ask for their refill a week earlier when travel or weather may get in the way, and a
week before the alarm still leaves the alarm's own reserve (the drug between the threshold and empty) untouched."""

ERI_TO_END_OF_SERVICE = timedelta(days=90)
"""A pump raises ERI (elective replacement indicated) 90 days of delivery before its end of service
(docs/protocol.md, READ_STATUS ``battery``; the emulator's battery model in docs/emulator.md): the projected
end of service is the ERI alarm's ``since`` plus this."""

RefillReason = Literal["low_alarm", "drug_stability", "battery"]

REASON_WORDS: dict[str, str] = {
    "low_alarm": "the low-reservoir alarm, less a week's margin",
    "drug_stability": "the drug's stability limit in the pump, from the last fill",
    "battery": "the battery's projected end of service (plan the pump's replacement)",
}
"""Each reason in words, after "set by", for the reports, the overview and the calendar event."""


@dataclass(frozen=True)
class RefillBy:
    """The refill-by date (pump clock) and which bound set it."""

    at: datetime
    reason: RefillReason


def replace_by(status: PumpStatus) -> datetime | None:
    """The battery's projected end of service on the pump's clock: None while the battery is ok; at ERI the
    moment ERI was raised plus ``ERI_TO_END_OF_SERVICE`` (from the pump's clock now when its alarm is not
    listed); at EOS the moment it was reached (or now): the pump must be replaced at once."""
    if status.battery_status not in ("eri", "eos"):
        return None
    since = {alarm.code: alarm.since for alarm in status.alarms}
    if status.battery_status == "eos":
        return since.get("eos", status.pump_time)
    return since.get("eri", status.pump_time) + ERI_TO_END_OF_SERVICE


def refill_by(now: datetime, low_alarm_at: datetime | None, filled_at: datetime | None,
              stability_days: float | None, end_of_service: datetime | None) -> RefillBy | None:
    """The earliest of the low alarm less the margin, the fill plus the stability limit and the end of service,
    no earlier than ``now``; None when none of them is known (no drug, a pump that never runs low, no
    stability limit and a battery that is ok). On a tie the reason listed first above wins."""
    bounds: list[tuple[datetime, RefillReason]] = []
    if low_alarm_at is not None:
        bounds.append((low_alarm_at - LOW_ALARM_MARGIN, "low_alarm"))
    if filled_at is not None and stability_days is not None:
        bounds.append((filled_at + timedelta(days=stability_days), "drug_stability"))
    if end_of_service is not None:
        bounds.append((end_of_service, "battery"))
    if not bounds:
        return None
    at, reason = min(bounds, key=lambda bound: bound[0])
    return RefillBy(max(at, now), reason)


def stability_days(library: LoadedLibrary, drug: Drug) -> float | None:
    """The library's stability limit for the drug at its concentration, in days (None: the library has none)."""
    rule = library.rule_for(drug.name)
    limit = None if rule is None or rule.dose_unit != drug.dose_unit else rule.stability_for(drug.concentration_per_ml)
    return None if limit is None else limit.days


def snapshot_refill_by(snapshot: PumpSnapshot, library: LoadedLibrary) -> RefillBy | None:
    """The refill-by date of a pump as read: its forecast's low alarm (none while it does not deliver), its last
    fill from the event log (``baseline.last_fill``) and its battery. None for a pump that holds no drug."""
    from programmer.baseline import last_fill  # the event log's reading, needed only for a pump's

    drug = snapshot.active.drug
    if drug is None:
        return None
    plan = snapshot.forecast()
    low_alarm_at = None if plan is None or snapshot.stopped_by else plan.low_alarm_at
    filled_at = None if snapshot.recent_events is None else last_fill(snapshot.recent_events)
    status = snapshot.status
    return refill_by(status.pump_time, low_alarm_at, filled_at, stability_days(library, drug), replace_by(status))


def plan_refill_by(plan: Plan, library: LoadedLibrary, end_of_service: datetime | None = None) -> RefillBy | None:
    """The refill-by date of a plan that starts from a reservoir filled at its start (``plan``; the plan after a
    refill), with the battery's end of service when a pump's reading gives one (``replace_by``)."""
    return refill_by(plan.start, plan.low_alarm_at, plan.start, stability_days(library, plan.program.drug),
                     end_of_service)
