"""The emulator's command handler: sessions, two-phase programming, idempotent bolus and refill, alarms,
the event log, the answer cache and errors. All in-process on a fake clock (no sockets, no sleeping)."""

from __future__ import annotations

import pytest

from emulator.service import Service
from protocol.codes import Command, Status
from protocol.frame import Frame
from programmer.program import NO_PROGRAM_CHECKSUM
from tests.support.emulator_support import BACLOFEN_500, SERVICE, Client, checksum_of, flex, make_pump, simple

MORPHINE = {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 10}


@pytest.fixture
def pump(tmp_path):
    pump, _ = make_pump(tmp_path / "pump.json")
    return pump


@pytest.fixture
def client(pump):
    return Client(Service(pump, service_enabled=True))


def kinds(pump) -> list[str]:
    return [event.kind for event in pump.state.events]


# -- session and errors ------------------------------------------------------------------------------


def test_an_insecure_pump_speaks_version_1_hello_first_then_identify(pump):
    client = Client(Service(pump, insecure=True), hello=False)
    assert client.call(Command.IDENTIFY).status == Status.NO_SESSION
    response = client.call(Command.HELLO, {"protocol": 2, "client": "x"})
    assert (response.status, response.payload["field"]) == (Status.UNSUPPORTED_VERSION, "protocol")
    assert "speaks 1" in response.payload["error"]
    assert client.call(Command.IDENTIFY).status == Status.NO_SESSION
    hello = client.ok(Command.HELLO, {"protocol": 1, "client": "x"})
    assert hello == {"protocol": 1, "model": "ITB-20", "serial": pump.state.serial}
    identify = client.ok(Command.IDENTIFY)
    assert identify["capacity_ml"] == 20.0 and identify["event_log_size"] == 256
    assert identify["max_steps_per_day"] == 13 and identify["firmware"]


def test_a_version_2_pump_refuses_version_1_and_answers_identify_in_clear(pump):
    client = Client(Service(pump), hello=False)
    response = client.call(Command.HELLO, {"protocol": 1, "client": "x"})
    assert (response.status, response.payload["field"]) == (Status.UNSUPPORTED_VERSION, "protocol")
    assert "speaks 2" in response.payload["error"]
    assert client.ok(Command.IDENTIFY)["serial"] == pump.state.serial  # open: no session needed
    response = client.call(Command.READ_STATUS)  # in clear, without a session
    assert (response.status, response.payload["field"]) == (Status.NOT_AUTHENTICATED, None)
    hello = client.hello()
    assert (hello["protocol"], hello["model"], hello["serial"]) == (2, "ITB-20", pump.state.serial)
    assert client.ok(Command.READ_STATUS)["reservoir"]["volume_ml"] == 0.0  # sealed, in the session


def test_strict_requests_and_unknown_commands(client, pump):
    response = client.call(Command.READ_EVENTS, {"start": 0, "count": 2, "extra": 1})
    assert (response.status, response.payload["field"]) == (Status.BAD_ARGUMENT, "extra")
    response = client.call(Command.READ_EVENTS, {"start": True, "count": 2})
    assert (response.status, response.payload["field"]) == (Status.BAD_ARGUMENT, "start")
    assert client.call(0x55).status == Status.UNKNOWN_COMMAND
    assert Client(Service(pump)).call(SERVICE, {"action": "motor_stall"}).status == Status.UNKNOWN_COMMAND


def test_an_exception_in_a_handler_answers_internal_and_keeps_serving(pump, monkeypatch, capsys):
    def broken() -> dict:
        raise RuntimeError("firmware bug")

    monkeypatch.setattr(pump, "identify", broken)
    client = Client(Service(pump))
    response = client.call(Command.IDENTIFY)
    assert response.status == Status.INTERNAL and set(response.payload) == {"error", "field"}
    assert "firmware bug" in capsys.readouterr().err
    assert client.call(Command.READ_STATUS).status == Status.OK


# -- factory-new pump, refill and programming ---------------------------------------------------


def test_factory_new_pump_reads_stopped_without_drug(client):
    assert client.ok(Command.READ_PROGRAM) == {"drug": None, "therapy": {"mode": "stopped"},
                                               "checksum": NO_PROGRAM_CHECKSUM}
    status = client.ok(Command.READ_STATUS)
    assert status["reservoir"] == {"volume_ml": 0.0, "low_alarm_ml": 2.0, "capacity_ml": 20.0}
    assert status["alarms"] == [] and status["battery"]["status"] == "ok" and status["bolus"] is None
    response = client.call(Command.STAGE_PROGRAM, {"program": simple(150)})
    assert (response.status, response.payload["field"]) == (Status.REFUSED, "program.drug")


