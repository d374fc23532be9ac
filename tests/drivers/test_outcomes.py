"""How the driver judges what a pump tells it, against a scripted pump that can misbehave on purpose.

The real emulator is a well-behaved pump; these are the answers it never gives: a staged checksum
that is not the program's, a commit that activates something else, a read-back whose document and
checksum disagree, malformed answers, pages too large for a frame. None of them may ever end in a
VERIFIED write or a silently wrong value.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from tests.support.emulator_fixtures import ScriptedPeer

from protocol import Command, Frame, Status
from drivers.serial_driver import SerialDriver
from programmer.errors import InputError, LinkError, PumpRefused
from programmer.outcome import Outcome
from programmer.program import Program, SimpleContinuous, program_from_data

BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
OLD = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                         "therapy": {"mode": "simple_continuous", "daily_dose": 150}})
NEW = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                         "therapy": {"mode": "simple_continuous", "daily_dose": 165}})
OTHER = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                           "therapy": {"mode": "simple_continuous", "daily_dose": 999}})
IDENTITY = {"model": "TEST", "serial": "TEST-0001", "firmware": "t", "capacity_ml": 20.0, "min_rate_ml_per_day": 0.048,
            "max_rate_ml_per_day": 24.0, "max_steps_per_day": 13, "max_cycle_days": 7, "event_log_size": 512}


class ScriptedPump:
    """Just enough pump for the driver: an active program, a staging slot and switches to misbehave."""

    def __init__(self, active: Program = OLD) -> None:
        self.active = active
        self.staged: Program | None = None
        self.stage_checksum: str | None = None
        """Answer STAGE with this checksum instead of the staged program's."""
        self.activate: Program | None = None
        """Activate this on COMMIT instead of the staged program."""
        self.claim_after_commit: str | None = None
        """After a COMMIT, READ_PROGRAM claims this checksum whatever it holds."""
        self.reported_checksum: str | None = None
        self.status_checksum: str | None = None
        """READ_STATUS claims this checksum whatever it holds."""
        self.answers: dict[int, tuple[Status, dict]] = {}
        """Fixed answers for other commands."""

    def __call__(self, request: Frame, peer: ScriptedPeer) -> None:
        if request.command in self.answers:
            status, payload = self.answers[request.command]
            peer.reply(request, payload, status)
        elif request.command == Command.READ_PROGRAM:
            peer.reply(request, {"drug": self.active.drug.model_dump(mode="json"),
                                 "therapy": self.active.therapy.model_dump(mode="json"),
                                 "checksum": self.reported_checksum or self.active.checksum()})
        elif request.command == Command.READ_STATUS:
            peer.reply(request, status_answer(self.status_checksum or self.active.checksum()))
        elif request.command == Command.STAGE_PROGRAM:
            self.staged = program_from_data(request.payload["program"])
            peer.reply(request, {"checksum": self.stage_checksum or self.staged.checksum()})
        elif request.command == Command.COMMIT_PROGRAM:
            self.active = self.activate or self.staged
            self.reported_checksum = self.claim_after_commit
            peer.reply(request, {"checksum": request.payload["checksum"], "already_active": False})
        elif request.command == Command.IDENTIFY:
            peer.reply(request, IDENTITY)


def status_answer(checksum: str, pump_time: str = "2026-01-02T03:04:05") -> dict:
    return {"pump_time": pump_time, "battery": {"status": "ok", "percent": 90.0},
            "reservoir": {"volume_ml": 10.0, "low_alarm_ml": 2.0, "capacity_ml": 20.0}, "alarms": [],
            "program_checksum": checksum, "cycle_phase_min": 0.0, "bolus": None}


@pytest.fixture
def scripted():
    peers: list[ScriptedPeer] = []
    drivers: list[SerialDriver] = []

    def start(pump: ScriptedPump, **options) -> tuple[SerialDriver, ScriptedPeer]:
        peer = ScriptedPeer(pump)
        peers.append(peer)
        driver = SerialDriver(peer.url, baudrate=115200, **options)
        drivers.append(driver)
        return driver, peer

    yield start
    for driver in drivers:
        driver.close()
    for peer in peers:
        peer.close()


