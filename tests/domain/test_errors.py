"""The programmer's error family: one root, four kinds, each naming its step and (where one applies) its field.

The raise sites are real ones (a program file, the audit log, the pump's limits, a pump's refusal and its
answers are in tests/drivers/test_outcomes.py and tests/drivers/test_os_errors.py); the messages are the
ones users read, so they are pinned word for word.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.support.fake_pump import BACLOFEN_500, FakePump, baclofen
from programmer.audit import AuditLog
from programmer.errors import AuditError, ErrorKind, InputError, LinkError, ProgrammerError, PumpRefused
from programmer.interrogation import read_pump
from programmer.program import load_program
from programmer.refill import RefillRequest, Syringe


def test_every_kind_has_one_class_under_one_root():
    classes = {LinkError: ErrorKind.LINK, PumpRefused: ErrorKind.REFUSED, InputError: ErrorKind.INPUT,
               AuditError: ErrorKind.AUDIT}
    assert all(issubclass(cls, ProgrammerError) and cls.kind is kind for cls, kind in classes.items())
    assert set(classes.values()) == set(ErrorKind)


def test_a_program_file_with_a_bad_value_is_an_input_error_naming_its_field(tmp_path):
    path = tmp_path / "program.json"
    path.write_text(json.dumps({"format": "itb-program/1",
                                "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
                                "therapy": {"mode": "simple_continuous", "daily_dose": "150"}}))
    with pytest.raises(InputError) as failed:
        load_program(path)
    error = failed.value
    assert (error.kind, error.step, error.field) == (ErrorKind.INPUT, "check input", "therapy.daily_dose")
    assert str(error) == f"{path}: therapy.daily_dose: Input should be a valid number (got '150')"


def test_an_input_error_names_the_field_of_its_first_problem_and_none_when_there_is_none(tmp_path):
    with pytest.raises(InputError) as failed:
        RefillRequest(-1.0, float("nan"), Syringe(BACLOFEN_500, "BX2291", date(2099, 12, 31)))
    assert failed.value.field == "withdrawn_ml"
    assert str(failed.value) == ("withdrawn_ml: -1.0 mL is not a volume (a finite number, 0 or more); "
                                 "added_ml: nan mL is not a volume (a finite number, 0 or more)")
    path = tmp_path / "program.json"
    path.write_text("{")
    with pytest.raises(InputError) as failed:
        load_program(path)
    assert failed.value.field is None
    assert str(failed.value) == (f"{path}: not valid JSON: Expecting property name enclosed in double quotes at "
                                 "line 1 column 2")


def test_an_audit_log_that_cannot_take_a_record_is_an_audit_error_naming_the_step(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    log.path.unlink()
    log.path.mkdir()  # appending to a directory fails
    with pytest.raises(AuditError) as failed:
        log.append({"event": "attempt"})
    assert (failed.value.kind, failed.value.step, failed.value.field) == (ErrorKind.AUDIT, "append to audit log", None)
    assert str(failed.value) == f"cannot write the audit log {log.path}: Is a directory"


def test_figures_a_pump_cannot_have_are_a_link_error_naming_the_field():
    with pytest.raises(LinkError) as failed:
        read_pump(FakePump(baclofen(), max_steps_per_day=0))
    assert (failed.value.kind, failed.value.step, failed.value.field) == (ErrorKind.LINK, "interrogate",
                                                                           "max_steps_per_day")
    assert str(failed.value) == ("the pump reported figures that cannot be true (Input should be greater than or "
                                 "equal to 1); nothing was changed")