def test_stage_and_commit(client, pump):
    client.refill()
    old = client.ok(Command.READ_PROGRAM)["checksum"]
    staged = client.ok(Command.STAGE_PROGRAM, {"program": simple(150.0)})["checksum"]
    assert staged == checksum_of(simple(150))  # 150 and 150.0 are the same program
    assert client.ok(Command.READ_PROGRAM)["checksum"] == old  # staging changes nothing
    # A commit naming another checksum is refused and the old program keeps running.
    response = client.call(Command.COMMIT_PROGRAM, {"checksum": "0123456789abcdef"})
    assert response.status == Status.CHECKSUM_MISMATCH
    assert client.ok(Command.READ_STATUS)["program_checksum"] == old
    assert client.call(Command.COMMIT_PROGRAM, {"checksum": "XYZ"}).status == Status.BAD_ARGUMENT
    # The right checksum activates it; a repeat says already_active and changes nothing.
    assert client.ok(Command.COMMIT_PROGRAM, {"checksum": staged}) == {"checksum": staged, "already_active": False}
    assert client.ok(Command.COMMIT_PROGRAM, {"checksum": staged}) == {"checksum": staged, "already_active": True}
    program = client.ok(Command.READ_PROGRAM)
    assert program == {"drug": {**BACLOFEN_500, "concentration_per_ml": 500.0},
                       "therapy": {"mode": "simple_continuous", "daily_dose": 150.0}, "checksum": staged}
    assert kinds(pump).count("program_activated") == 1
    # Nothing is staged any more: another checksum is NOT_STAGED.
    assert client.call(Command.COMMIT_PROGRAM, {"checksum": checksum_of(simple(160))}).status == Status.NOT_STAGED


def test_stage_rejects_invalid_out_of_range_and_other_drugs(client):
    client.refill()
    response = client.call(Command.STAGE_PROGRAM, {"program": simple(-5)})
    assert (response.status, response.payload["field"]) == (Status.BAD_ARGUMENT, "program.therapy.daily_dose")
    response = client.call(Command.STAGE_PROGRAM, {"program": simple(150, MORPHINE)})
    assert (response.status, response.payload["field"]) == (Status.REFUSED, "program.drug")
    other_concentration = {**BACLOFEN_500, "concentration_per_ml": 1000}
    assert client.call(Command.STAGE_PROGRAM, {"program": simple(150, other_concentration)}).status == Status.REFUSED
    # 12500 mcg/day at 500 mcg/mL is 25 mL/day, above the 24 mL/day maximum; 20 mcg/day is 0.04 < 0.048.
    for dose in (12500, 20):
        response = client.call(Command.STAGE_PROGRAM, {"program": simple(dose)})
        assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "program.therapy.daily_dose")
    fourteen = flex([(1, f"{hour:02d}:00", 5.0) for hour in range(14)])
    response = client.call(Command.STAGE_PROGRAM, {"program": fourteen})
    assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "program.therapy.steps")
    long_cycle = flex([(1, "00:00", 5.0)], cycle_days=8)
    response = client.call(Command.STAGE_PROGRAM, {"program": long_cycle})
    assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "program.therapy.cycle_days")
    assert client.ok(Command.STAGE_PROGRAM, {"program": simple(24)})  # exactly the 0.048 mL/day minimum


def test_refill_with_a_new_drug_stops_therapy_and_discards_staging(client, pump):
    client.refill("r1")
    client.write(simple(150))
    staged = client.ok(Command.STAGE_PROGRAM, {"program": simple(200)})["checksum"]
    # Concentration only: the program is kept in dose units (so its checksum changes with the drug).
    stronger = {**BACLOFEN_500, "concentration_per_ml": 1000}
    client.refill("r2", 20.0, stronger)
    assert client.ok(Command.READ_PROGRAM)["therapy"] == {"mode": "simple_continuous", "daily_dose": 150.0}
    assert client.call(Command.COMMIT_PROGRAM, {"checksum": staged}).status == Status.NOT_STAGED
    # Another drug: therapy stops; the new drug never runs on the old numbers.
    client.refill("r3", 20.0, MORPHINE)
    program = client.ok(Command.READ_PROGRAM)
    assert program["therapy"] == {"mode": "stopped"} and program["drug"]["name"] == "morphine"
    assert pump.state.events[-1].detail["therapy_stopped"] is True


