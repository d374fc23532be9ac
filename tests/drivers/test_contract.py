"""The driver contract: what every PumpDriver does, held over every driver the programmer is tested with.

One fixture, ``pump``, gives a factory-new pump through each driver in turn: the serial driver to the real
emulator over TCP (``tcp``) and over a pty (``pty``), opened through the entry points the way the
application opens them, and the test double ``FakePump`` (``fake``) that the session and interrogation tests
stand on. Every test runs over all three, so the double keeps the rules the real link keeps: those of
``programmer/port.py`` and docs/protocol.md. The expectations are worked out here by hand: read-backs equal
to what was written, checksums, event pages, the doses a pump logs, ids never acted on twice.

A test that needs a wire says so, and why, with ``wire_only``: over a test double it is skipped, with that
reason in the report. They are few: the write's steps named after its exchanges, the wire trace, a link
lost, and a pump's memory across a restart.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from tests.support.emulator_fixtures import PTY_AVAILABLE
from tests.support.fake_pump import FakePump
from tests.support.emulator_support import TEST_PROGRAMMER, WireClient

from programmer.outcome import Outcome
from programmer.errors import LinkError, PumpRefused
from programmer.port import BridgeRequest, DemandDose, open_driver
from protocol import Command, Status
from programmer.program import FORMAT, NO_PROGRAM_CHECKSUM, Drug, Program, Stopped, program_from_data

WIRES = ("tcp", "pty")
BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
MORPHINE = {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 10}
SIMPLE = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                            "therapy": {"mode": "simple_continuous", "daily_dose": 150}})
FLEX = program_from_data({"format": "itb-program/1", "drug": BACLOFEN, "therapy": {
    "mode": "flex", "cycle_days": 1, "steps": [
        {"day": 1, "start": "00:00", "dose_per_hour": 5.0},
        {"day": 1, "start": "06:00", "dose_per_hour": 8.0},
        {"day": 1, "start": "22:00", "dose_per_hour": 6.5}]}})
FLEX_DAILY_DOSE = 6 * 5.0 + 16 * 8.0 + 2 * 6.5
"""FLEX's mean daily dose over its one-day cycle: 30 + 128 + 13 = 171 mcg/day."""


def wire_only(reason: str) -> pytest.MarkDecorator:
    """Marks a contract test that needs a real link to a pump; over a test double it is skipped, naming why."""
    return pytest.mark.wire_only(reason=reason)


@pytest.fixture(params=["tcp", pytest.param("pty", marks=pytest.mark.skipif(not PTY_AVAILABLE, reason="no pty")),
                        "fake"])
def driver_kind(request) -> str:
    """``tcp``, ``pty`` or ``fake``: every contract test runs once over each driver, a wire_only one over the wires."""
    marker = request.node.get_closest_marker("wire_only")
    if marker is not None and request.param not in WIRES:
        pytest.skip(f"wire only: {marker.kwargs['reason']}")
    return request.param


@pytest.fixture
def pump(driver_kind, start_emulator):
    """A factory-new pump through the driver ``driver_kind`` names."""
    if driver_kind == "fake":
        yield FakePump.factory_new()
        return
    driver = open_driver(start_emulator(link=driver_kind).url)
    yield driver
    driver.close()


def fill(pump, refill_id: str = "r-1", added_ml: float = 18.0, drug: dict = BACLOFEN):
    return pump.refill(refill_id, 0.0, added_ml, Drug.model_validate(drug))


SESSION_KINDS = ("session_started", "session_ended")
"""Events of the link's sessions (protocol version 2), which a pump on a wire logs and a test double does not."""


def pump_events(pump) -> list:
    """The pump's log without its sessions' events: what happened to the pump, the same over every driver."""
    return [event for event in pump.read_events() if event.kind not in SESSION_KINDS]


def logged(pump, kind: str) -> list[dict]:
    """The detail of each event of ``kind`` in the pump's log, oldest first."""
    return [event.detail for event in pump.read_events() if event.kind == kind]


def stopped(drug: dict) -> Program:
    """What a pump given ``drug`` by a refill runs until a program is written: nothing."""
    return Program(format=FORMAT, drug=Drug.model_validate(drug), therapy=Stopped(mode="stopped"))


# -- reads ---------------------------------------------------------------------------------------------


def test_identify_reports_the_model_and_its_limits(pump):
    identity = pump.identify()
    assert identity.model in ("ITB-20", "ITB-40")
    assert identity.serial and identity.firmware
    assert identity.capacity_ml in (20.0, 40.0)
    assert 0 < identity.min_rate_ml_per_day < identity.max_rate_ml_per_day
    assert identity.max_steps_per_day >= 1 and identity.max_cycle_days >= 1 and identity.event_log_size >= 16


