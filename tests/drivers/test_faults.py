"""The driver on a bad link: retries that provably happen, and writes whose outcome is read back.

Two ways to break the link, both on loopback: the emulator's own seeded ``--faults`` (frames dropped,
corrupted, answered BUSY, cut mid-frame with the connection closed), and ``FrameProxy``, which loses
exactly the frame a test names (the answer to a commit, say). Under every fault the rule is the same:
what the driver reports is what the pump holds, and VERIFIED only ever follows a matching read-back.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from tests.support.emulator_fixtures import LOOPBACK_LINK, FrameProxy

from protocol import Command, Status
from programmer.errors import LinkError
from programmer.outcome import Outcome
from programmer.port import open_driver
from programmer.program import Drug, program_from_data

FAST = {"baudrate": 1_000_000, **LOOPBACK_LINK}
"""Driver options for loopback: a high line rate and a short turnaround and backoff keep fault tests quick."""
BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
OLD = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                         "therapy": {"mode": "simple_continuous", "daily_dose": 150}})
NEW = program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                         "therapy": {"mode": "simple_continuous", "daily_dose": 165}})


def answered(call: Callable, attempts: int = 3):
    """Call until the link delivers an answer, as a user pressing "retry" would. Only safe because
    every call used here is idempotent (reads, id-carrying actions, verified writes)."""
    for attempt in range(attempts):
        try:
            return call()
        except LinkError:
            if attempt == attempts - 1:
                raise


def resent_seqs(lines: list[str]) -> set[int]:
    """Seqs that went out more than once: a resend repeats its request's seq."""
    sent = [int(match.group(1)) for line in lines if (match := re.search(r" TX seq=(\d+) ", line))]
    return {seq for seq in sent if sent.count(seq) > 1}


@pytest.mark.slow  # each link loses, delays or refuses frames until the driver has resent enough
@pytest.mark.parametrize("faults", ["seed=11,drop=0.08,corrupt=0.08", "seed=5,busy=0.3", "seed=3,disconnect=0.1"])
def test_results_stay_right_on_a_faulty_link_and_resends_happen(start_emulator, faults):
    emulator = start_emulator("--faults", faults)
    lines: list[str] = []
    driver = answered(lambda: open_driver(emulator.url, trace=lines.append, **FAST))
    try:
        answered(lambda: driver.refill("r-1", 0.0, 18.0, Drug.model_validate(BACLOFEN)))
        for program in (OLD, NEW, OLD):
            outcome = answered(lambda: driver.write_program(program))  # raises only before staging
            assert outcome.status in (Outcome.VERIFIED, Outcome.UNCHANGED, Outcome.UNCERTAIN)
            if outcome.status is Outcome.VERIFIED:
                assert answered(driver.read_program).program == program
        for _ in range(2):
            bolus = answered(lambda: driver.bolus("b-1", 25.0, 30.0))
            assert (bolus.bolus_id, bolus.dose, bolus.volume_ml) == ("b-1", 25.0, pytest.approx(0.05))
        for _ in range(5):
            assert answered(driver.identify).capacity_ml == 20.0
            assert answered(driver.read_status).bolus.bolus_id == "b-1"
        events = answered(driver.read_events)
        assert [event.kind for event in events].count("bolus_started") == 1
        assert [event.kind for event in events].count("refill") == 1
    finally:
        driver.close()
    if "busy" in faults:
        assert any("FRAME" in line and " BUSY " in line for line in lines)
    elif "disconnect" in faults:
        assert sum(" NOTE opening " in line for line in lines) > 1  # reconnected after a cut
    else:
        assert resent_seqs(lines), "no request was ever resent"
        assert any(" TX seq=" in line and " resend: " in line for line in lines)


@pytest.fixture
def proxied(start_emulator):
    """An emulator holding OLD, reached through a FrameProxy whose filter a test sets."""
    emulator = start_emulator()
    with open_driver(emulator.url) as driver:
        driver.refill("r-1", 0.0, 18.0, Drug.model_validate(BACLOFEN))
        assert driver.write_program(OLD).status is Outcome.VERIFIED
    proxy = FrameProxy(emulator.url, lambda direction, frame, wire: wire)
    yield emulator, proxy
    proxy.close()


def pump_runs(emulator) -> object:
    """What the pump runs, read over a clean link straight to the emulator."""
    with open_driver(emulator.url) as driver:
        return driver.read_program().program


def is_answer(frame, command: Command) -> bool:
    return frame is not None and frame.is_response and frame.command == command


def test_a_lost_commit_answer_ends_verified_by_read_back(proxied):
    emulator, proxy = proxied
    commits: list[int] = []

    def lose_commit_answers(direction, frame, wire):
        if direction == "to_pump" and frame is not None and frame.command == Command.COMMIT_PROGRAM:
            commits.append(frame.seq)
        return b"" if is_answer(frame, Command.COMMIT_PROGRAM) else wire

    proxy.frame_filter = lose_commit_answers
    with open_driver(proxy.url, **FAST) as driver:
        outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.VERIFIED, outcome.message
    assert "commit failed" in outcome.message and "no answer after 4 tries" in outcome.message
    assert outcome.active.program == NEW
    assert len(commits) == 4 and len(set(commits)) == 1  # the same seq resent
    assert pump_runs(emulator) == NEW


