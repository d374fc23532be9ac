"""The reliability benchmarks' short runs: the same code as benchmarks/fault_soak_at_scale.py (10,000 writes and
boluses under faults) and benchmarks/kill_during_commit.py (100 SIGKILLs during commits), on the suite's emulators, a
few rounds each. The full runs print the figures docs and README quote."""

from __future__ import annotations

from benchmarks.fault_soak_at_scale import FAULTS, SPEED, soak
from benchmarks.kill_during_commit import kill_rounds
from tests.support.emulator_fixtures import LOOPBACK_LINK


def test_a_short_soak_under_faults_breaks_no_rule(start_emulator):
    emulator = start_emulator("--model", "ITB-40", "--speed", str(SPEED), "--faults", f"seed=11,{FAULTS}")
    report = soak(emulator.url, emulator.state, 4, 11, {**LOOPBACK_LINK, "baudrate": 1_000_000, "turnaround_s": 0.05})
    assert (report.writes, report.boluses, report.refills) == (4, 4, 1)
    assert report.failures == [] and report.broken == 0
    assert sum(report.outcomes.values()) == 4


def test_a_few_kills_during_commits_leave_the_pump_consistent(start_emulator, tmp_path):
    state = tmp_path / "killed-pump.json"

    def start():
        emulator = start_emulator(state=state)
        return emulator.url, emulator.kill

    report = kill_rounds(start, state, 3, 5, {})
    assert report.kills == report.consistent == 3 and report.failures == []
    assert report.left_new + report.left_old == 3 and sum(report.write_ended.values()) == 3
