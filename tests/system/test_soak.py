"""Fault soak: writes and boluses through a link that drops, corrupts, delays, duplicates, answers BUSY
and hangs up, checked against the emulator's own memory (its state file) after every call.

The default run makes 40 of each, which takes seconds; ``benchmarks/fault_soak.py`` runs this same test
with 100 of each (``ITB_SOAK_WRITES``), the length it was first written for.

What must hold, whatever the link does (issue 3):
- every write the driver reports VERIFIED is the program the pump runs; UNCHANGED means the old one
  still runs; UNCERTAIN means one of the two; MISMATCH never happens here (nobody else writes);
- the pump never runs anything but the old or the new program, and never changes between calls;
- every bolus id is delivered exactly once, however often its request or answer was lost or repeated.

The state file is the ground truth: the emulator saves it atomically before any answer leaves.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter

import pytest
from tests.support.emulator_fixtures import LOOPBACK_LINK

from programmer.errors import LinkError
from programmer.outcome import Outcome
from programmer.port import open_driver
from programmer.program import Drug, program_from_data

SEED = 20261128
SPEED = 6000  # simulated seconds per real second: a 1-minute bolus runs for 10 ms
FAULTS = f"seed={SEED},drop=0.02,corrupt=0.02,duplicate=0.02,busy=0.02,delay=0.02:0.05,disconnect=0.005"
WRITES = int(os.environ.get("ITB_SOAK_WRITES", "40"))
"""Writes, each followed by a bolus. At most about 120: the ITB-40's 512-event log must hold every bolus."""
BOLUSES = WRITES
ATTEMPTS = 12  # per operation, for calls that fail before they act (link errors, BUSY after retries)
BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
DOSES = [120, 130, 140, 150, 160, 170]  # mcg/day, all within the drug library's soft band


def program(daily_dose: float):
    return program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                              "therapy": {"mode": "simple_continuous", "daily_dose": daily_dose}})


def pump_memory(state_path) -> dict:
    return json.loads(state_path.read_text(encoding="utf-8"))


def retry(call, what: str):
    """Run ``call`` until the link lets it through."""
    for _ in range(ATTEMPTS):
        try:
            return call()
        except LinkError:
            continue
    pytest.fail(f"{what}: no answer in {ATTEMPTS} attempts")


def wait_for_no_bolus(driver, what: str) -> None:
    """Wait until the pump reports no running bolus (the pump refuses a second one meanwhile), for as
    long as it says the running one still needs on its clock: asked again after each such wait."""
    for _ in range(ATTEMPTS):
        bolus = retry(driver.read_status, what).bolus
        if bolus is None:
            return
        time.sleep(bolus.remaining_s / SPEED)
    pytest.fail(f"{what}: a bolus still runs after {ATTEMPTS} waits for its end")


@pytest.mark.slow  # waits out the link's timeouts on every frame it loses on purpose
def test_fault_soak_never_leaves_the_pump_in_a_state_nobody_chose(start_emulator):
    emulator = start_emulator("--faults", FAULTS, "--speed", str(SPEED), "--model", "ITB-40")
    rng = random.Random(SEED)
    trace: list[str] = []
    outcomes: Counter = Counter()
    repeated = 0
    # A loopback link is fast: a high nominal baud rate and a short turnaround keep the timeouts short.
    driver = retry(lambda: open_driver(emulator.url, trace=trace.append, baudrate=1_000_000, **LOOPBACK_LINK), "open")
    try:
        retry(lambda: driver.refill("fill-1", 0.0, 40.0, Drug.model_validate(BACLOFEN)), "refill")
        truth = pump_memory(emulator.state)["program_checksum"]
        for index in range(WRITES):
            assert pump_memory(emulator.state)["program_checksum"] == truth, "the program changed between calls"
            new = program(rng.choice([dose for dose in DOSES if program(dose).checksum() != truth]))
            old = truth
            outcome = retry(lambda: driver.write_program(new), f"write {index}")
            truth = pump_memory(emulator.state)["program_checksum"]
            outcomes[outcome.status] += 1
            assert truth in (old, new.checksum()), f"write {index}: the pump runs a third program"
            if outcome.status is Outcome.VERIFIED:
                assert truth == new.checksum() and outcome.active.checksum == truth
            elif outcome.status is Outcome.UNCHANGED:
                assert truth == old and outcome.active.checksum == old
            else:
                assert outcome.status is Outcome.UNCERTAIN, f"write {index}: {outcome.status} {outcome.message}"
            if index < BOLUSES:
                wait_for_no_bolus(driver, f"bolus {index}")
                answer = retry(lambda: driver.bolus(f"soak-{index}", 0.5, 1.0), f"bolus {index}")
                assert answer.bolus_id == f"soak-{index}"
                repeated += answer.repeated
    finally:
        driver.close()

    memory = pump_memory(emulator.state)
    started = Counter(event["detail"]["bolus_id"] for event in memory["events"] if event["kind"] == "bolus_started")
    assert memory["events"][0]["index"] == 0, "the event log overflowed: the soak cannot see every bolus"
    assert started == Counter({f"soak-{index}": 1 for index in range(BOLUSES)})
    resends = sum(" resend" in line for line in trace)
    print(f"\nsoak: {dict((k.value, v) for k, v in outcomes.items())}, {resends} resends, "
          f"{repeated} repeated bolus answers")
    assert resends > 0, "no fault reached the driver: the soak proved nothing"
    assert outcomes[Outcome.VERIFIED] > WRITES // 2
