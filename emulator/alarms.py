"""Alarms follow their causes: each is listed while its cause is present and cleared when it goes.

Acknowledging an alarm (ACK_ALARM) silences it but keeps it listed while its cause remains; an alarm
that clears and comes back is a new alarm, unacknowledged. Reservoir alarms need a drug in the pump:
a factory-new pump's empty reservoir is not an alarm.
"""

from __future__ import annotations

from emulator.clock import wire_time
from emulator.events import log_event
from emulator.spec import EOS_PERCENT, ERI_PERCENT
from emulator.state import AlarmCode, AlarmRecord, PumpState

SEVERITY = {
    "low_reservoir": "non_critical",
    "reservoir_empty": "critical",
    "eri": "non_critical",
    "eos": "critical",
    "motor_stall": "critical",
}


def battery_status(percent: float) -> str:
    if percent <= EOS_PERCENT:
        return "eos"
    if percent <= ERI_PERCENT:
        return "eri"
    return "ok"


def present_causes(state: PumpState) -> list[AlarmCode]:
    """The alarm codes whose cause is present now, in a fixed order."""
    battery = battery_status(state.battery_percent)
    causes: dict[AlarmCode, bool] = {
        "low_reservoir": state.drug is not None and state.volume_ml <= state.low_alarm_ml,
        "reservoir_empty": state.drug is not None and state.volume_ml <= 0,
        "eri": battery in ("eri", "eos"),
        "eos": battery == "eos",
        "motor_stall": state.stalled,
    }
    return [code for code, present in causes.items() if present]


def reconcile_alarms(state: PumpState) -> bool:
    """Raise alarms whose cause appeared and clear those whose cause went, logging each; True if any changed."""
    wanted = present_causes(state)
    listed = {alarm.code for alarm in state.alarms}
    cleared = [alarm for alarm in state.alarms if alarm.code not in wanted]
    for alarm in cleared:
        state.alarms.remove(alarm)
        log_event(state, state.pump_time, "alarm_cleared", code=alarm.code)
    raised = [code for code in wanted if code not in listed]
    for code in raised:
        state.alarms.append(AlarmRecord(code=code, since=state.pump_time))
        log_event(state, state.pump_time, "alarm_raised", code=code, severity=SEVERITY[code])
    return bool(cleared or raised)


def alarm_list(state: PumpState) -> list[dict]:
    """Alarms as READ_STATUS and ACK_ALARM report them."""
    return [
        {"code": alarm.code, "severity": SEVERITY[alarm.code], "since": wire_time(alarm.since),
         "acknowledged": alarm.acknowledged}
        for alarm in state.alarms
    ]
