"""The pump's clock against this computer's: the warning when they disagree, and what setting the pump's
clock will change. No Qt (the dialog is ``ui.clock_dialog``, the banner the main window's).

Why it matters: the pump keeps a naive local wall clock and runs its therapy by it. A flex step "07:00"
starts when the pump's clock reads 07:00, and every date the programmer shows (alarms, reservoir
forecasts, events) is on that clock. The warning uses the limit of the CLOCK_DRIFT check
(``programmer.interrogation.CLOCK_DRIFT_LIMIT_S``, through ``PumpSnapshot.clock_drifts``), so the screen
and the review never disagree about whether the clock is off.

Setting the clock moves the pump's wall clock, not its cycle: day 1 00:00 of a flex cycle stays the same
pump-clock midnight (docs/protocol.md, READ_STATUS ``cycle_phase_min`` and SET_CLOCK). So after the clock
is set, each step starts at its programmed time by this computer's clock, and the pump jumps at once to
the step in force at the new time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from typing import TYPE_CHECKING

from programmer.clock import MINUTES_PER_DAY
from ui.view_models.format import COMPUTER_CLOCK, PUMP_CLOCK, clock_difference, cycle_offset, dated, quantity

if TYPE_CHECKING:  # the window names the banner's clock action before the program's models are built
    from programmer.program import Flex, FlexStep, Program
    from programmer.snapshot import PumpSnapshot

SET_CLOCK_ACTION = "set_clock"
"""The banner's action for the clock warning (``Banner.action_clicked`` carries it)."""
SET_CLOCK_ACTION_TEXT = "&Set the pump clock\u2026"
"""Alt+S: a letter no page, menu or other banner action of the window uses (the Overview's own button is
Alt+T), so one key press never lands on two controls."""


def drift_sentence(drift_s: float) -> str:
    """'The pump's clock is 29 h 3 min behind this computer's.' (``drift_s``: pump minus computer)."""
    if round(drift_s) == 0:
        return "The pump's clock agrees with this computer's."
    side = "ahead of" if drift_s > 0 else "behind"
    return f"The pump's clock is {clock_difference(drift_s)} {side} this computer's."


@dataclass(frozen=True)
class ClockWarning:
    """The banner's message for a clock beyond the limit, and the action it offers."""

    title: str
    text: str
    action: str = SET_CLOCK_ACTION
    action_text: str = SET_CLOCK_ACTION_TEXT


def clock_warning(snapshot: PumpSnapshot) -> ClockWarning | None:
    """The warning to show for this reading, or None when the clocks agree within the checks' limit."""
    if not snapshot.clock_drifts:
        return None
    return ClockWarning("Check the pump's clock.",
                        f"{drift_sentence(snapshot.drift_s)} The dates shown are on the pump's clock, and flex steps "
                        "start by it. If this computer's clock is right, set the pump's clock to it.")


@dataclass(frozen=True)
class ClockChange:
    """What "set the pump clock" will do, as the confirmation says it."""

    pump_now: datetime
    """The pump's clock now, as this computer's clock and the drift read at interrogation put it."""
    new_time: datetime
    """This computer's clock now: what the pump's clock will be set to."""
    flex: list[str]
    """How the flex steps move, one sentence each; empty for any other program."""

    @property
    def summary(self) -> str:
        """'Tue 01 Dec 2026 16:57 (pump clock) → Wed 02 Dec 2026 22:00 (this computer's clock): 29 h 3 min
        forward.'"""
        moved = (self.new_time - self.pump_now).total_seconds()
        direction = "forward" if moved > 0 else "back"
        change = "no change" if round(moved) == 0 else f"{clock_difference(moved)} {direction}"
        return f"{dated(self.pump_now, PUMP_CLOCK)} \u2192 {dated(self.new_time, COMPUTER_CLOCK)}: {change}."


def clock_change(snapshot: PumpSnapshot, now: datetime) -> ClockChange:
    """The change setting the clock at ``now`` (this computer's clock) makes to the pump read in ``snapshot``."""
    from programmer.program import Flex

    drift = timedelta(seconds=snapshot.drift_s)
    program = snapshot.active.program
    flex: list[str] = []
    if program is not None and isinstance(program.therapy, Flex):
        elapsed_min = (now - snapshot.computer_time).total_seconds() / 60
        flex = flex_shift(program, drift, snapshot.status.cycle_phase_min + elapsed_min, now)
    return ClockChange(now + drift, now, flex)


def flex_shift(program: Program, drift: timedelta, phase_min: float, now: datetime) -> list[str]:
    """How a flex program's steps move when a clock ``drift`` (pump minus computer) is set right at ``now``
    (this computer's clock), the cycle then at ``phase_min`` minutes past day 1 00:00 by the pump's clock.

    The example is the first step after midnight (the one a clinician set a time for), given as its next
    start by this computer's clock, now and once set: for a repeating cycle a next start is the one figure
    that is the same however the cycle is counted. Then the step the pump jumps to, when it changes.
    """
    from programmer.program import Flex

    therapy = program.therapy
    assert isinstance(therapy, Flex), "flex_shift is for flex programs (clock_change checks)"
    cycle = timedelta(minutes=therapy.cycle_days * MINUTES_PER_DAY)
    phase = timedelta(minutes=phase_min) % cycle
    cycle_start = now + drift - phase  # day 1 00:00 of the running cycle, on the pump's clock
    steps = therapy.steps
    example = steps[1] if len(steps) > 1 else steps[0]
    offset = timedelta(minutes=example.offset_minutes)

    def next_start(pump_now: datetime) -> datetime:
        start = cycle_start + offset
        while start <= pump_now:
            start += cycle
        while start - cycle > pump_now:
            start -= cycle
        return start

    unit = program.drug.dose_unit
    name = _step_name(example.offset_minutes, therapy.cycle_days)
    lines = [f"Flex steps start by the pump's clock. The {name} step next starts "
             f"{dated(next_start(now + drift) - drift, COMPUTER_CLOCK)} as the pump's clock is now, and "
             f"{dated(next_start(now), COMPUTER_CLOCK)} once it is set."]
    before, after = _in_force(therapy, phase), _in_force(therapy, (now - cycle_start) % cycle)
    if before is not after:
        lines.append(f"The pump moves at once from the {_step_name(before.offset_minutes, therapy.cycle_days)} step "
                     f"({quantity(before.dose_per_hour, f'{unit}/h')}) to the "
                     f"{_step_name(after.offset_minutes, therapy.cycle_days)} step "
                     f"({quantity(after.dose_per_hour, f'{unit}/h')}).")
    return lines


def _in_force(therapy: Flex, phase: timedelta) -> FlexStep:
    """The step running at ``phase`` into the cycle."""
    minutes = phase.total_seconds() / 60
    return [step for step in therapy.steps if step.offset_minutes <= minutes][-1]


def _step_name(offset_min: int, cycle_days: int) -> str:
    """'07:00' in a one-day cycle, 'day 2 07:00' in a longer one."""
    text = cycle_offset(offset_min)
    return text.removeprefix("day 1 ") if cycle_days == 1 else text
