"""The program document ``itb-program/1``: examples load, every kind of bad file is an InputError naming the
field, save/load round-trips, the checksum is canonical, and ``pump-programmer schema`` is valid JSON."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from programmer.cli.main import main
from programmer.errors import InputError
from programmer.program import (
    Drug,
    Flex,
    Program,
    SimpleContinuous,
    Stopped,
    load_program,
    program_from_data,
    save_program,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))

SIMPLE = {
    "format": "itb-program/1",
    "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
    "therapy": {"mode": "simple_continuous", "daily_dose": 150},
}
FLEX = {
    "format": "itb-program/1",
    "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
    "therapy": {
        "mode": "flex",
        "cycle_days": 2,
        "steps": [
            {"day": 1, "start": "00:00", "dose_per_hour": 5.0},
            {"day": 1, "start": "06:00", "dose_per_hour": 8.0},
            {"day": 2, "start": "12:30", "dose_per_hour": 6.0},
        ],
    },
}


def write(tmp_path: Path, data: object, name: str = "program.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def load_error(tmp_path: Path, data: object) -> InputError:
    with pytest.raises(InputError) as info:
        load_program(write(tmp_path, data))
    return info.value


def mutated(base: dict, *path_and_value) -> dict:
    """A deep copy of ``base`` with the value at ``path`` (a tuple of keys/indexes) replaced."""
    *path, value = path_and_value
    data = copy.deepcopy(base)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def flex_with_steps(steps: list[dict], cycle_days: int = 1) -> dict:
    return mutated(FLEX, "therapy", {"mode": "flex", "cycle_days": cycle_days, "steps": steps})


# --- examples -------------------------------------------------------------------------------------------


def test_there_are_four_examples():
    names = {path.name for path in EXAMPLES}
    assert {"baclofen-simple.json", "baclofen-flex-day.json", "baclofen-flex-week.json",
            "morphine-simple.json"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load(path: Path):
    program = load_program(path)
    assert program.format == "itb-program/1"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert program.drug.name == raw["drug"]["name"]
    assert program.therapy.mode == raw["therapy"]["mode"]


def test_example_modes_and_units():
    simple = load_program(ROOT / "examples/baclofen-simple.json")
    assert isinstance(simple.therapy, SimpleContinuous) and simple.therapy.daily_dose == 150
    morphine = load_program(ROOT / "examples/morphine-simple.json")
    assert morphine.drug.dose_unit == "mg"
    day = load_program(ROOT / "examples/baclofen-flex-day.json")
    assert isinstance(day.therapy, Flex) and len(day.therapy.steps) == 4 and day.therapy.cycle_days == 1
    week = load_program(ROOT / "examples/baclofen-flex-week.json")
    assert isinstance(week.therapy, Flex) and week.therapy.cycle_days == 7


def test_stopped_and_default_flex_day():
    stopped = program_from_data(mutated(SIMPLE, "therapy", {"mode": "stopped"}))
    assert isinstance(stopped.therapy, Stopped)
    # "day" defaults to 1 and "cycle_days" to 1.
    program = program_from_data(mutated(SIMPLE, "therapy", {"mode": "flex", "steps": [
        {"start": "00:00", "dose_per_hour": 5}, {"start": "23:59", "dose_per_hour": 6}]}))
    assert program.therapy.cycle_days == 1
    assert [step.day for step in program.therapy.steps] == [1, 1]
    # 23:59 is 23 * 60 + 59 = 1439 minutes into the cycle.
    assert program.therapy.steps[1].offset_minutes == 1439


def test_offset_minutes_on_later_days():
    program = program_from_data(FLEX)
    # day 2 12:30 -> (2 - 1) * 1440 + 12 * 60 + 30 = 2190 minutes.
    assert [s.offset_minutes for s in program.therapy.steps] == [0, 360, 2190]


# --- bad documents: the message names the field ---------------------------------------------------------

BAD_DOCUMENTS = {
    # unknown field at each level
    "unknown top-level": (mutated(SIMPLE, "colour", "red"), "colour"),
    "unknown in drug": (mutated(SIMPLE, "drug", "brand", "Lioresal"), "drug.brand"),
    "unknown in simple therapy": (mutated(SIMPLE, "therapy", "rate", 1), "therapy.rate"),
    "unknown in stopped therapy": (mutated(SIMPLE, "therapy", {"mode": "stopped", "reason": "x"}), "therapy.reason"),
    "unknown in flex therapy": (mutated(FLEX, "therapy", "bolus", 1), "therapy.bolus"),
    "unknown in a flex step": (mutated(FLEX, "therapy", "steps", 1, "note", "x"), "therapy.steps[1].note"),
    # wrong types
    "string concentration": (mutated(SIMPLE, "drug", "concentration_per_ml", "500"), "drug.concentration_per_ml"),
    "string daily dose": (mutated(SIMPLE, "therapy", "daily_dose", "150"), "therapy.daily_dose"),
    "bool daily dose": (mutated(SIMPLE, "therapy", "daily_dose", True), "therapy.daily_dose"),
    "bool concentration": (mutated(SIMPLE, "drug", "concentration_per_ml", True), "drug.concentration_per_ml"),
    "float day": (mutated(FLEX, "therapy", "steps", 1, "day", 1.0), "therapy.steps[1].day"),
    "bool day": (mutated(FLEX, "therapy", "steps", 1, "day", True), "therapy.steps[1].day"),
    "float cycle_days": (mutated(FLEX, "therapy", "cycle_days", 2.0), "therapy.cycle_days"),
    "string dose_per_hour": (mutated(FLEX, "therapy", "steps", 0, "dose_per_hour", "5"),
                             "therapy.steps[0].dose_per_hour"),
    "number as start": (mutated(FLEX, "therapy", "steps", 1, "start", 600), "therapy.steps[1].start"),
    "number as drug name": (mutated(SIMPLE, "drug", "name", 7), "drug.name"),
    "drug is a list": (mutated(SIMPLE, "drug", ["baclofen"]), "drug"),
    # non-positive numbers
    "zero concentration": (mutated(SIMPLE, "drug", "concentration_per_ml", 0), "drug.concentration_per_ml"),
    "negative concentration": (mutated(SIMPLE, "drug", "concentration_per_ml", -500), "drug.concentration_per_ml"),
    "zero daily dose": (mutated(SIMPLE, "therapy", "daily_dose", 0), "therapy.daily_dose"),
    "negative daily dose": (mutated(SIMPLE, "therapy", "daily_dose", -1.5), "therapy.daily_dose"),
    "zero dose_per_hour": (mutated(FLEX, "therapy", "steps", 2, "dose_per_hour", 0), "therapy.steps[2].dose_per_hour"),
    "negative dose_per_hour": (mutated(FLEX, "therapy", "steps", 0, "dose_per_hour", -5),
                               "therapy.steps[0].dose_per_hour"),
    # enumerations
    "dose unit ug": (mutated(SIMPLE, "drug", "dose_unit", "ug"), "drug.dose_unit"),
    "dose unit g": (mutated(SIMPLE, "drug", "dose_unit", "g"), "drug.dose_unit"),
    "dose unit MCG": (mutated(SIMPLE, "drug", "dose_unit", "MCG"), "drug.dose_unit"),
    "unknown mode": (mutated(SIMPLE, "therapy", "mode", "bolus_only"), "therapy"),
    "missing mode": (mutated(SIMPLE, "therapy", {"daily_dose": 150}), "therapy"),
    "wrong format": (mutated(SIMPLE, "format", "itb-program/2"), "format"),
    # missing fields
    "missing drug": ({k: v for k, v in SIMPLE.items() if k != "drug"}, "drug"),
    "missing daily dose": (mutated(SIMPLE, "therapy", {"mode": "simple_continuous"}), "therapy.daily_dose"),
    "missing concentration": (mutated(SIMPLE, "drug", {"name": "baclofen", "dose_unit": "mcg"}),
                              "drug.concentration_per_ml"),
    "empty drug name": (mutated(SIMPLE, "drug", "name", ""), "drug.name"),
    # flex structure
    "flex without steps": (flex_with_steps([]), "therapy.steps"),
    "flex cycle_days 0": (flex_with_steps([{"start": "00:00", "dose_per_hour": 5}], cycle_days=0),
                          "therapy.cycle_days"),
    "flex day 0": (flex_with_steps([{"day": 0, "start": "00:00", "dose_per_hour": 5}]), "therapy.steps[0].day"),
    "flex start 12:30:30": (flex_with_steps([{"start": "00:00", "dose_per_hour": 5},
                                             {"start": "12:30:30", "dose_per_hour": 6}]), "therapy.steps[1].start"),
    "flex start 7:00": (flex_with_steps([{"start": "00:00", "dose_per_hour": 5},
                                         {"start": "7:00", "dose_per_hour": 6}]), "therapy.steps[1].start"),
    "flex start 24:00": (flex_with_steps([{"start": "00:00", "dose_per_hour": 5},
                                          {"start": "24:00", "dose_per_hour": 6}]), "therapy.steps[1].start"),
    "flex start 12:60": (flex_with_steps([{"start": "00:00", "dose_per_hour": 5},
                                          {"start": "12:60", "dose_per_hour": 6}]), "therapy.steps[1].start"),
}


@pytest.mark.parametrize("name", list(BAD_DOCUMENTS))
def test_bad_document_is_an_input_error_naming_the_field(tmp_path: Path, name: str):
    data, field = BAD_DOCUMENTS[name]
    error = load_error(tmp_path, data)
    fields = [problem_field for problem_field, _ in error.problems]
    assert field in fields, (fields, str(error))
    assert field in str(error)
    # The message is the file's name plus the problems, on one line.
    assert str(tmp_path / "program.json") in str(error)
    assert "\n" not in str(error)


# Problems found by the model validator are reported on "therapy" but the message names the step.
ORDER_PROBLEMS = {
    "first step not at 00:00": (
        [{"start": "01:00", "dose_per_hour": 5}, {"start": "06:00", "dose_per_hour": 6}], 1, "steps[0]"),
    "first step on day 2": (
        [{"day": 2, "start": "00:00", "dose_per_hour": 5}], 2, "steps[0]"),
    "equal starts": (
        [{"start": "00:00", "dose_per_hour": 5}, {"start": "06:00", "dose_per_hour": 6},
         {"start": "06:00", "dose_per_hour": 7}], 1, "steps[2]"),
    "decreasing starts": (
        [{"start": "00:00", "dose_per_hour": 5}, {"start": "08:00", "dose_per_hour": 6},
         {"start": "07:59", "dose_per_hour": 7}], 1, "steps[2]"),
    "decreasing days": (
        [{"day": 1, "start": "00:00", "dose_per_hour": 5}, {"day": 2, "start": "06:00", "dose_per_hour": 6},
         {"day": 1, "start": "23:00", "dose_per_hour": 7}], 2, "steps[2]"),
    "day beyond cycle_days": (
        [{"day": 1, "start": "00:00", "dose_per_hour": 5}, {"day": 3, "start": "06:00", "dose_per_hour": 6}],
        2, "steps[1].day"),
}


@pytest.mark.parametrize("name", list(ORDER_PROBLEMS))
def test_badly_ordered_flex_steps(tmp_path: Path, name: str):
    steps, cycle_days, named = ORDER_PROBLEMS[name]
    error = load_error(tmp_path, flex_with_steps(steps, cycle_days))
    assert any(field.startswith("therapy") for field, _ in error.problems)
    assert named in str(error)


def test_every_problem_is_reported(tmp_path: Path):
    data = mutated(SIMPLE, "drug", {"name": "baclofen", "dose_unit": "ug", "concentration_per_ml": -1, "x": 1})
    fields = {field for field, _ in load_error(tmp_path, data).problems}
    assert {"drug.dose_unit", "drug.concentration_per_ml", "drug.x"} <= fields


# --- bad files ------------------------------------------------------------------------------------------


def write_text(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "program.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(tmp_path: Path, literal: str):
    text = json.dumps(SIMPLE).replace('"daily_dose": 150', f'"daily_dose": {literal}')
    assert literal in text
    with pytest.raises(InputError) as info:
        load_program(write_text(tmp_path, text))
    assert "therapy.daily_dose" in str(info.value) and "finite" in str(info.value)


def test_nan_literal_message_names_the_field(tmp_path: Path):
    text = json.dumps(SIMPLE).replace('"daily_dose": 150', '"daily_dose": NaN')
    with pytest.raises(InputError) as info:
        load_program(write_text(tmp_path, text))
    assert "therapy.daily_dose" in str(info.value)


def test_duplicate_keys_are_refused(tmp_path: Path):
    text = ('{"format": "itb-program/1", "drug": {"name": "baclofen", "dose_unit": "mcg", '
            '"concentration_per_ml": 500}, "therapy": {"mode": "simple_continuous", "daily_dose": 150, '
            '"daily_dose": 1500}}')
    with pytest.raises(InputError) as info:
        load_program(write_text(tmp_path, text))
    assert "daily_dose" in str(info.value)
    assert "twice" in str(info.value)


@pytest.mark.parametrize("text", ["", "{", "{'format': 'itb-program/1'}", "format: itb-program/1",
                                  json.dumps(SIMPLE)[:-1]])
def test_not_json(tmp_path: Path, text: str):
    with pytest.raises(InputError) as info:
        load_program(write_text(tmp_path, text))
    assert "JSON" in str(info.value)


def test_not_utf8(tmp_path: Path):
    raw = json.dumps(mutated(SIMPLE, "drug", "name", "baclofen")).encode("utf-8").replace(b"baclofen", b"baclof\xe9n")
    with pytest.raises(InputError) as info:
        load_program(write_text(tmp_path, raw))
    assert "UTF-8" in str(info.value)


@pytest.mark.parametrize("data", [[SIMPLE], "itb-program/1", 150, None])
def test_not_an_object(tmp_path: Path, data):
    error = load_error(tmp_path, data)
    assert "object" in str(error)


def test_missing_file(tmp_path: Path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(InputError) as info:
        load_program(missing)
    assert str(missing) in str(info.value)


def test_directory_instead_of_file(tmp_path: Path):
    with pytest.raises(InputError):
        load_program(tmp_path)


def test_start_with_trailing_newline_is_refused(tmp_path: Path):
    data = flex_with_steps([{"start": "00:00", "dose_per_hour": 5}, {"start": "06:00\n", "dose_per_hour": 6}])
    error = load_error(tmp_path, data)
    assert "therapy.steps[1].start" in str(error)


def test_start_with_non_ascii_digits_is_refused(tmp_path: Path):
    data = flex_with_steps([{"start": "00:00", "dose_per_hour": 5}, {"start": "0\u0666:00", "dose_per_hour": 6}])
    error = load_error(tmp_path, data)
    assert "therapy.steps[1].start" in str(error)


# --- save / load, checksum ------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [SIMPLE, FLEX, mutated(SIMPLE, "therapy", {"mode": "stopped"})],
                         ids=["simple", "flex", "stopped"])
def test_save_then_load_round_trip(tmp_path: Path, data: dict):
    program = program_from_data(copy.deepcopy(data))
    path = tmp_path / "saved.json"
    save_program(program, path)
    again = load_program(path)
    assert again == program
    assert again.checksum() == program.checksum()
    # Saved as plain JSON that the strict loader accepts, and nothing is left beside it.
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "itb-program/1"
    assert [p.name for p in tmp_path.iterdir()] == ["saved.json"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip(tmp_path: Path, path: Path):
    program = load_program(path)
    save_program(program, tmp_path / "copy.json")
    assert load_program(tmp_path / "copy.json") == program


def test_save_overwrites(tmp_path: Path):
    path = tmp_path / "p.json"
    save_program(program_from_data(SIMPLE), path)
    other = program_from_data(mutated(SIMPLE, "therapy", "daily_dose", 200))
    save_program(other, path)
    assert load_program(path).therapy.daily_dose == 200


def test_checksum_is_canonical():
    a = program_from_data(copy.deepcopy(SIMPLE))
    b = program_from_data(mutated(mutated(SIMPLE, "therapy", "daily_dose", 150.0), "drug", "concentration_per_ml",
                                  500.0))
    assert a.checksum() == b.checksum()
    # A missing flex "day" is day 1, so the checksum is the same as with "day": 1 written out.
    with_day = program_from_data(flex_with_steps([{"day": 1, "start": "00:00", "dose_per_hour": 5}]))
    without = program_from_data(flex_with_steps([{"start": "00:00", "dose_per_hour": 5}]))
    assert with_day.checksum() == without.checksum()
    # Key order does not matter either.
    reordered = {"therapy": SIMPLE["therapy"], "drug": dict(reversed(list(SIMPLE["drug"].items()))),
                 "format": SIMPLE["format"]}
    assert program_from_data(copy.deepcopy(reordered)).checksum() == a.checksum()


def test_checksum_changes_with_content():
    a = program_from_data(copy.deepcopy(SIMPLE))
    assert len(a.checksum()) == 16 and int(a.checksum(), 16) >= 0
    assert program_from_data(mutated(SIMPLE, "therapy", "daily_dose", 151)).checksum() != a.checksum()
    assert program_from_data(mutated(SIMPLE, "drug", "concentration_per_ml", 1000)).checksum() != a.checksum()


# The canonical JSON of docs/protocol.md section 8, written out by hand: keys sorted at every level, no
# spaces, numbers as the validated model holds them (floats print as 500.0, day and cycle_days stay
# integers), a missing flex "day" written as 1. The checksum is the first 16 hex digits of its SHA-256,
# computed here with hashlib alone, so a change to the recipe that driver and pump would share (key order,
# separators, digest, which 16 digits) cannot pass by agreeing with itself.
CANONICAL = [
    (SIMPLE, '{"drug":{"concentration_per_ml":500.0,"dose_unit":"mcg","name":"baclofen"},"format":"itb-program/1",'
             '"therapy":{"daily_dose":150.0,"mode":"simple_continuous"}}'),
    (mutated(FLEX, "therapy", "steps", 0, {"start": "00:00", "dose_per_hour": 5}),
     '{"drug":{"concentration_per_ml":500.0,"dose_unit":"mcg","name":"baclofen"},"format":"itb-program/1",'
     '"therapy":{"cycle_days":2,"mode":"flex","steps":[{"day":1,"dose_per_hour":5.0,"start":"00:00"},'
     '{"day":1,"dose_per_hour":8.0,"start":"06:00"},{"day":2,"dose_per_hour":6.0,"start":"12:30"}]}}'),
]


@pytest.mark.parametrize("document, canonical", CANONICAL, ids=["simple", "flex"])
def test_checksum_is_sha256_of_the_documented_canonical_json(document, canonical):
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    assert program_from_data(copy.deepcopy(document)).checksum() == expected


def test_checksum_of_the_simple_example_is_the_published_one():
    # docs/program-format.md publishes it; SIMPLE above is the same document, so the hand-written
    # canonical text gives it too.
    assert load_program(ROOT / "examples" / "baclofen-simple.json").checksum() == "d90bfded48050775"
    assert hashlib.sha256(CANONICAL[0][1].encode("utf-8")).hexdigest()[:16] == "d90bfded48050775"


@pytest.mark.parametrize("document, path, value", [
    (SIMPLE, ("drug",), Drug(name="morphine", dose_unit="mg", concentration_per_ml=10.0)),
    (SIMPLE, ("drug", "concentration_per_ml"), 1000.0),
    (SIMPLE, ("therapy",), Stopped(mode="stopped")),
    (SIMPLE, ("therapy", "daily_dose"), 1500.0),
    (FLEX, ("therapy", "cycle_days"), 3),
    (FLEX, ("therapy", "steps", 1, "dose_per_hour"), 80.0),
], ids=["Program.drug", "Drug.concentration_per_ml", "Program.therapy", "SimpleContinuous.daily_dose",
        "Flex.cycle_days", "FlexStep.dose_per_hour"])
def test_models_are_immutable(document, path, value):
    # Every value assigned is valid for its field, so only the model being frozen can refuse it: pydantic's
    # ValidationError of type frozen_instance, and the program (and its checksum) stay as they were.
    program = program_from_data(copy.deepcopy(document))
    checksum = program.checksum()
    *parents, name = path
    owner = program
    for part in parents:
        owner = owner[part] if isinstance(part, int) else getattr(owner, part)
    before = getattr(owner, name)
    with pytest.raises(ValidationError) as caught:
        setattr(owner, name, value)
    assert [error["type"] for error in caught.value.errors()] == ["frozen_instance"]
    assert getattr(owner, name) == before and getattr(owner, name) != value
    assert program.checksum() == checksum and program == program_from_data(copy.deepcopy(document))


# --- schema ---------------------------------------------------------------------------------------------


def test_schema_command_prints_valid_json_with_discriminator(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    schema = json.loads(out)
    therapy = schema["properties"]["therapy"]
    assert therapy["discriminator"]["propertyName"] == "mode"
    assert set(therapy["discriminator"]["mapping"]) == {"stopped", "simple_continuous", "flex"}
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"format", "drug", "therapy"}
    assert schema["$defs"]["Drug"]["properties"]["dose_unit"]["enum"] == ["mcg", "mg"]
    assert schema == Program.model_json_schema()


def test_schema_constrains_step_start():
    start = Program.model_json_schema()["$defs"]["FlexStep"]["properties"]["start"]
    assert "pattern" in start
