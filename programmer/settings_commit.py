"""The pump's settings that are not a program, set and audited: the clock and the low-reservoir alarm threshold.

Why a module of its own, apart from both front ends: every change is tied to a signed-in user and, in the audit
log, to the pump it went to, whichever window or command made it. The command line (``set-clock``,
``set-low-alarm``) and the application call these same functions with their driver, their user and their audit
log, so the records (docs/cli.md, the audit log) are the same from both: a role that may not is refused and that
refusal recorded; the low-reservoir alarm has an ``attempt`` record before it is sent (where a visit's audit
applies the patient's hard stop) and an ``outcome`` after; the clock, which is not therapy, has only its
``outcome``. A failure of the link or a refusal by the pump is recorded (uncertain, pump refused) and raised again,
for the caller to say in its own words; ``failed`` makes the record's message from it (the command line says which
stage it was in).
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from programmer.audit import AuditLog
from programmer.audit_record import record_not_sent, record_setting
from programmer.clock import computer_now, iso
from programmer.errors import LinkError, PermissionRefused, ProgrammerError, PumpRefused
from programmer.outcome import Outcome
from programmer.port import PumpDriver, PumpIdentity
from programmer.pump import same_threshold
from programmer.roles import User, require_action, require_link
from programmer.snapshot import pump_limits

CLOCK_SET_TOLERANCE_S = 5
"""How far the clock read back may be from the time sent (seconds on the wire, plus the read itself)."""

SIGN_IN_ADVICE = "sign in as someone who may"
"""What a user refused for their role is told to do (the command line names its sign-in command)."""


def failure_text(exc: ProgrammerError) -> str:
    """The record's message for a failure when the caller gives none: what stopped it, in a few words."""
    return f"{'link failed' if isinstance(exc, LinkError) else 'refused'}: {exc}"


def authorize_setting(audit: AuditLog, action: str, user: User, insecure_link: bool,
                      advice: str = SIGN_IN_ADVICE) -> None:
    """Refuse (``PermissionRefused``, recorded as a refused outcome first) a user whose role may not make ``action``,
    or may not send it over a link that is not secure; ``advice`` says what to do instead. Nothing has been sent."""
    try:
        require_action(user, action)
        require_link(user, insecure_link)
    except PermissionRefused as exc:
        message = f"{exc}; {advice}; nothing was sent to the pump"
        record_not_sent(audit, action, user, message)
        raise PermissionRefused(message, step=exc.step) from None


@dataclass(frozen=True)
class ClockSet:
    """The pump clock set: its serial, the time it read before, the time sent (this computer's) and the time read
    back; ``outcome`` verified or mismatch, and ``message`` the record's."""

    serial: str
    before: datetime
    wanted: datetime
    read_back: datetime
    outcome: Outcome
    message: str

    @property
    def drift_s(self) -> float:
        """How far the clock read back is from the time sent, seconds (+: ahead)."""
        return (self.read_back - self.wanted).total_seconds()

    def times(self) -> dict[str, str | None]:
        """The record's figures: the times before, read back and sent."""
        return {"pump_time_before": iso(self.before), "pump_time": iso(self.read_back),
                "computer_time": iso(self.wanted)}


def set_clock(driver: PumpDriver, user: User, audit: AuditLog,
              failed: Callable[[ProgrammerError], str] = failure_text) -> ClockSet:
    """Read the pump's clock, set it to this computer's local time, and judge the time read back against
    ``CLOCK_SET_TOLERANCE_S``; one ``outcome`` record (none for a pump that could not even be identified)."""
    authorize_setting(audit, "set_clock", user, driver.insecure_changes)
    attempt_id, serial = uuid.uuid4().hex, None
    try:
        serial = driver.identify().serial
        before = driver.read_status().pump_time
        wanted = computer_now()
        read_back = driver.set_clock(wanted)
    except (LinkError, PumpRefused) as exc:
        if serial is not None:
            outcome = Outcome.PUMP_REFUSED if isinstance(exc, PumpRefused) else Outcome.UNCERTAIN
            record_setting(audit, attempt_id, "set_clock", "outcome", user, serial, outcome, failed(exc))
        raise
    residual_s = (read_back - wanted).total_seconds()
    if abs(residual_s) > CLOCK_SET_TOLERANCE_S:
        outcome = Outcome.MISMATCH
        message = (f"the pump clock reads {iso(read_back)} after being set to {iso(wanted)} ({residual_s:+.0f} s): "
                   "interrogate the pump")
    else:
        outcome = Outcome.VERIFIED
        message = f"pump clock set: it read {iso(before)}, now {iso(read_back)} (this computer {iso(wanted)})"
    result = ClockSet(serial, before, wanted, read_back, outcome, message)
    record_setting(audit, attempt_id, "set_clock", "outcome", user, serial, outcome, message, **result.times())
    return result