def test_refill_checks_volumes_and_a_concentration_that_breaks_the_flow_range(client):
    response = client.call(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 0, "added_ml": 25, "drug": BACLOFEN_500})
    assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "added_ml")
    response = client.call(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 0, "added_ml": 5, "drug": None})
    assert response.status == Status.REFUSED  # a new pump needs a named drug
    client.refill("r1")
    client.write(simple(150))  # 0.3 mL/day at 500 mcg/mL; at 5 mcg/mL it would be 30 mL/day
    weak = {**BACLOFEN_500, "concentration_per_ml": 5}
    response = client.call(Command.REFILL, {"refill_id": "r2", "withdrawn_ml": 0, "added_ml": 5, "drug": weak})
    assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "drug.concentration_per_ml")


# -- idempotent bolus and refill ------------------------------------------------------------------


def test_a_repeated_bolus_id_never_delivers_twice(client, pump):
    client.refill(added_ml=10.0)
    client.write(simple(150))
    request = {"bolus_id": "b-1", "dose": 50, "duration_min": 30}
    first = client.ok(Command.BOLUS, request)
    assert first == {"bolus_id": "b-1", "kind": "therapeutic", "dose": 50, "volume_ml": 0.1, "duration_min": 30,
                     "state": "delivering", "repeated": False, "action_number": 2}  # the refill was action 1
    assert client.ok(Command.BOLUS, request)["repeated"] is True
    assert client.call(Command.BOLUS, {**request, "bolus_id": "b-2"}).status == Status.REFUSED  # one at a time
    client.ok(SERVICE, {"action": "advance", "hours": 1})
    again = client.ok(Command.BOLUS, request)
    assert again == {**first, "state": "done", "repeated": True}
    response = client.call(Command.BOLUS, {**request, "dose": 60})  # the same id for another bolus
    assert (response.status, response.payload["field"]) == (Status.BAD_ARGUMENT, "bolus_id")
    assert kinds(pump).count("bolus_started") == 1
    # 1 h of 0.3 mL/day (0.0125 mL) plus the bolus 0.1 mL, once.
    assert pump.state.volume_ml == pytest.approx(10.0 - 0.0125 - 0.1, abs=1e-9)


@pytest.mark.parametrize("dose", [5e-324, 1e-300, 0.2])
def test_a_bolus_below_the_smallest_the_pump_meters_is_out_of_range(client, pump, dose):
    # Found by a tester: 5e-324 mcg answered INTERNAL, 1e-300 ran as a bolus blocking refills for its duration.
    # 0.2 mcg of 500 mcg/mL is 0.0004 mL, below the 0.0005 mL stroke.
    client.refill(added_ml=10.0)
    client.write(simple(150))
    response = client.call(Command.BOLUS, {"bolus_id": "tiny", "dose": dose, "duration_min": 1})
    assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "dose")
    assert "bolus_started" not in kinds(pump)
    assert client.ok(Command.BOLUS, {"bolus_id": "ok", "dose": 0.25, "duration_min": 1})["state"] == "delivering"


def test_cancel_bolus_and_its_repeat(client):
    client.refill()
    client.write(simple(150))
    client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 60, "duration_min": 60})
    client.ok(SERVICE, {"action": "advance", "hours": 0.5})
    assert client.ok(Command.READ_STATUS)["bolus"]["delivered"] == pytest.approx(30)
    cancelled = client.ok(Command.CANCEL_BOLUS, {"bolus_id": "b1"})
    assert cancelled["state"] == "cancelled" and cancelled["delivered"] == pytest.approx(30)
    assert client.ok(Command.CANCEL_BOLUS, {"bolus_id": "b1"}) == cancelled
    assert client.ok(Command.READ_STATUS)["bolus"] is None
    assert client.call(Command.CANCEL_BOLUS, {"bolus_id": "nope"}).status == Status.BAD_ARGUMENT