def test_a_factory_new_pump_holds_no_drug_runs_nothing_and_has_logged_its_power_on(pump):
    active = pump.read_program()
    assert (active.drug, active.program, active.therapy, active.checksum) == (None, None, {"mode": "stopped"},
                                                                            NO_PROGRAM_CHECKSUM)
    status = pump.read_status()
    assert status.program_checksum == NO_PROGRAM_CHECKSUM
    assert status.battery_status == "ok" and status.bolus is None
    assert status.volume_ml == 0.0 and status.alarms == ()
    assert [(event.index, event.kind, event.detail) for event in pump_events(pump)] == [
        (0, "power_on", {"factory_new": True})]


def test_events_are_read_in_pages_with_progress(pump):
    refills = pump.events_per_read + 4  # with power-on, more than one page (16, or 64 in a compact session)
    for number in range(refills):
        fill(pump, refill_id=f"r-{number}", added_ml=10.0 + number / 100)
    progress: list[tuple[str, float]] = []
    events = pump.read_events(progress=lambda step, fraction: progress.append((step, fraction)))
    assert [event.index for event in events] == list(range(len(events)))
    assert events[0].kind == "power_on"
    refills = [event for event in events if event.kind == "refill"]
    assert [event.detail["refill_id"] for event in refills] == [f"r-{number}" for number in range(len(refills))]
    assert len(refills) == pump.events_per_read + 4
    assert all(isinstance(event.time, datetime) for event in events)
    assert len(progress) >= 2 and {step for step, _ in progress} == {"read events"}
    fractions = [fraction for _, fraction in progress]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1 and fractions[-1] == 1.0


def test_an_event_page_holds_the_events_of_its_window_and_the_total(pump):
    opened = pump.read_event_page(0, 0)[0]  # power-on at 0 and, over a wire, this session's start at 1
    assert opened == (1 if pump.programmer_id == "" else 2)
    for number in range(20):  # events opened..opened+19 are refills r-0..r-19
        fill(pump, refill_id=f"r-{number}", added_ml=10.0 + number / 10)
    total = opened + 20
    assert pump.events_per_read in (16, 64)  # the protocol's page, JSON or compact (docs/protocol.md, READ_EVENTS)
    assert pump.read_event_page(0, 0) == (total, [])  # count 0: the total alone
    assert pump.read_event_page(0, 16)[0] == total
    first = pump.read_event_page(0, 16)[1]
    assert [event.index for event in first] == list(range(16))
    rest_total, rest = pump.read_event_page(16, 16)  # a short page: only total - 16 are left
    assert rest_total == total and [event.detail["refill_id"] for event in rest][-5:] == [
        "r-15", "r-16", "r-17", "r-18", "r-19"]
    assert [event.index for event in rest] == list(range(16, total))
    assert pump.read_event_page(5, 3) == (total, first[5:8])
    assert pump.read_event_page(total, 16) == (total, []) and pump.read_event_page(1000, 1) == (total, [])
    assert pump.read_events() == first + rest


@pytest.mark.parametrize("start, count, field", [(-1, 1, "start"), (0, None, "count"), (0, -1, "count")])
def test_an_event_page_outside_the_protocols_bounds_is_refused_naming_the_field(pump, start, count, field):
    with pytest.raises(PumpRefused) as refused:  # count None: one more than the session's page
        pump.read_event_page(start, pump.events_per_read + 1 if count is None else count)
    assert (refused.value.status, refused.value.field) == ("OUT_OF_RANGE", field)


# -- writing a program -------------------------------------------------------------------------------------


def test_staging_on_an_empty_pump_is_refused_with_the_status_name(pump):
    with pytest.raises(PumpRefused) as refused:
        pump.write_program(SIMPLE)
    assert (refused.value.status, refused.value.step) == ("REFUSED", "stage program")
    assert refused.value.field == "program.drug"
    assert pump.read_program().checksum == NO_PROGRAM_CHECKSUM
    assert [event.kind for event in pump_events(pump)] == ["power_on"]


def test_a_program_for_another_drug_is_refused_it_takes_a_refill(pump):
    fill(pump)
    other = program_from_data({"format": "itb-program/1", "drug": {**BACLOFEN, "concentration_per_ml": 1000},
                               "therapy": {"mode": "simple_continuous", "daily_dose": 150}})
    with pytest.raises(PumpRefused) as refused:
        pump.write_program(other)
    assert (refused.value.status, refused.value.field) == ("REFUSED", "program.drug")
    assert pump.read_program().program == stopped(BACLOFEN)