@dataclass(frozen=True)
class LowAlarmSet:
    """A low-reservoir alarm threshold asked for: the pump's serial, the threshold before and the one asked, mL; the
    one read back (None: refused, nothing sent); ``outcome`` verified, refused (outside the pump's range) or
    mismatch; ``message`` the record's; the pump's alarm codes after it was set."""

    serial: str
    before_ml: float
    asked_ml: float
    read_back_ml: float | None
    outcome: Outcome
    message: str
    alarms: tuple[str, ...] = ()


def set_low_alarm(driver: PumpDriver, user: User, audit: AuditLog, asked_ml: float, identity: PumpIdentity,
                  before_ml: float, *, option: str | None = None, sending: AbstractContextManager | None = None,
                  failed: Callable[[ProgrammerError], str] = failure_text) -> LowAlarmSet:
    """Set the threshold of the pump ``identity`` names, which held ``before_ml``, to ``asked_ml``, and trust only
    the threshold read back (READ_STATUS), never the answer.

    A threshold outside the pump's range (``PumpLimits.low_alarm_range_ml``, from the limits it declares) is
    refused before anything is sent (``option``: how the caller's user typed it, named in the message); the pump's
    own refusal of a value it takes less of stays the last word. ``sending`` is entered around what is sent (the
    command line's stage)."""
    authorize_setting(audit, "set_low_alarm", user, driver.insecure_changes)
    attempt_id, limits = uuid.uuid4().hex, pump_limits(identity)
    figures = {"low_alarm_ml_before": before_ml, "low_alarm_ml_asked": asked_ml}

    def audited(event: str, outcome: Outcome | None = None, message: str | None = None, **more: object) -> None:
        record_setting(audit, attempt_id, "set_low_alarm", event, user, identity.serial, outcome, message,
                       **figures, **more)

    low, high = limits.low_alarm_range_ml
    if not low <= asked_ml <= high:
        named = "" if option is None else f" ({option})"
        message = (f"low_alarm_ml {asked_ml:g} mL{named} is outside this {limits.model}'s range of {low:g} to "
                   f"{high:g} mL; nothing was sent to the pump")
        audited("outcome", Outcome.REFUSED, message)
        return LowAlarmSet(identity.serial, before_ml, asked_ml, None, Outcome.REFUSED, message)
    audited("attempt")  # a visit's audit applies the patient's hard stop here: refused and recorded
    try:
        with sending or nullcontext():
            read_back = driver.set_low_alarm(asked_ml)
            alarms = tuple(alarm.code for alarm in driver.read_status().alarms)
    except (LinkError, PumpRefused) as exc:
        audited("outcome", Outcome.PUMP_REFUSED if isinstance(exc, PumpRefused) else Outcome.UNCERTAIN, failed(exc))
        raise
    if not same_threshold(asked_ml, read_back):
        outcome = Outcome.MISMATCH
        message = (f"the pump's low-reservoir alarm reads {read_back:g} mL after being set to {asked_ml:g} mL: "
                   "interrogate the pump")
    else:
        outcome = Outcome.VERIFIED
        message = (f"low-reservoir alarm set: it was at {before_ml:g} mL, now {read_back:g} mL (read back)"
                   + ("; the low-reservoir alarm is on" if "low_reservoir" in alarms else ""))
    audited("outcome", outcome, message, low_alarm_ml=read_back)
    return LowAlarmSet(identity.serial, before_ml, asked_ml, read_back, outcome, message, alarms)