def test_a_well_behaved_pump_gives_verified(scripted):
    driver, _ = scripted(ScriptedPump())
    outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.VERIFIED and outcome.active.program == NEW


def test_a_staged_checksum_that_is_not_the_programs_is_never_committed(scripted):
    pump = ScriptedPump()
    pump.stage_checksum = "0123456789abcdef"
    driver, peer = scripted(pump)
    outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.UNCHANGED
    assert outcome.staged_checksum == "0123456789abcdef" and outcome.active.program == OLD
    assert "not committed" in outcome.message
    assert peer.requests_for(Command.COMMIT_PROGRAM) == []


def test_a_pump_that_activates_something_else_is_a_mismatch(scripted):
    pump = ScriptedPump()
    pump.activate = OTHER
    driver, _ = scripted(pump)
    outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.MISMATCH
    assert outcome.active.program == OTHER and OTHER.checksum() in outcome.message


def test_status_must_agree_with_the_read_back_program_for_verified(scripted):
    pump = ScriptedPump()
    pump.status_checksum = OLD.checksum()
    driver, _ = scripted(pump)
    assert driver.write_program(NEW).status is Outcome.MISMATCH


def test_a_read_back_whose_document_and_checksum_disagree_is_uncertain(scripted):
    pump = ScriptedPump()
    driver, _ = scripted(pump)
    pump.activate = OLD
    pump.claim_after_commit = NEW.checksum()  # claims the new program while holding the old one
    outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.UNCERTAIN and outcome.active is None
    with pytest.raises(LinkError, match="read program: the pump reports checksum .* but its program's checksum is"):
        driver.read_program()


def test_a_refused_commit_is_settled_by_read_back(scripted):
    pump = ScriptedPump()
    pump.answers[Command.COMMIT_PROGRAM] = (Status.CHECKSUM_MISMATCH, {"error": "not the staged one", "field": "checksum"})
    driver, _ = scripted(pump)
    outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.UNCHANGED
    assert "CHECKSUM_MISMATCH" in outcome.message and outcome.active.program == OLD


def test_an_invalid_program_is_refused_before_anything_is_sent(scripted):
    driver, peer = scripted(ScriptedPump())
    with pytest.raises(InputError, match="expected a Program"):
        driver.write_program({"format": "itb-program/1"})  # type: ignore[arg-type]
    negative = SimpleContinuous.model_construct(mode="simple_continuous", daily_dose=-150.0)
    broken = Program.model_construct(format="itb-program/1", drug=NEW.drug, therapy=negative)
    with pytest.raises(InputError):
        driver.write_program(broken)
    assert [frame.command for _, frame in peer.requests] == [Command.HELLO]


def test_a_progress_callback_that_raises_cancels_only_before_staging(scripted):
    driver, peer = scripted(ScriptedPump())

    def cancel_at(step_name):
        def progress(step, fraction):
            if step == step_name:
                raise RuntimeError(f"cancelled at {step}")
        return progress

    with pytest.raises(RuntimeError, match="cancelled at read active program"):
        driver.write_program(NEW, progress=cancel_at("read active program"))
    assert peer.requests_for(Command.STAGE_PROGRAM) == []
    outcome = driver.write_program(NEW, progress=cancel_at("commit"))
    assert outcome.status is Outcome.VERIFIED


def test_other_statuses_become_pump_refused_with_name_message_and_field(scripted):
    pump = ScriptedPump()
    pump.answers[Command.SET_CLOCK] = (Status.OUT_OF_RANGE, {"error": "year 1999 is outside 2000..2099", "field": "time"})
    pump.answers[Command.BOLUS] = (Status.INTERNAL, {"error": "motor controller fault", "field": None})
    driver, _ = scripted(pump)
    with pytest.raises(PumpRefused) as refused:
        driver.set_clock(datetime(1999, 1, 1))
    assert (refused.value.status, refused.value.step, refused.value.field) == ("OUT_OF_RANGE", "set clock", "time")
    assert str(refused.value) == "pump refused (OUT_OF_RANGE): set clock: year 1999 is outside 2000..2099"
    with pytest.raises(PumpRefused) as failed:
        driver.bolus("b-1", 10.0, 10.0)
    assert (failed.value.status, failed.value.step, failed.value.field) == ("INTERNAL", "bolus", None)
    assert "may or may not have acted" in str(failed.value)


