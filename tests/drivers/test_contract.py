"""The driver contract, run against the real emulator over TCP and over a pty (one suite, both links).

Every test starts a factory-new emulated pump (``emulator`` fixture, parametrised by link), opens it
through the entry-point registry the way the application does, and checks what the driver reports
against what the pump holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from drivers.serial_driver import SerialDriver, open_serial_driver
from programmer.outcome import Outcome
from programmer.port import LinkError, PumpRefused, open_driver
from programmer.program import NO_PROGRAM_CHECKSUM, Drug, program_from_data

BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
SIMPLE = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                            "therapy": {"mode": "simple_continuous", "daily_dose": 150}})
FLEX = program_from_data({"format": "itb-program/1", "drug": BACLOFEN, "therapy": {
    "mode": "flex", "cycle_days": 1, "steps": [
        {"day": 1, "start": "00:00", "dose_per_hour": 5.0},
        {"day": 1, "start": "06:00", "dose_per_hour": 8.0},
        {"day": 1, "start": "22:00", "dose_per_hour": 6.5}]}})


@pytest.fixture
def pump(emulator):
    driver = open_driver(emulator.url)
    yield driver
    driver.close()


def fill(pump, refill_id: str = "r-1", added_ml: float = 18.0) -> None:
    pump.refill(refill_id, 0.0, added_ml, Drug.model_validate(BACLOFEN))


def test_open_driver_finds_the_serial_driver_through_the_entry_point(pump):
    assert isinstance(pump, SerialDriver)


def test_identify_reports_the_model_and_its_limits(pump):
    identity = pump.identify()
    assert identity.model in ("ITB-20", "ITB-40")
    assert identity.serial and identity.firmware
    assert identity.capacity_ml in (20.0, 40.0)
    assert 0 < identity.min_rate_ml_per_day < identity.max_rate_ml_per_day
    assert identity.max_steps_per_day >= 1 and identity.max_cycle_days >= 1 and identity.event_log_size >= 16


def test_a_factory_new_pump_holds_no_drug_and_runs_nothing(pump):
    active = pump.read_program()
    assert (active.drug, active.program, active.therapy, active.checksum) == (None, None, {"mode": "stopped"},
                                                                            NO_PROGRAM_CHECKSUM)
    status = pump.read_status()
    assert status.program_checksum == NO_PROGRAM_CHECKSUM
    assert status.battery_status == "ok" and status.bolus is None
    assert status.volume_ml == 0.0 and status.alarms == ()


def test_staging_on_an_empty_pump_is_refused_with_the_status_name(pump):
    with pytest.raises(PumpRefused) as refused:
        pump.write_program(SIMPLE)
    assert refused.value.status == "REFUSED"
    assert refused.value.field_name == "program.drug"
    assert pump.read_program().checksum == NO_PROGRAM_CHECKSUM


def test_refill_then_write_a_program_and_read_it_back(pump):
    outcome = pump.refill("r-1", 0.0, 18.0, Drug.model_validate(BACLOFEN))
    assert (outcome.refill_id, outcome.volume_ml, outcome.calculated_ml, outcome.repeated) == ("r-1", 18.0, 0.0, False)
    steps: list[tuple[str, float]] = []
    written = pump.write_program(FLEX, progress=lambda step, fraction: steps.append((step, fraction)))
    assert written.status is Outcome.VERIFIED, written.message
    assert written.staged_checksum == FLEX.checksum() == written.active.checksum
    assert written.active.program == FLEX
    assert [name for name, _ in steps[::2]] == ["validate", "read active program", "stage", "verify staged checksum",
                                                "commit", "read back", "compare"]
    fractions = [fraction for _, fraction in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == pytest.approx(1.0)
    active = pump.read_program()
    assert (active.program, active.checksum) == (FLEX, FLEX.checksum())
    assert pump.read_status().program_checksum == FLEX.checksum()


def test_writing_the_active_program_again_is_verified(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    again = pump.write_program(SIMPLE)
    assert again.status is Outcome.VERIFIED and again.active.program == SIMPLE


def test_a_program_beyond_the_pump_is_refused_out_of_range_and_nothing_changes(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    too_much = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                                  "therapy": {"mode": "simple_continuous", "daily_dose": 500 * 30}})
    with pytest.raises(PumpRefused) as refused:
        pump.write_program(too_much)
    assert refused.value.status == "OUT_OF_RANGE" and refused.value.field_name == "program.therapy.daily_dose"
    assert pump.read_program().program == SIMPLE


def test_events_are_read_in_pages_with_progress(pump):
    for number in range(20):  # 20 refills: 21 events with power-on, more than one page of 16
        fill(pump, refill_id=f"r-{number}", added_ml=10.0 + number / 10)
    progress: list[tuple[str, float]] = []
    events = pump.read_events(progress=lambda step, fraction: progress.append((step, fraction)))
    assert [event.index for event in events] == list(range(len(events)))
    assert events[0].kind == "power_on"
    refills = [event for event in events if event.kind == "refill"]
    assert [event.detail["refill_id"] for event in refills] == [f"r-{number}" for number in range(20)]
    assert all(isinstance(event.time, datetime) for event in events)
    assert len(progress) >= 2 and {step for step, _ in progress} == {"read events"}
    fractions = [fraction for _, fraction in progress]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1 and fractions[-1] == 1.0


def test_set_clock_is_read_back(pump):
    target = datetime(2030, 1, 2, 3, 4, 5)
    pump_time = pump.set_clock(target)
    assert timedelta(0) <= pump_time - target < timedelta(seconds=5)
    events = pump.read_events()
    assert events[-1].kind == "clock_set"


def test_a_bolus_repeated_with_the_same_id_is_delivered_once(pump):
    fill(pump)
    assert pump.write_program(SIMPLE).status is Outcome.VERIFIED
    first = pump.bolus("b-0001", 50.0, 30.0)
    assert (first.bolus_id, first.dose, first.state, first.repeated) == ("b-0001", 50.0, "delivering", False)
    assert first.volume_ml == pytest.approx(0.1)
    again = pump.bolus("b-0001", 50.0, 30.0)
    assert (again.bolus_id, again.dose, again.volume_ml, again.repeated) == ("b-0001", 50.0, first.volume_ml, True)
    assert pump.read_status().bolus.bolus_id == "b-0001"
    started = [event for event in pump.read_events() if event.kind == "bolus_started"]
    assert [event.detail["bolus_id"] for event in started] == ["b-0001"]
    cancelled = pump.cancel_bolus("b-0001")
    assert (cancelled.bolus_id, cancelled.state) == ("b-0001", "cancelled")
    assert 0 <= cancelled.dose <= 50.0 and cancelled.volume_ml == pytest.approx(cancelled.dose / 500)
    assert pump.read_status().bolus is None


def test_a_refill_repeated_with_the_same_id_is_recorded_once(pump):
    fill(pump, "r-same", 18.0)
    again = pump.refill("r-same", 0.0, 18.0, Drug.model_validate(BACLOFEN))
    assert (again.refill_id, again.volume_ml, again.calculated_ml, again.repeated) == ("r-same", 18.0, 0.0, True)
    assert [event.kind for event in pump.read_events()].count("refill") == 1


def test_a_low_reservoir_alarm_can_be_acknowledged(pump):
    fill(pump, added_ml=1.0)  # below the 2 mL low-reservoir threshold
    status = pump.read_status()
    assert "low_reservoir" in [alarm.code for alarm in status.alarms]
    alarms = pump.acknowledge_alarm("low_reservoir")
    assert [alarm.code for alarm in alarms] == ["low_reservoir"]  # acknowledged, but its cause remains
    assert alarms[0].severity == "non_critical" and isinstance(alarms[0].since, datetime)


def test_a_bad_argument_names_its_field(pump):
    with pytest.raises(PumpRefused) as refused:
        pump.acknowledge_alarm("no_such_alarm")
    assert refused.value.status == "BAD_ARGUMENT" and refused.value.field_name == "code"
    assert "acknowledge alarm" in str(refused.value)


def test_the_factory_and_open_driver_reject_what_they_cannot_open(emulator):
    for url in ("", "ble://pump-42"):
        with pytest.raises(LookupError):
            open_serial_driver(url)
        with pytest.raises(LinkError, match="no installed driver can open"):
            open_driver(url)


def test_the_wire_trace_goes_to_a_file(emulator, tmp_path):
    path = tmp_path / "trace.log"
    with open_driver(emulator.url, trace=str(path)) as driver:
        driver.identify()
    lines = path.read_text().splitlines()
    assert any(" TX seq=" in line and "HELLO" in line for line in lines)
    assert any(" FRAME " in line and "IDENTIFY OK (answer)" in line for line in lines)


def test_a_stopped_emulator_is_a_link_error_naming_the_step(start_emulator):
    emulator = start_emulator()
    driver = open_driver(emulator.url, max_retries=1)
    emulator.stop()
    with pytest.raises(LinkError, match=r"^read status: .* after 2 tries \(timeout \d\.\d s\)$"):
        driver.read_status()
    driver.close()


def test_program_written_survives_an_emulator_restart(start_emulator, emulator_link):
    first = start_emulator(link=emulator_link)
    with open_driver(first.url) as driver:
        fill(driver)
        assert driver.write_program(SIMPLE).status is Outcome.VERIFIED
    first.stop()
    second = start_emulator(link=emulator_link, state=first.state)
    with open_driver(second.url) as driver:
        assert driver.read_program().program == SIMPLE

