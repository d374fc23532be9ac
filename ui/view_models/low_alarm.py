"""Setting the pump's low-reservoir alarm threshold from the application: the range the pump takes, what a
threshold means for this patient, the check of a typed value, and the banner's words for the result. No Qt
(the dialog is ``ui.low_alarm_dialog``, the banner the main window's).

Why a threshold is shown in days and dates, not only in mL: it is the drug left when the pump starts to alarm,
so it decides how long the patient has between the alarm and an empty pump (a sudden end of intrathecal
baclofen can kill), and it moves the low-alarm and refill-by dates. So before anything is sent the dialog says
what the threshold lasts at the program the pump runs and the dates it gives, from the planner, on the pump's
clock (``programmer.refill_by`` for the refill-by date). The range is the model's
(``PumpLimits.low_alarm_range_ml``): a value outside it is never sent, and the pump's own refusal stays the last
word. The result is the threshold the pump reads back, never the answer to the request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from programmer.library import LoadedLibrary
from programmer.pump import same_threshold
from programmer.refill_by import REASON_WORDS, snapshot_refill_by
from programmer.snapshot import PumpSnapshot
from ui.view_models.format import PUMP_CLOCK, UNIT_SPACE, dated, days, quantity
from ui.view_models.refill_steps import parse_volume

SET_LOW_ALARM_TEXT = "Set &low-reservoir alarm\u2026"
"""The Overview's button, Alt+L: a letter no other control of the Overview uses, nor the window's menus (Alt+P,
Alt+V), tabs (Alt+1 to Alt+5) or banner buttons (Alt+T, Alt+S)."""
MAX_DECIMALS = 2
"""A threshold is typed to 0.01 mL at most: with two decimals every threshold up to 99.99 mL reads on screen
with all its digits (``format.number`` shows four), so the pump never holds a figure other than the one shown."""


@dataclass(frozen=True)
class ThresholdCheck:
    """What the dialog says about what was typed: ``value`` is the threshold to send, None while nothing may be
    sent; ``severity`` is "error" when the text says why it cannot be."""

    value: float | None
    text: str
    severity: str = ""


class LowAlarmChange:
    """A new threshold for the pump read in ``snapshot``, judged and put into words before it is sent."""

    def __init__(self, snapshot: PumpSnapshot, library: LoadedLibrary):
        self.snapshot = snapshot
        self.library = library
        """The library whose stability limits bound the refill-by date: the application's."""
        self.current_ml = snapshot.status.low_alarm_ml
        self.low_ml, self.high_ml = snapshot.limits.low_alarm_range_ml

    @property
    def title(self) -> str:
        identity = self.snapshot.identity
        return f"Set the low-reservoir alarm of {identity.model} serial {identity.serial}"

    @property
    def range_text(self) -> str:
        """'This ITB-20 takes 1 mL to 10 mL (at most half its 20 mL reservoir), typed to 0.01 mL at most.'"""
        capacity = self.snapshot.identity.capacity_ml
        return (f"This {self.snapshot.identity.model} takes {self._range} (at most half its "
                f"{quantity(capacity, 'mL')} reservoir), typed to {quantity(10 ** -MAX_DECIMALS, 'mL')} at most.")

    @property
    def current_text(self) -> str:
        return f"Now {quantity(self.current_ml, 'mL')}. {self.meaning(self.current_ml)}"

    @property
    def _range(self) -> str:
        return f"{quantity(self.low_ml, 'mL')} to {quantity(self.high_ml, 'mL')}"

    def meaning(self, threshold_ml: float) -> str:
        """What ``threshold_ml`` means at the program the pump runs: the days of delivery it holds, and the
        low-alarm and refill-by dates it gives (pump clock), or why there are none."""
        snapshot = self.snapshot
        if snapshot.active.program is None:
            return "The pump holds no drug: the alarm has no date until it is filled."
        if snapshot.stopped_by:
            return (f"The pump is NOT DELIVERING ({snapshot.not_delivering_reason}): it counts nothing down, so "
                    "the alarm has no date.")
        moved = replace(snapshot, status=replace(snapshot.status, low_alarm_ml=threshold_ml))
        plan = moved.forecast()
        assert plan is not None, "a pump holding a drug has a forecast"
        if plan.ml_per_day <= 0:
            return "The program delivers nothing, so the alarm is never reached at it."
        varies = len({segment.ml_per_hour for segment in plan.segments}) > 1
        text = (f"That is {plan_days(threshold_ml / plan.ml_per_day)} of delivery at this "
                f"program ({quantity(plan.ml_per_day, 'mL/day')}{' on average' if varies else ''}). ")
        if plan.minutes_to_low_alarm == 0:
            text += (f"The reservoir holds {quantity(snapshot.status.volume_ml, 'mL')}, no more than that: the alarm "
                     "is on.")
        else:
            text += f"The alarm comes on {dated(plan.low_alarm_at, PUMP_CLOCK)}, {days(plan.minutes_to_low_alarm)}."
        refill = snapshot_refill_by(moved, self.library)
        if refill is not None:
            text += f" Refill by {dated(refill.at, PUMP_CLOCK)}, set by {REASON_WORDS[refill.reason]}."
        return text

    def check(self, text: str) -> ThresholdCheck:
        """The typed threshold: a value to send (with what it means), or why it cannot be sent."""
        stripped = text.strip()
        if not stripped:
            return ThresholdCheck(None, f"Type the new threshold in mL, {self._range}.")
        try:
            value = parse_volume(stripped, "left when the alarm comes on")
        except ValueError as exc:
            return ThresholdCheck(None, f"Cannot be sent: {exc}.", "error")
        if len(stripped.partition(".")[2]) > MAX_DECIMALS:
            return ThresholdCheck(None, f"Cannot be sent: {stripped}{UNIT_SPACE}mL has more than {MAX_DECIMALS} "
                                        f"decimal places; type it to {quantity(10 ** -MAX_DECIMALS, 'mL')}.", "error")
        model = self.snapshot.identity.model
        if value < self.low_ml:
            return ThresholdCheck(None, f"Cannot be sent: {quantity(value, 'mL')} is below the lowest threshold this "
                                        f"{model} takes, {quantity(self.low_ml, 'mL')}. Type {self._range}.", "error")
        if value > self.high_ml:
            return ThresholdCheck(None, f"Cannot be sent: {quantity(value, 'mL')} is above the highest threshold this "
                                        f"{model} takes, {quantity(self.high_ml, 'mL')} (half its reservoir). Type "
                                        f"{self._range}.", "error")
        if same_threshold(self.current_ml, value):
            return ThresholdCheck(None, f"{quantity(value, 'mL')} is the threshold the pump holds already: nothing to "
                                        "change.")
        return ThresholdCheck(value, f"New: {quantity(value, 'mL')}. {self.meaning(value)}")

    def confirmation(self, value: float | None) -> str:
        """The tick box's words: the change it confirms, once there is one."""
        if value is None:
            return "I have checked the new threshold"
        return f"I have checked: set the alarm from {quantity(self.current_ml, 'mL')} to {quantity(value, 'mL')}"