def test_a_repeated_refill_id_answers_the_first_refill(client, pump):
    client.refill("r1", 20.0)
    client.write(simple(1500))  # 3 mL/day
    client.ok(SERVICE, {"action": "advance", "hours": 24})
    second = client.ok(Command.REFILL, {"refill_id": "r2", "withdrawn_ml": 16.9, "added_ml": 18.0, "drug": None})
    assert second == {"refill_id": "r2", "volume_ml": 18.0, "calculated_ml": pytest.approx(17.0), "repeated": False,
                      "action_number": 2}
    client.ok(SERVICE, {"action": "advance", "hours": 24})
    again = client.ok(Command.REFILL, {"refill_id": "r2", "withdrawn_ml": 16.9, "added_ml": 18.0, "drug": None})
    assert again == {**second, "repeated": True}
    assert pump.state.volume_ml == pytest.approx(15.0)  # not refilled again
    response = client.call(Command.REFILL, {"refill_id": "r2", "withdrawn_ml": 1, "added_ml": 18.0, "drug": None})
    assert response.status == Status.BAD_ARGUMENT


# -- alarms -------------------------------------------------------------------------------------------


def test_alarms_are_raised_acknowledged_and_cleared(client, pump):
    client.refill(added_ml=2.3)
    client.write(simple(150))  # 0.3 mL/day: low (2 mL) after 1 day, empty after 7 2/3 days
    client.ok(SERVICE, {"action": "advance", "hours": 24})
    alarms = client.ok(Command.READ_STATUS)["alarms"]
    assert [(a["code"], a["severity"], a["acknowledged"]) for a in alarms] == [("low_reservoir", "non_critical", False)]
    assert alarms[0]["since"] == "2026-03-03T08:00:00"
    acknowledged = client.ok(Command.ACK_ALARM, {"code": "low_reservoir"})["alarms"]
    assert acknowledged[0]["acknowledged"] is True  # silenced but still listed while the cause remains
    assert client.ok(Command.ACK_ALARM, {"code": "eos"})["alarms"] == acknowledged  # not active: harmless
    assert client.call(Command.ACK_ALARM, {"code": "fire"}).status == Status.BAD_ARGUMENT
    client.ok(SERVICE, {"action": "advance", "hours": 24 * 10})
    codes = {a["code"]: a["severity"] for a in client.ok(Command.READ_STATUS)["alarms"]}
    assert codes == {"low_reservoir": "non_critical", "reservoir_empty": "critical"}
    client.refill("r2", 20.0, None)
    assert client.ok(Command.READ_STATUS)["alarms"] == []
    assert kinds(pump).count("alarm_cleared") == 2 and "alarm_acknowledged" in kinds(pump)


def test_motor_stall_stops_delivery_and_the_bolus(client, pump):
    client.refill()
    client.write(simple(150))
    client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 50, "duration_min": 30})
    stalled = client.ok(SERVICE, {"action": "motor_stall"})
    assert [a["code"] for a in stalled["alarms"]] == ["motor_stall"] and stalled["bolus"] is None
    volume = pump.state.volume_ml
    client.ok(SERVICE, {"action": "advance", "hours": 5})
    assert pump.state.volume_ml == volume
    assert client.call(Command.BOLUS, {"bolus_id": "b2", "dose": 5, "duration_min": 5}).status == Status.REFUSED
    assert client.ok(SERVICE, {"action": "clear_stall"})["alarms"] == []
    client.ok(SERVICE, {"action": "advance", "hours": 24})
    assert pump.state.volume_ml == pytest.approx(volume - 0.3)
    assert pump.state.events[[e.kind for e in pump.state.events].index("bolus_cancelled")].detail["reason"] == "motor_stall"


def test_service_set_battery_raises_eri_and_eos(client):
    assert client.ok(SERVICE, {"action": "set_battery", "percent": 3.0})["battery"]["status"] == "eri"
    status = client.ok(SERVICE, {"action": "set_battery", "percent": 0})
    assert status["battery"]["status"] == "eos" and {a["code"] for a in status["alarms"]} == {"eri", "eos"}
    assert client.call(SERVICE, {"action": "set_battery", "percent": 101}).status == Status.OUT_OF_RANGE


# -- event log --------------------------------------------------------------------------------------