@pytest.mark.parametrize("broken, problem", [
    ({k: v for k, v in IDENTITY.items() if k != "capacity_ml"}, "capacity_ml is missing"),
    ({**IDENTITY, "capacity_ml": "20"}, "capacity_ml is '20', not a number"),
    ({**IDENTITY, "max_cycle_days": True}, "max_cycle_days is True, not an integer"),
    ({**IDENTITY, "event_log_size": 512.0}, "event_log_size is 512.0, not an integer"),
])
def test_a_malformed_answer_is_a_link_error_naming_the_field(scripted, broken, problem):
    pump = ScriptedPump()
    pump.answers[Command.IDENTIFY] = (Status.OK, broken)
    driver, _ = scripted(pump)
    with pytest.raises(LinkError, match=f"^identify: the pump's answer is malformed: {problem}$") as failed:
        driver.identify()
    assert (failed.value.step, failed.value.field) == ("identify", problem.split()[0])


def test_status_fields_are_checked_down_to_nested_ones(scripted):
    pump = ScriptedPump()
    pump.answers[Command.READ_STATUS] = (Status.OK, {**status_answer(OLD.checksum()),
                                                     "battery": {"status": "dying", "percent": 1.0}})
    driver, _ = scripted(pump)
    with pytest.raises(LinkError, match=r"battery\.status is 'dying', not one of ok, eri, eos") as failed:
        driver.read_status()
    assert (failed.value.step, failed.value.field) == ("read status", "battery.status")
    pump.answers[Command.READ_STATUS] = (Status.OK, status_answer(OLD.checksum(), pump_time="2026-01-02T03:04:05+01:00"))
    with pytest.raises(LinkError, match="pump_time .* not an ISO 8601 local time without offset"):
        driver.read_status()


def test_event_pages_too_large_for_a_frame_are_asked_for_in_smaller_pieces(scripted):
    total, first = 530, 530 - IDENTITY["event_log_size"]
    asked: list[tuple[int, int]] = []

    def events(request, peer):
        start, count = request.payload["start"], request.payload["count"]
        asked.append((start, count))
        if count > 8:
            peer.reply(request, {"error": "too large", "field": "count"}, Status.FRAME_TOO_LARGE)
            return
        page = [{"index": index, "time": "2026-01-01T00:00:00", "kind": "refill", "detail": {}}
                for index in range(max(start, first), min(start + count, total))]
        peer.reply(request, {"total": total, "events": page})

    pump = ScriptedPump()
    driver, peer = scripted(pump)
    peer.handler = lambda request, peer: events(request, peer) if request.command == Command.READ_EVENTS else pump(request, peer)
    progress: list[float] = []
    result = driver.read_events(progress=lambda step, fraction: progress.append(fraction))
    assert [event.index for event in result] == list(range(first, total))
    assert asked[:3] == [(0, 0), (first, 16), (first, 8)]
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_set_clock_sends_local_time_to_the_second_and_returns_the_clock_read_back(scripted):
    pump = ScriptedPump()
    pump.answers[Command.SET_CLOCK] = (Status.OK, {"pump_time": "2026-01-02T03:04:05"})
    driver, peer = scripted(pump)
    assert driver.set_clock(datetime(2026, 1, 2, 3, 4, 5, 678000)) == datetime(2026, 1, 2, 3, 4, 5)
    aware = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5)))
    driver.set_clock(aware)
    sent = [frame.payload["time"] for frame in peer.requests_for(Command.SET_CLOCK)]
    assert sent == ["2026-01-02T03:04:05", aware.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")]


def test_cancel_bolus_reports_the_dose_delivered_and_its_volume(scripted):
    pump = ScriptedPump()
    pump.answers[Command.CANCEL_BOLUS] = (Status.OK, {"bolus_id": "b-1", "delivered": 12.5, "state": "cancelled"})
    driver, _ = scripted(pump)
    outcome = driver.cancel_bolus("b-1")
    assert (outcome.bolus_id, outcome.dose, outcome.volume_ml, outcome.state, outcome.repeated) == (
        "b-1", 12.5, 0.025, "cancelled", False)
