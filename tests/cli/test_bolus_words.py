"""The bolus family's words in process against the in-memory pump (tests/support/fake_pump.py): units on every
figure and the PORT given in every command suggested (docs/cli.md). Quick: no emulator process."""

from __future__ import annotations

import pytest

from programmer.cli.support import EXIT_REFUSED
from tests.support.cli_runs import DOCTOR, run

PORT = "socket://pump.test:7001"
"""Any PORT: the ``in_memory_pump`` fixture (tests/cli/conftest.py) answers it."""




def test_a_bridge_with_nothing_to_bridge_says_so_without_an_old_drug_of_0_per_ml(capsys, in_memory_pump):
    code, out, _ = run(capsys, "bridge", PORT, *DOCTOR, "--yes")
    assert code == EXIT_REFUSED
    assert "Bridge        nothing to bridge" in out
    assert "of the old 0 mcg/mL" not in out and "over unknown" not in out


def test_a_bolus_while_one_runs_names_the_port_given_and_the_units(capsys, in_memory_pump):
    in_memory_pump.bolus("b-1", 60.0, 30.0)
    code, _, err = run(capsys, "bolus", PORT, "--dose", "5", "--duration-min", "30", *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "BOLUS_RUNNING" in err
    assert f"cancel-bolus {PORT} --yes" in err and "cancel-bolus PORT" not in err