def test_a_commit_that_never_arrives_ends_unchanged(proxied):
    emulator, proxy = proxied
    proxy.frame_filter = lambda direction, frame, wire: (
        b"" if direction == "to_pump" and frame is not None and frame.command == Command.COMMIT_PROGRAM else wire)
    with open_driver(proxy.url, max_retries=1, **FAST) as driver:
        outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.UNCHANGED, outcome.message
    assert outcome.active.program == OLD and outcome.staged_checksum == NEW.checksum()
    assert pump_runs(emulator) == OLD


def test_a_link_cut_at_the_commit_answer_reconnects_and_ends_verified(proxied):
    emulator, proxy = proxied
    cut: list[bool] = []

    def cut_once(direction, frame, wire):
        if is_answer(frame, Command.COMMIT_PROGRAM) and not cut:
            cut.append(True)
            return None  # the proxy hangs up instead of passing the answer on
        return wire

    proxy.frame_filter = cut_once
    with open_driver(proxy.url, **FAST) as driver:
        outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.VERIFIED, outcome.message
    assert proxy.connections == 2
    assert pump_runs(emulator) == NEW


def test_a_link_that_dies_after_the_commit_ends_uncertain_never_verified(proxied):
    emulator, proxy = proxied
    committed: list[bool] = []

    def silence_after_commit(direction, frame, wire):
        if direction == "to_pump" and frame is not None and frame.command == Command.COMMIT_PROGRAM:
            committed.append(True)
        return b"" if committed and direction == "to_client" else wire

    proxy.frame_filter = silence_after_commit
    with open_driver(proxy.url, max_retries=1, **FAST) as driver:
        outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.UNCERTAIN, outcome.message
    assert outcome.active is None
    assert OLD.checksum() in outcome.message and NEW.checksum() in outcome.message
    assert pump_runs(emulator) == NEW  # the pump did switch: only a read-back could have said so


def test_a_lost_stage_answer_is_settled_by_read_back_as_unchanged(proxied):
    emulator, proxy = proxied
    proxy.frame_filter = lambda direction, frame, wire: b"" if is_answer(frame, Command.STAGE_PROGRAM) else wire
    with open_driver(proxy.url, max_retries=1, **FAST) as driver:
        outcome = driver.write_program(NEW)
    assert outcome.status is Outcome.UNCHANGED, outcome.message
    assert "staging did not complete" in outcome.message
    assert pump_runs(emulator) == OLD


def test_a_lost_bolus_answer_is_resolved_by_resending_the_same_request(proxied):
    emulator, proxy = proxied
    lost: list[bool] = []

    def lose_first_bolus_answer(direction, frame, wire):
        if is_answer(frame, Command.BOLUS) and frame.status == Status.OK and not lost:
            lost.append(True)
            return b""
        return wire

    proxy.frame_filter = lose_first_bolus_answer
    with open_driver(proxy.url, **FAST) as driver:
        bolus = driver.bolus("b-lost", 25.0, 30.0)
        assert (bolus.bolus_id, bolus.state) == ("b-lost", "delivering")
        again = driver.bolus("b-lost", 25.0, 30.0)  # the caller retrying after, say, a crash
        assert again.repeated
        started = [event for event in driver.read_events() if event.kind == "bolus_started"]
    assert lost and [event.detail["bolus_id"] for event in started] == ["b-lost"]


def test_a_prime_whose_answers_are_all_lost_is_found_by_bolus_status_and_never_started_twice(proxied):
    # 0.15 mL of tubing and 60 cm of catheter at 0.0026 mL/cm: 0.306 mL. Every answer to the BOLUS is lost, so the
    # driver's resends (the same request) all go unanswered: whether it started is unknown, and BOLUS_STATUS, which
    # never acts, tells. A second prime under the same id is the first one's answer, repeated.
    emulator, proxy = proxied
    proxy.frame_filter = lambda direction, frame, wire: b"" if is_answer(frame, Command.BOLUS) else wire
    with open_driver(proxy.url, max_retries=1, **FAST) as driver:
        with pytest.raises(LinkError):
            driver.prime("b-prime", 60.0, 0.306, "implant")
        known = driver.bolus_status("b-prime")
    assert (known.bolus_id, known.kind, known.state) == ("b-prime", "prime", "delivering")
    assert known.volume_ml == pytest.approx(0.306)
    with open_driver(emulator.url) as driver:
        assert driver.prime("b-prime", 60.0, 0.306, "implant").repeated
        started = [event.detail for event in driver.read_events() if event.kind == "bolus_started"]
    assert [(detail["bolus_id"], detail["kind"]) for detail in started] == [("b-prime", "prime")]