def plan_days(count: float) -> str:
    """'6.7 days' of delivery: one decimal, as the Overview's 'in 40.0 days'."""
    return f"{count:.1f}{UNIT_SPACE}days"


def set_result(asked_ml: float, before_ml: float, read_back_ml: float, snapshot: PumpSnapshot | None,
               library: LoadedLibrary, refresh_error: str | None) -> tuple[str, str, str]:
    """The banner's kind, title and text for a threshold the pump took: verified only when the threshold read
    back is the one sent; then the new dates from the pump read again (``snapshot``), or why it could not be."""
    if same_threshold(asked_ml, read_back_ml):
        kind, title = "ok", "Low-reservoir alarm set and verified."
        text = f"The pump reads {quantity(read_back_ml, 'mL')} (it was {quantity(before_ml, 'mL')})."
    else:
        kind, title = "error", "LOW-RESERVOIR ALARM NOT VERIFIED."
        text = (f"The pump reads {quantity(read_back_ml, 'mL')} after being set to {quantity(asked_ml, 'mL')} (it "
                f"was {quantity(before_ml, 'mL')}): interrogate the pump, and set the threshold again.")
    if snapshot is None:
        return kind, title, (f"{text} The pump could not be interrogated again ({refresh_error}): reconnect to see "
                             "its dates.")
    alarm_on = " The low-reservoir alarm is on." if any(
        alarm.code == "low_reservoir" for alarm in snapshot.status.alarms) else ""
    return kind, title, f"{text}{alarm_on} {LowAlarmChange(snapshot, library).meaning(read_back_ml)}"


def set_failure(message: str, known_not_set: bool, current_ml: float | None) -> tuple[str, str, str]:
    """The banner's kind, title and text when setting the threshold failed: NOT SET when the pump refused it or
    nothing was sent (``known_not_set``), UNCERTAIN when the link or a bug stopped it half way."""
    if known_not_set:
        kept = "" if current_ml is None else f" The pump keeps its threshold of {quantity(current_ml, 'mL')}."
        return "error", "Low-reservoir alarm NOT SET.", f"{message}.{kept}"
    return ("error", "UNCERTAIN: whether the low-reservoir alarm was set is not known.",
            f"{message}. Reconnect and interrogate the pump to see its threshold.")
