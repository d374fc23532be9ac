"""``cancel-bolus`` in process against the in-memory pump (tests/support/fake_pump.py): the cancel is audited, says
the bolus's kind and mL as the pump reports them, and a cancelled bridge says what old drug is left and how to resume
it (docs/cli.md). Quick: no emulator process."""

from __future__ import annotations

import json

import pytest

from programmer.audit import read_audit_log
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from programmer.program import Drug
from tests.support.cli_runs import DOCTOR, run

LINE_ML = 0.306
"""A 60 cm catheter and 0.15 mL of tubing."""

PORT = "socket://pump.test:7001"
"""Any PORT: the ``in_memory_pump`` fixture (tests/cli/conftest.py) answers it."""


@pytest.fixture
def bridging(in_memory_pump):
    """A pump refilled from 500 to 50 mcg/mL bridging its line's 0.306 mL of the old drug (bolus ``b-6``)."""
    in_memory_pump.refill("r-1", 10.0, 18.0, Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=50))
    in_memory_pump.bridge("b-6", LINE_ML, 500.0)
    return in_memory_pump


def test_a_cancelled_bridge_says_it_was_a_bridge_what_is_left_and_how_to_resume(capsys, bridging, audit_log):
    code, out, err = run(capsys, "cancel-bolus", PORT, *DOCTOR, "--yes")
    assert code == EXIT_OK, err
    assert "bridge bolus b-6 cancelled" in out and "therapeutic" not in out
    assert "0.306 mL of the old 500 mcg/mL drug" in out and "resume it with `bridge`" in out
    assert [(r["action"], r["event"]) for r in read_audit_log(audit_log)] == [("cancel_bolus", "attempt"),
                                                                            ("cancel_bolus", "outcome")]


def test_cancel_json_has_the_pumps_kind_and_ml(capsys, bridging):
    code, out, _ = run(capsys, "cancel-bolus", PORT, "--bolus-id", "b-6", *DOCTOR, "--yes", "--json")
    result = json.loads(out)
    assert code == EXIT_OK and (result["outcome"], result["bolus_id"], result["kind"], result["state"]) == (
        "verified", "b-6", "bridge", "cancelled")
    assert result["dose_unit"] == "mcg" and result["status_command"] == f"pump-programmer bolus-status {PORT} " \
                                                                        "--bolus-id b-6"


def test_a_cancel_is_the_signed_in_users_and_with_nothing_running_sends_nothing(capsys, bridging):
    code, _, err = run(capsys, "cancel-bolus", PORT, "--clinician", "Dr Ng", "--yes")
    assert code == EXIT_REFUSED and "--clinician 'Dr Ng' is not the signed-in user, Dr A. Osei (osei)" in err
    assert bridging.read_status().bolus is not None  # nothing was sent: the bridge goes on
    run(capsys, "cancel-bolus", PORT, *DOCTOR, "--yes")
    code, out, err = run(capsys, "cancel-bolus", PORT, *DOCTOR, "--yes")
    assert (code, out) == (EXIT_REFUSED, "") and "no bolus is running" in err