def test_events_are_paged_by_index_and_the_log_is_bounded(client, pump):
    client.refill()
    for dose in range(100, 250):  # 150 stage/commit pairs: 300 events, more than the 256 an ITB-20 keeps
        client.write(simple(dose))
    total = client.ok(Command.READ_EVENTS, {"start": 0, "count": 0})["total"]
    assert total == 2 + 300  # session_started, the refill, then staged/activated pairs (make_pump logs no power_on)
    assert len(pump.state.events) == 256
    first = total - 256
    pages = [client.ok(Command.READ_EVENTS, {"start": start, "count": 16}) for start in range(first, total, 16)]
    events = [event for page in pages for event in page["events"]]
    assert [event["index"] for event in events] == list(range(first, total))
    assert events[-1]["kind"] == "program_activated" and events[-1]["detail"]["checksum"] == checksum_of(simple(249))
    # Overwritten events are simply missing from a page; past the end is an empty page.
    assert [e["index"] for e in client.ok(Command.READ_EVENTS, {"start": first - 4, "count": 8})["events"]] == \
        list(range(first, first + 4))
    assert client.ok(Command.READ_EVENTS, {"start": total + 5, "count": 16})["events"] == []
    assert client.call(Command.READ_EVENTS, {"start": 0, "count": 17}).status == Status.OUT_OF_RANGE
    assert client.call(Command.READ_EVENTS, {"start": -1, "count": 1}).status == Status.OUT_OF_RANGE


def test_clock_set_is_logged_and_validated(client, pump):
    assert client.ok(Command.SET_CLOCK, {"time": "2026-04-01T09:30:00"}) == {"pump_time": "2026-04-01T09:30:00"}
    assert client.ok(Command.READ_STATUS)["pump_time"] == "2026-04-01T09:30:00"
    assert pump.state.events[-1].kind == "clock_set"
    assert client.call(Command.SET_CLOCK, {"time": "2026-04-01T09:30:00+02:00"}).status == Status.BAD_ARGUMENT
    assert client.call(Command.SET_CLOCK, {"time": "tomorrow"}).status == Status.BAD_ARGUMENT
    assert client.call(Command.SET_CLOCK, {"time": "1999-12-31T23:00:00"}).status == Status.OUT_OF_RANGE


def test_flex_phase_follows_the_pump_clock(client):
    client.refill()
    client.write(flex([(1, "00:00", 5.0), (1, "06:00", 8.0)]))
    assert client.ok(Command.READ_STATUS)["cycle_phase_min"] == pytest.approx(8 * 60)  # activated at 08:00
    client.ok(Command.SET_CLOCK, {"time": "2026-03-02T23:15:00"})
    assert client.ok(Command.READ_STATUS)["cycle_phase_min"] == pytest.approx(23 * 60 + 15)


def test_a_multi_day_cycle_committed_mid_afternoon_starts_day_1_at_that_days_midnight(client):
    # Judged from the volumes delivered, not from the pump's own phase. The pump was made Monday
    # 2026-03-02 08:00 (its first anchor is Monday midnight); it is filled, then runs stopped 55 h to
    # Wednesday 2026-03-04 15:00, where a 3-day flex program is committed. Baclofen 500 mcg/mL: 1 mcg = 0.002 mL.
    #   day 1: 10 mcg/h from 00:00, 20 mcg/h from 12:00;   day 2: 30 mcg/h;   day 3: 40 mcg/h.
    # Day 1 must be Wednesday (from Wednesday 00:00), so 15:00 is in day 1's 12:00 step.
    client.refill(added_ml=20.0)
    assert client.ok(SERVICE, {"action": "advance", "hours": 55})["pump_time"] == "2026-03-04T15:00:00"
    client.write(flex([(1, "00:00", 10.0), (1, "12:00", 20.0), (2, "00:00", 30.0), (3, "00:00", 40.0)], cycle_days=3))

    def volume_after(hours: float) -> float:
        return client.ok(SERVICE, {"action": "advance", "hours": hours})["reservoir"]["volume_ml"]

    # Wed 15:00-23:00: 8 h x 20 = 160 mcg = 0.32 mL -> 19.68 mL. (Anchored at the commit instant it would be
    # day 1's 00:00 step, 10 mcg/h: 0.16 mL; anchored at Monday it would be day 3, 40 mcg/h: 0.64 mL.)
    assert volume_after(8) == pytest.approx(20.0 - 0.32, abs=1e-9)
    # Wed 23:00 - Thu 01:00: day 2 starts at Wednesday's next midnight: 1 h x 20 + 1 h x 30 = 50 mcg = 0.1 mL -> 19.58.
    assert volume_after(2) == pytest.approx(19.68 - 0.1, abs=1e-9)
    # Thu 01:00 - Fri 00:00: the rest of day 2, 23 h x 30 = 690 mcg = 1.38 mL -> 18.2 mL.
    assert volume_after(23) == pytest.approx(19.58 - 1.38, abs=1e-9)
    # Friday is day 3: 24 h x 40 = 960 mcg = 1.92 mL -> 16.28 mL.
    assert volume_after(24) == pytest.approx(18.2 - 1.92, abs=1e-9)
    # Saturday is day 1 again: 00:00-12:00 x 10 + 12:00-13:00 x 20 = 140 mcg = 0.28 mL -> 16.0 mL.
    status = client.ok(SERVICE, {"action": "advance", "hours": 13})
    assert status["reservoir"]["volume_ml"] == pytest.approx(16.28 - 0.28, abs=1e-9)
    assert status["pump_time"] == "2026-03-07T13:00:00"