def test_refill_then_write_a_program_and_read_it_back(pump):
    outcome = pump.refill("r-1", 0.0, 18.0, Drug.model_validate(BACLOFEN))
    assert (outcome.refill_id, outcome.volume_ml, outcome.calculated_ml, outcome.repeated) == ("r-1", 18.0, 0.0, False)
    filled = pump.read_program()
    assert (filled.program, filled.checksum) == (stopped(BACLOFEN), stopped(BACLOFEN).checksum())
    assert pump.read_status().volume_ml == 18.0  # nothing runs, so nothing has been delivered
    steps: list[tuple[str, float]] = []
    written = pump.write_program(FLEX, progress=lambda step, fraction: steps.append((step, fraction)))
    assert written.status is Outcome.VERIFIED, written.message
    assert written.staged_checksum == FLEX.checksum() == written.active.checksum
    assert written.active.program == FLEX
    assert all(isinstance(step, str) and step for step, _ in steps)
    fractions = [fraction for _, fraction in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == pytest.approx(1.0)
    active = pump.read_program()
    assert (active.program, active.checksum) == (FLEX, FLEX.checksum())
    assert pump.read_status().program_checksum == FLEX.checksum()


def test_an_activation_is_logged_with_both_programs_mean_daily_doses(pump):
    fill(pump)
    assert pump.write_program(FLEX).status is Outcome.VERIFIED
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    assert [detail["checksum"] for detail in logged(pump, "program_staged")] == [FLEX.checksum(), SIMPLE.checksum()]
    assert logged(pump, "program_activated") == [
        {"checksum": FLEX.checksum(), "previous": stopped(BACLOFEN).checksum(),
         "daily_dose": pytest.approx(FLEX_DAILY_DOSE), "dose_unit": "mcg",
         "previous_daily_dose": 0.0, "previous_dose_unit": "mcg"},
        {"checksum": SIMPLE.checksum(), "previous": FLEX.checksum(), "daily_dose": 150.0, "dose_unit": "mcg",
         "previous_daily_dose": pytest.approx(FLEX_DAILY_DOSE), "previous_dose_unit": "mcg"},
    ]


def test_writing_the_active_program_again_is_verified_and_activates_nothing(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    again = pump.write_program(SIMPLE)
    assert again.status is Outcome.VERIFIED and again.active.program == SIMPLE
    assert len(logged(pump, "program_activated")) == 1


def flex(cycle_days: int, *rates: float) -> dict:
    """A flex therapy of one step a day at each of ``rates`` (mcg/h), from 00:00 a minute apart."""
    steps = [{"day": 1, "start": f"00:{minute:02d}", "dose_per_hour": rate} for minute, rate in enumerate(rates)]
    return {"mode": "flex", "cycle_days": cycle_days, "steps": steps}


@pytest.mark.parametrize("therapy, field", [
    ({"mode": "simple_continuous", "daily_dose": 500 * 30}, "program.therapy.daily_dose"),  # 30 mL/day > 24
    (flex(8, 5.0), "program.therapy.cycle_days"),  # 8 days > 7
    (flex(1, *[5.0] * 14), "program.therapy.steps"),  # 14 steps on day 1 > 13
    (flex(1, 5.0, 0.0005), "program.therapy.steps[1].dose_per_hour"),  # 0.0005 * 24 / 500 = 0.000024 mL/day < 0.048
])
def test_a_program_beyond_the_pump_is_refused_out_of_range_and_nothing_changes(pump, therapy, field):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    beyond = program_from_data({"format": "itb-program/1", "drug": BACLOFEN, "therapy": therapy})
    with pytest.raises(PumpRefused) as refused:
        pump.write_program(beyond)
    assert refused.value.status == "OUT_OF_RANGE" and refused.value.field == field
    assert pump.read_program().program == SIMPLE
    assert [detail["checksum"] for detail in logged(pump, "program_staged")] == [SIMPLE.checksum()]


# -- the clock ---------------------------------------------------------------------------------------------


def test_the_clock_is_set_to_the_second_read_back_and_logged(pump):
    pump_time = pump.set_clock(datetime(2030, 1, 2, 3, 4, 5, 678_000))  # the pump keeps whole seconds
    assert timedelta(0) <= pump_time - datetime(2030, 1, 2, 3, 4, 5) < timedelta(seconds=5)
    assert timedelta(0) <= pump.read_status().pump_time - pump_time < timedelta(seconds=5)
    [clock_set] = logged(pump, "clock_set")
    assert clock_set["new"] == "2030-01-02T03:04:05"
    assert datetime.fromisoformat(clock_set["old"]) < datetime(2030, 1, 2)


@pytest.fixture
def five_hours_behind_utc(monkeypatch):
    """This process keeps UTC-5 all year (POSIX TZ ``EST5``), so the local reading of a zoned time is known."""
    if not hasattr(time, "tzset"):
        pytest.skip("the local time zone can be changed only where time.tzset exists")
    monkeypatch.setenv("TZ", "EST5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_time_with_a_zone_sets_the_clock_to_this_computers_local_time(pump, five_hours_behind_utc):
    read_back = pump.set_clock(datetime(2030, 6, 1, 12, 0, 0, tzinfo=timezone.utc))  # 07:00 at UTC-5
    assert timedelta(0) <= read_back - datetime(2030, 6, 1, 7, 0, 0) < timedelta(seconds=5)
    assert [detail["new"] for detail in logged(pump, "clock_set")] == ["2030-06-01T07:00:00"]


def test_a_clock_outside_the_pumps_years_is_refused_and_the_clock_kept(pump):
    before = pump.read_status().pump_time
    with pytest.raises(PumpRefused) as refused:
        pump.set_clock(datetime(1999, 12, 31, 23, 59, 59))
    assert (refused.value.status, refused.value.field) == ("OUT_OF_RANGE", "time")
    assert timedelta(0) <= pump.read_status().pump_time - before < timedelta(seconds=5)
    assert logged(pump, "clock_set") == []


# -- boluses -----------------------------------------------------------------------------------------------


def test_a_bolus_repeated_with_the_same_id_is_delivered_once(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    first = pump.bolus("b-0001", 50.0, 30.0)
    assert (first.bolus_id, first.dose, first.state, first.repeated) == ("b-0001", 50.0, "delivering", False)
    assert first.volume_ml == pytest.approx(0.1)  # 50 mcg at 500 mcg/mL
    again = pump.bolus("b-0001", 50.0, 30.0)
    assert (again.bolus_id, again.dose, again.volume_ml, again.repeated) == ("b-0001", 50.0, first.volume_ml, True)
    assert pump.read_status().bolus.bolus_id == "b-0001"
    assert [detail["bolus_id"] for detail in logged(pump, "bolus_started")] == ["b-0001"]
    cancelled = pump.cancel_bolus("b-0001")
    assert (cancelled.bolus_id, cancelled.state) == ("b-0001", "cancelled")
    assert 0 <= cancelled.dose <= 50.0 and cancelled.volume_ml == pytest.approx(cancelled.dose / 500)
    assert pump.read_status().bolus is None
    resent = pump.cancel_bolus("b-0001")  # a resend is harmless: the final state and what was delivered
    assert (resent.state, resent.dose) == ("cancelled", cancelled.dose)
    assert [detail["bolus_id"] for detail in logged(pump, "bolus_cancelled")] == ["b-0001"]


def test_a_bolus_id_used_again_for_another_dose_is_refused_and_delivers_nothing_more(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    pump.bolus("b-0001", 50.0, 30.0)
    with pytest.raises(PumpRefused) as refused:
        pump.bolus("b-0001", 60.0, 30.0)
    assert (refused.value.status, refused.value.field) == ("BAD_ARGUMENT", "bolus_id")
    assert pump.read_status().bolus.dose == 50.0
    assert len(logged(pump, "bolus_started")) == 1


def test_cancelling_a_bolus_the_pump_never_saw_is_refused_naming_the_id(pump):
    with pytest.raises(PumpRefused) as refused:
        pump.cancel_bolus("b-unknown")
    assert (refused.value.status, refused.value.field) == ("BAD_ARGUMENT", "bolus_id")


# -- refills -----------------------------------------------------------------------------------------------


def test_a_refill_repeated_with_the_same_id_is_recorded_once(pump):
    fill(pump, "r-same", 18.0)
    again = pump.refill("r-same", 0.0, 18.0, Drug.model_validate(BACLOFEN))
    assert (again.refill_id, again.volume_ml, again.calculated_ml, again.repeated) == ("r-same", 18.0, 0.0, True)
    assert [event.kind for event in pump.read_events()].count("refill") == 1


def test_a_refill_id_is_never_applied_twice_even_after_another_refill(pump):
    fill(pump, "r-1", 18.0)
    second = pump.refill("r-2", 17.5, 12.0, None)  # None keeps the drug
    assert (second.volume_ml, second.calculated_ml, second.repeated) == (12.0, 18.0, False)
    again = fill(pump, "r-1", 18.0)  # the first refill resent, after the second: its first answer, not applied
    assert (again.volume_ml, again.calculated_ml, again.repeated) == (18.0, 0.0, True)
    assert pump.read_status().volume_ml == 12.0
    assert [detail["refill_id"] for detail in logged(pump, "refill")] == ["r-1", "r-2"]


def test_a_refill_id_used_again_for_other_volumes_is_refused_and_changes_nothing(pump):
    fill(pump, "r-1", 18.0)
    with pytest.raises(PumpRefused) as refused:
        fill(pump, "r-1", 19.0)
    assert (refused.value.status, refused.value.field) == ("BAD_ARGUMENT", "refill_id")
    assert pump.read_status().volume_ml == 18.0
    assert len(logged(pump, "refill")) == 1


def test_a_new_concentration_keeps_the_dose_and_the_refill_is_logged_as_done(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    outcome = pump.refill("r-2", 17.0, 20.0, Drug.model_validate({**BACLOFEN, "concentration_per_ml": 1000}))
    assert (outcome.volume_ml, outcome.calculated_ml) == (20.0, pytest.approx(18.0, abs=1e-3))  # 0.3 mL/day ran
    kept = program_from_data({"format": "itb-program/1", "drug": {**BACLOFEN, "concentration_per_ml": 1000},
                              "therapy": {"mode": "simple_continuous", "daily_dose": 150}})
    active = pump.read_program()
    assert (active.program, active.checksum) == (kept, kept.checksum())
    detail = dict(logged(pump, "refill")[-1])
    counters = [detail.pop(key) for key in ("pumped_ml", "to_patient_ml") if key in detail]  # the emulator's line
    assert counters in ([], [pytest.approx(0.0, abs=1e-3)] * 2)  # next to nothing moved since the first fill
    assert detail == {
        "refill_id": "r-2", "withdrawn_ml": 17.0, "added_ml": 20.0, "calculated_ml": pytest.approx(18.0, abs=1e-3),
        "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 1000.0},
        "therapy_stopped": False, "checksum": kept.checksum(), "action_number": 2}  # r-1 was the pump's action 1


def test_a_refill_with_another_drug_stops_the_therapy(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    pump.refill("r-2", 17.0, 20.0, Drug.model_validate(MORPHINE))
    active = pump.read_program()
    assert (active.program, active.therapy, active.checksum) == (stopped(MORPHINE), {"mode": "stopped"},
                                                                 stopped(MORPHINE).checksum())
    assert pump.read_status().program_checksum == stopped(MORPHINE).checksum()
    assert logged(pump, "refill")[-1]["therapy_stopped"] is True


def test_a_first_refill_must_name_the_drug(pump):
    with pytest.raises(PumpRefused) as refused:
        pump.refill("r-1", 0.0, 18.0, None)
    assert (refused.value.status, refused.value.field) == ("REFUSED", "drug")
    assert (pump.read_program().checksum, pump.read_status().volume_ml) == (NO_PROGRAM_CHECKSUM, 0.0)


def test_a_refill_the_pump_cannot_take_is_refused_naming_the_field_and_changes_nothing(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    too_much = pump.identify().capacity_ml + 0.5
    too_thin = Drug.model_validate({**BACLOFEN, "concentration_per_ml": 5})  # 150 mcg/day would be 30 mL/day > 24
    for refill, field in (((0.0, too_much, None), "added_ml"), ((-1.0, 18.0, None), "withdrawn_ml"),
                          ((17.0, 20.0, too_thin), "drug.concentration_per_ml")):
        with pytest.raises(PumpRefused) as refused:
            pump.refill("r-2", *refill)
        assert (refused.value.status, refused.value.field) == ("OUT_OF_RANGE", field)
    assert pump.read_program().program == SIMPLE
    assert pump.read_status().volume_ml == pytest.approx(18.0, abs=1e-3)
    assert len(logged(pump, "refill")) == 1


# -- alarms ------------------------------------------------------------------------------------------------


def test_a_low_reservoir_alarm_is_raised_acknowledged_once_and_cleared_by_a_refill(pump):
    fill(pump, added_ml=1.0)  # below the 2 mL low-reservoir threshold
    [alarm] = pump.read_status().alarms
    assert (alarm.code, alarm.severity, isinstance(alarm.since, datetime)) == ("low_reservoir", "non_critical", True)
    assert pump.acknowledge_alarm("low_reservoir") == (alarm,)  # acknowledged, but its cause remains
    assert pump.acknowledge_alarm("low_reservoir") == (alarm,)  # a resend is harmless
    assert pump.acknowledge_alarm("eri") == (alarm,)  # not active: the list as it is
    fill(pump, "r-2", 10.0)
    assert pump.read_status().alarms == ()
    assert [(event.kind, event.detail) for event in pump.read_events() if event.kind.startswith("alarm_")] == [
        ("alarm_raised", {"code": "low_reservoir", "severity": "non_critical"}),
        ("alarm_acknowledged", {"code": "low_reservoir"}),
        ("alarm_cleared", {"code": "low_reservoir"}),
    ]


def test_the_low_alarm_threshold_is_set_read_back_logged_once_and_moves_the_alarm(pump):
    fill(pump, added_ml=5.0)  # above the factory 2 mL threshold: no alarm
    assert pump.set_low_alarm(6.0) == 6.0 == pump.read_status().low_alarm_ml
    assert [alarm.code for alarm in pump.read_status().alarms] == ["low_reservoir"]  # 5 mL <= 6 mL
    assert pump.set_low_alarm(6.0) == 6.0  # the same again: nothing changes, nothing is logged
    assert pump.set_low_alarm(3.0) == 3.0
    assert pump.read_status().alarms == ()
    assert logged(pump, "low_alarm_set") == [{"old_ml": 2.0, "new_ml": 6.0}, {"old_ml": 6.0, "new_ml": 3.0}]
    assert [event.kind for event in pump.read_events() if event.kind.startswith("alarm_")] == [
        "alarm_raised", "alarm_cleared"]


@pytest.mark.parametrize("low_alarm_ml", [0.5, 0.0, 1000.0])
def test_a_low_alarm_threshold_outside_the_model_is_refused_naming_the_field(pump, low_alarm_ml):
    # The emulator (and the double) take 1 mL to half the capacity (docs/emulator.md).
    with pytest.raises(PumpRefused) as refused:
        pump.set_low_alarm(low_alarm_ml)
    assert (refused.value.status, refused.value.field) == ("OUT_OF_RANGE", "low_alarm_ml")
    assert f"{low_alarm_ml:g} mL" in str(refused.value)
    assert pump.read_status().low_alarm_ml == 2.0 and logged(pump, "low_alarm_set") == []


def test_a_bad_argument_names_its_field(pump):
    with pytest.raises(PumpRefused) as refused:
        pump.acknowledge_alarm("no_such_alarm")
    assert refused.value.status == "BAD_ARGUMENT" and refused.value.field == "code"
    assert "acknowledge alarm" in str(refused.value)


# -- over a wire only ------------------------------------------------------------------------------------


@wire_only("the steps a write reports are the serial driver's exchanges on the wire (docs/protocol.md section 9)")
def test_a_write_reports_each_exchange_of_the_two_phase_write(pump):
    fill(pump)
    steps: list[tuple[str, float]] = []
    assert pump.write_program(FLEX, progress=lambda step, fraction: steps.append((step, fraction))).status \
        is Outcome.VERIFIED
    assert [name for name, _ in steps[::2]] == ["validate", "read active program", "stage", "verify staged checksum",
                                                "commit", "read back", "compare"]


@wire_only("a wire trace is of the bytes on a wire")
def test_the_wire_trace_goes_to_a_file(driver_kind, start_emulator, tmp_path):
    path = tmp_path / "trace.log"
    with open_driver(start_emulator(link=driver_kind).url, trace=str(path)) as driver:
        driver.identify()
    lines = path.read_text().splitlines()
    assert any(" TX seq=" in line and "HELLO" in line for line in lines)
    assert any(" FRAME " in line and "IDENTIFY OK (answer (sealed))" in line for line in lines)


@wire_only("only a link has a session to secure")
def test_the_link_is_secure_every_request_after_hello_is_sealed_and_no_patient_data_is_traced(driver_kind,
                                                                                              start_emulator):
    lines: list[str] = []
    with open_driver(start_emulator(link=driver_kind).url, trace=lines.append) as driver:
        assert driver.secure and driver.programmer_id == TEST_PROGRAMMER
        fill(driver)
        assert driver.read_program().drug == Drug.model_validate(BACLOFEN)
    sent = [line.split(" TX ", 1)[1].split(":", 1)[0] for line in lines if " TX " in line]
    assert sent[0].endswith(" HELLO") and all(line.endswith(" sealed") for line in sent[1:])
    assert any("REFILL sealed" in line for line in sent) and any("END_SESSION sealed" in line for line in sent)
    assert "baclofen".encode().hex(" ") not in "\n".join(lines)  # the drug's name never crosses in clear


@wire_only("a link to lose needs a link")
def test_a_stopped_emulator_is_a_link_error_naming_the_step(driver_kind, start_emulator):
    emulator = start_emulator(link=driver_kind)
    driver = open_driver(emulator.url, max_retries=1)
    emulator.stop()
    # A pty's number is free once its emulator stopped, and the system may give it to another test's emulator at
    # once: reopening the path then finds a different pump, which the driver refuses to talk to.
    with pytest.raises(LinkError, match=r"^(read status: .* after 2 tries \(timeout \d\.\d s\)|hello: a different "
                                        r"pump answered after reconnecting .* nothing is sent to the wrong pump)$"):
        driver.read_status()
    driver.close()


@wire_only("a pump's memory across a restart is the emulator's state file")
def test_program_written_survives_an_emulator_restart(driver_kind, start_emulator):
    first = start_emulator(link=driver_kind)
    with open_driver(first.url) as driver:
        fill(driver)
        assert driver.write_program(SIMPLE).status is Outcome.VERIFIED
    first.stop()
    second = start_emulator(link=driver_kind, state=first.state)
    with open_driver(second.url) as driver:
        assert driver.read_program().program == SIMPLE


@wire_only("a pump's memory across a restart is the emulator's state file")
def test_the_low_alarm_threshold_survives_an_emulator_restart(driver_kind, start_emulator):
    first = start_emulator(link=driver_kind)
    with open_driver(first.url) as driver:
        assert driver.set_low_alarm(4.5) == 4.5
    first.stop()
    with open_driver(start_emulator(link=driver_kind, state=first.state).url) as driver:
        assert driver.read_status().low_alarm_ml == 4.5


# -- issue 13: the line, priming, bridging, the bolus status and the demand dose ---------------------------------

LINE_ML = 0.15 + 60 * 0.0026
"""An ITB-20's 0.15 mL of tubing and 60 cm of catheter at 0.0026 mL/cm: 0.306 mL."""


def test_the_pump_declares_its_dead_volume_and_a_new_one_has_no_catheter(pump):
    identity = pump.identify()
    assert (identity.tubing_ml, identity.catheter_ml_per_cm, identity.catheter_cm_min, identity.catheter_cm_max,
            identity.priming_ml_per_hour, identity.max_bolus_ml_per_hour) == (0.15, 0.0026, 10.0, 110.0, 1.0, 6.0)
    line = pump.read_status().line
    assert (line.tubing_ml, line.catheter_cm, line.volume_ml, line.dose_unit) == (0.15, None, 0.15, None)
    assert [(part.volume_ml, part.concentration_per_ml) for part in line.contents] == [(0.15, 0.0)]
    fill(pump)  # without a catheter recorded, the first fill leaves the tubing empty of drug: the implant's prime fills it
    line = pump.read_status().line
    assert [(part.volume_ml, part.concentration_per_ml) for part in line.contents] == [(0.15, 0.0)]
    assert line.dose_unit == "mcg"


def test_a_prime_fills_the_line_with_the_pumps_own_volume_once(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    for wrong, field, status in (((5.0, 0.163), "catheter_cm", "OUT_OF_RANGE"), ((60.0, 0.3), "volume_ml",
                                                                                 "BAD_ARGUMENT")):
        with pytest.raises(PumpRefused) as refused:
            pump.prime("b-wrong", *wrong, "implant")
        assert (refused.value.status, refused.value.field) == (status, field)
    primed = pump.prime("b-p", 60.0, LINE_ML, "implant")
    # 0.306 mL of baclofen 500 mcg/mL is 153 mcg moved; at 1.0 mL/h it takes 0.306 h = 18.36 min
    assert (primed.bolus_id, primed.kind, primed.state, primed.repeated) == ("b-p", "prime", "delivering", False)
    assert (primed.volume_ml, primed.dose, primed.duration_min) == (pytest.approx(LINE_ML), pytest.approx(153.0),
                                                                    pytest.approx(18.36))
    assert pump.prime("b-p", 60.0, LINE_ML, "implant").repeated
    status = pump.read_status()
    assert (status.bolus.bolus_id, status.bolus.kind) == ("b-p", "prime")
    assert status.line.catheter_cm == 60.0 and status.line.volume_ml == pytest.approx(LINE_ML)
    assert status.line.contents[0].concentration_per_ml == 0.0  # spinal fluid at the tip: the drug is on its way
    assert status.line.contents[0].volume_ml == pytest.approx(LINE_ML, abs=1e-3)
    [started] = logged(pump, "bolus_started")
    assert (started["kind"], started["reason"], started["catheter_cm"]) == ("prime", "implant", 60.0)
    known = pump.bolus_status("b-p")
    assert (known.kind, known.state, known.volume_ml) == ("prime", "delivering", pytest.approx(LINE_ML))


def test_bolus_status_knows_only_the_boluses_the_pump_started_and_changes_nothing(pump):
    assert pump.bolus_status("b-never") is None
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    pump.bolus("b-1", 50.0, 30.0)
    known = pump.bolus_status("b-1")
    assert (known.bolus_id, known.kind, known.dose, known.volume_ml, known.state) == (
        "b-1", "therapeutic", 50.0, pytest.approx(0.1), "delivering")
    assert 0 <= known.delivered <= 50.0
    pump.cancel_bolus("b-1")
    assert pump.bolus_status("b-1").state == "cancelled"
    assert len(logged(pump, "bolus_started")) == 1


def test_nothing_to_bridge_is_refused(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    with pytest.raises(PumpRefused) as refused:  # a new pump's first fill fills its tubing too: nothing to bridge
        pump.bridge("b-br", 0.15, 500.0)
    assert (refused.value.status, refused.value.field) == ("REFUSED", "bolus_id")
    assert logged(pump, "bolus_started") == []


@pytest.fixture
def implanted(driver_kind, start_emulator):
    """A pump running SIMPLE (baclofen 500 mcg/mL, 150 mcg/day) with 18 mL, its 60 cm catheter and tubing full of
    the drug: over a wire, primed and then flushed by the basal rate (0.306 mL at 0.3 mL/day take 24.48 h, so 30 h
    of pump time pass); the test double, which has no time to pass, records it implanted long ago."""
    if driver_kind == "fake":
        pump = FakePump.factory_new()
        fill(pump)
        assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
        yield pump.implanted(60.0)
        return
    emulator = start_emulator("--service", link=driver_kind)
    with open_driver(emulator.url) as driver:
        fill(driver)
        assert driver.write_program(SIMPLE).status is Outcome.VERIFIED
        driver.prime("b-implant", 60.0, LINE_ML, "implant")
    client = WireClient(emulator.url)
    try:
        client.hello()
        assert client.call(Command.SERVICE, {"action": "advance", "hours": 30}).status == Status.OK
    finally:
        client.close()
    driver = open_driver(emulator.url)
    yield driver
    driver.close()


def test_a_refill_of_a_new_concentration_starts_the_bridge_in_the_same_action(implanted):
    pump = implanted
    contents = pump.read_status().line.contents
    assert [part.concentration_per_ml for part in contents] == [500.0]
    assert contents[0].volume_ml == pytest.approx(LINE_ML)
    stronger = Drug.model_validate({**BACLOFEN, "concentration_per_ml": 1000})
    with pytest.raises(PumpRefused) as refused:  # the bridge must be the old drug's whole volume: nothing done
        pump.refill("r-2", 17.0, 18.0, stronger, BridgeRequest("b-br", 0.3))
    assert (refused.value.status, refused.value.field) == ("BAD_ARGUMENT", "bridge.volume_ml")
    assert pump.read_program().drug == Drug.model_validate(BACLOFEN)
    outcome = pump.refill("r-2", 17.0, 18.0, stronger, BridgeRequest("b-br", LINE_ML))
    # the old 0.306 mL reach the patient at the programmed 150 mcg/day: 153 mcg, over 0.306 / 0.3 days = 1468.8 min
    bridge = outcome.bridge
    assert (bridge.bolus_id, bridge.kind, bridge.state) == ("b-br", "bridge", "delivering")
    assert (bridge.volume_ml, bridge.dose, bridge.duration_min) == (pytest.approx(LINE_ML), pytest.approx(153.0),
                                                                    pytest.approx(1468.8))
    status = pump.read_status()
    assert (status.bolus.kind, status.line.contents[0].concentration_per_ml) == ("bridge", 500.0)
    assert pump.read_program().drug == stronger
    again = pump.refill("r-2", 17.0, 18.0, stronger, BridgeRequest("b-br", LINE_ML))
    assert again.repeated and [detail["bolus_id"] for detail in logged(pump, "bolus_started")][-1] == "b-br"
    assert [detail["kind"] for detail in logged(pump, "bolus_started")].count("bridge") == 1


def test_the_demand_dose_is_written_read_back_and_switched_off(pump):
    off = pump.read_demand()
    assert (off.demand, off.dose_unit) == (DemandDose(False), None)
    with pytest.raises(PumpRefused) as refused:
        pump.write_demand(DemandDose(True, 25.0, 10.0, 120.0, 4))
    assert refused.value.status == "REFUSED"  # no drug
    fill(pump)
    asked = DemandDose(True, 25.0, 10.0, 120.0, 4)
    written = pump.write_demand(asked)
    assert (written.demand, written.dose_unit) == (asked, "mcg") and written == pump.read_demand()
    assert written.checksum != off.checksum and len(written.checksum) == 16
    assert pump.write_demand(asked) == written  # the same again: nothing changes
    for wrong, field in ((replace(asked, lockout_min=10.0), "lockout_min"), (replace(asked, max_per_day=25),
                         "max_per_day"), (replace(asked, duration_min=90.0), "duration_min")):
        with pytest.raises(PumpRefused) as refused:
            pump.write_demand(wrong)
        assert (refused.value.status, refused.value.field) == ("OUT_OF_RANGE", field)
    assert pump.read_demand() == written
    assert pump.write_demand(DemandDose(False)) == off
    assert [detail["enabled"] for detail in logged(pump, "demand_set")] == [True, False]