# -- the answer cache --------------------------------------------------------------------------------


def test_a_repeated_seq_gets_the_cached_answer_and_does_not_act_again(client, pump):
    client.refill()
    client.write(simple(150))
    assert client.channel is not None
    clock = client.channel.seal(client.request(Command.SET_CLOCK, {"time": "2026-05-01T10:00:00"}))
    first = client.connection.handle(clock)
    # A resend (the same sealed bytes): the same sealed answer, unchanged, and the clock is set once.
    assert client.connection.handle(clock) is first
    client.ok(Command.SET_CLOCK, {"time": "2026-06-01T10:00:00"})
    # A late duplicate of the first SET_CLOCK after a newer frame: dropped unanswered, the clock not set back.
    assert client.connection.handle(clock) is None
    assert client.ok(Command.READ_STATUS)["pump_time"].startswith("2026-06-01")
    assert kinds(pump).count("clock_set") == 2
    assert [event.detail["reason"] for event in pump.state.events if event.kind == "frame_rejected"] == ["replayed"]
    # In a new session (HELLO), the old frame does not open at all: the keys are new.
    client.hello()
    assert client.connection.handle(clock) is None
    assert kinds(pump).count("clock_set") == 2


def test_an_insecure_pump_answers_a_repeated_seq_from_its_cache(pump):
    client = Client(Service(pump, insecure=True))
    clock = client.request(Command.SET_CLOCK, {"time": "2026-05-01T10:00:00"})
    first = client.connection.handle(clock)
    client.ok(Command.SET_CLOCK, {"time": "2026-06-01T10:00:00"})
    # A late duplicate of the first SET_CLOCK: answered from the cache, the clock is not set back.
    assert client.connection.handle(clock) is first
    assert client.ok(Command.READ_STATUS)["pump_time"].startswith("2026-06-01")
    assert kinds(pump).count("clock_set") == 2
    # An error answer is cached too; the same seq with another body is a new request.
    bad = Frame(clock.seq, Command.COMMIT_PROGRAM, 0, {"checksum": "0123456789abcdef"}, False)
    assert client.connection.handle(bad).status == Status.NOT_STAGED
    # HELLO empties the cache: a new client reusing the seq and body is answered afresh.
    client.ok(Command.HELLO, {"protocol": 1, "client": "again"})
    assert client.connection.handle(clock) is not first
    assert kinds(pump).count("clock_set") == 3


def test_program_activated_carries_both_programs_mean_daily_doses(client, pump):
    # From the emulator's own program (engine.mean_daily_dose, not the planner). After the first fill the
    # pump is stopped: 0 mcg/day before the first program.
    client.refill()
    client.write(simple(150))
    # A 2-day flex cycle: day 1 at 10 mcg/h (240 mcg), day 2 at 10 mcg/h until 06:00 then 30 mcg/h:
    # 60 + 18 x 30 = 600 mcg. Mean (240 + 600) / 2 = 420 mcg/day.
    client.write(flex([(1, "00:00", 10), (2, "00:00", 10), (2, "06:00", 30)], cycle_days=2))
    # The 4-step day of docs/protocol.md: 5x6 + 8x8 + 6x8 + 7x2 = 156 mcg/day.
    client.write(flex([(1, "00:00", 5), (1, "06:00", 8), (1, "14:00", 6), (1, "22:00", 7)]))
    details = [event.detail for event in pump.state.events if event.kind == "program_activated"]
    doses = [(d["previous_daily_dose"], d["previous_dose_unit"], d["daily_dose"], d["dose_unit"]) for d in details]
    assert doses == [(0.0, "mcg", 150.0, "mcg"), (150.0, "mcg", 420.0, "mcg"), (420.0, "mcg", 156.0, "mcg")]
    assert all(set(d) == {"checksum", "previous", "daily_dose", "dose_unit", "previous_daily_dose",
                          "previous_dose_unit"} for d in details)
