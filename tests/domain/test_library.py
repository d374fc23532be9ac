"""The drug library: the shipped one, its identity hash, bad libraries, and a user library via --library.

A library file is used only when signed by a trusted key (tests/domain/test_library_signing.py): the files
here are signed by ``pharmacy``, a throwaway key this test's own trust store lists, so what they test is the
content."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from programmer.cli.main import main
from programmer.errors import InputError
from programmer.library import library_from_data, load_library
from tests.support.library_data import shipped_data
from tests.support.library_signing import Signer

ROOT = Path(__file__).resolve().parents[2]
SIMPLE_EXAMPLE = ROOT / "examples/baclofen-simple.json"


def write(tmp_path: Path, data: object, signer: Signer, name: str = "library.json") -> Path:
    """The library file, signed by ``signer``."""
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    signer.sign(path)
    return path


# --- the shipped library --------------------------------------------------------------------------------


def test_shipped_library_loads_with_identity():
    loaded = load_library()
    assert loaded.identity.name == "ITB default drug library"
    assert loaded.identity.version
    assert len(loaded.identity.sha256) == 64
    int(loaded.identity.sha256, 16)


def test_shipped_baclofen():
    rule = load_library().rule_for("baclofen")
    assert rule is not None
    assert rule.dose_unit == "mcg"
    assert sorted(rule.concentrations_per_ml) == [50, 500, 1000, 2000]
    assert rule.max_flex_steps_per_day == 13
    limits = rule.daily_dose
    assert limits.hard_min <= limits.soft_min <= limits.soft_max <= limits.hard_max
    assert rule.change_percent.soft <= rule.change_percent.hard
    assert rule.sources and all(isinstance(s, str) and s.strip() for s in rule.sources)


def test_shipped_morphine_is_in_mg_and_ziconotide_in_mcg():
    library = load_library()
    morphine, ziconotide = library.rule_for("morphine"), library.rule_for("ziconotide")
    assert morphine is not None and morphine.dose_unit == "mg"
    assert ziconotide is not None and ziconotide.dose_unit == "mcg"
    for rule in (morphine, ziconotide):
        assert rule.sources
        assert rule.concentrations_per_ml
        assert rule.max_flex_steps_per_day == 13
    # Ziconotide is never given as a bolus.
    assert ziconotide.bolus.hard_max == 0


def test_rule_lookup_ignores_case_and_knows_unknown_drugs():
    library = load_library()
    assert library.rule_for("Baclofen") is library.rule_for("baclofen")
    assert library.rule_for("clonidine") is None


def test_allowed_concentrations():
    rule = load_library().rule_for("baclofen")
    assert rule.allows_concentration(500.0)
    assert rule.allows_concentration(2000)
    assert not rule.allows_concentration(750)
    assert not rule.allows_concentration(5000)
    assert not rule.allows_concentration(0.5)


# --- identity -------------------------------------------------------------------------------------------


def test_identity_is_sha256_of_sorted_compact_json():
    data = shipped_data()
    expected = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode("utf-8")).hexdigest()
    assert load_library().identity.sha256 == expected


def test_identity_is_stable_across_key_order():
    data = shipped_data()

    def reverse_keys(value):
        if isinstance(value, dict):
            return {key: reverse_keys(value[key]) for key in reversed(list(value))}
        if isinstance(value, list):
            return [reverse_keys(item) for item in value]
        return value

    reordered = reverse_keys(data)
    assert list(reordered) != list(data)
    assert library_from_data(reordered, "r").identity == library_from_data(data, "d").identity


@pytest.mark.parametrize("path", [
    ("drugs", 0, "daily_dose", "hard_max"),       # 2000 -> 1800, still above soft_max 1000
    ("drugs", 0, "concentrations_per_ml", 1),     # 500 -> 450
    ("drugs", 1, "change_percent", "soft"),       # 20 -> 18, still below hard 50
    ("drugs", 0, "bolus", "soft_max"),            # 100 -> 90, still below hard 200
])
def test_identity_changes_when_a_number_changes(path):
    data = shipped_data()
    before = library_from_data(copy.deepcopy(data), "before").identity
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = target[path[-1]] * 0.9
    after = library_from_data(data, "after").identity
    assert after.sha256 != before.sha256
    assert (after.name, after.version) == (before.name, before.version)


def test_identity_changes_with_version():
    data = shipped_data()
    data["version"] = "local-1"
    identity = library_from_data(data, "x").identity
    assert identity.version == "local-1"
    assert identity.sha256 != load_library().identity.sha256


# --- bad libraries --------------------------------------------------------------------------------------


def set_path(data: dict, path: tuple, value) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def delete_path(data: dict, path: tuple) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


def bad_libraries() -> dict:
    data = shipped_data()
    baclofen = data["drugs"][0]
    return {
        # soft outside hard, both ends
        "soft_max above hard_max": (set_path(data, ("drugs", 0, "daily_dose", "soft_max"), 2500),
                                    "drugs[0].daily_dose"),
        "soft_min below hard_min": (set_path(data, ("drugs", 0, "daily_dose", "soft_min"), 5),
                                    "drugs[0].daily_dose"),
        "soft change above hard": (set_path(data, ("drugs", 1, "change_percent", "soft"), 60),
                                   "drugs[1].change_percent"),
        "bolus soft above hard": (set_path(data, ("drugs", 0, "bolus", "soft_max"), 300), "drugs[0].bolus"),
        # duplicates (case-insensitive)
        "duplicate drug": (set_path(data, ("drugs",), data["drugs"] + [copy.deepcopy(baclofen)]), "baclofen"),
        "duplicate drug other case": (set_path(data, ("drugs",), data["drugs"] + [dict(baclofen, name="Baclofen")]),
                                      "baclofen"),
        # missing fields
        "missing dose unit": (delete_path(data, ("drugs", 0, "dose_unit")), "drugs[0].dose_unit"),
        "missing daily dose": (delete_path(data, ("drugs", 2, "daily_dose")), "drugs[2].daily_dose"),
        "missing hard_max": (delete_path(data, ("drugs", 1, "daily_dose", "hard_max")), "drugs[1].daily_dose.hard_max"),
        "missing version": (delete_path(data, ("version",)), "version"),
        # unknown fields
        "unknown top-level": (set_path(data, ("owner",), "x"), "owner"),
        "unknown in drug": (set_path(data, ("drugs", 0, "colour"), "x"), "drugs[0].colour"),
        "unknown in daily_dose": (set_path(data, ("drugs", 0, "daily_dose", "typical"), 400),
                                  "drugs[0].daily_dose.typical"),
        # wrong values
        "string number": (set_path(data, ("drugs", 0, "daily_dose", "hard_max"), "2000"),
                          "drugs[0].daily_dose.hard_max"),
        "zero concentration": (set_path(data, ("drugs", 0, "concentrations_per_ml"), [0, 500]),
                               "drugs[0].concentrations_per_ml[0]"),
        "no concentrations": (set_path(data, ("drugs", 0, "concentrations_per_ml"), []),
                              "drugs[0].concentrations_per_ml"),
        "unit ug": (set_path(data, ("drugs", 0, "dose_unit"), "ug"), "drugs[0].dose_unit"),
        "wrong format": (set_path(data, ("format",), "itb-drug-library/9"), "format"),
        "no drugs": (set_path(data, ("drugs",), []), "drugs"),
        "zero flex steps": (set_path(data, ("drugs", 0, "max_flex_steps_per_day"), 0),
                            "drugs[0].max_flex_steps_per_day"),
    }


BAD = bad_libraries()


@pytest.mark.parametrize("name", list(BAD))
def test_bad_library_is_an_input_error_naming_the_field(tmp_path: Path, pharmacy: Signer, name: str):
    data, named = BAD[name]
    path = write(tmp_path, data, pharmacy)
    with pytest.raises(InputError) as info:
        load_library(path)
    assert named in str(info.value), str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["[1, 2]", "{", '{"format": NaN}', ""])
def test_library_that_is_not_a_json_object(tmp_path: Path, pharmacy: Signer, text: str):
    path = tmp_path / "library.json"
    path.write_text(text, encoding="utf-8")
    pharmacy.sign(path)  # approved as it is: still refused, for what it holds
    with pytest.raises(InputError) as info:
        load_library(path)
    assert str(info.value).startswith(f"{path}: ") and "signature" not in str(info.value)


def test_missing_library_file(tmp_path: Path):
    with pytest.raises(InputError) as info:
        load_library(tmp_path / "none.json")
    assert "none.json" in str(info.value)


# --- a user library overrides the shipped one -----------------------------------------------------------


def strict_local_library() -> dict:
    data = shipped_data()
    data["name"] = "Test site library"
    data["version"] = "site-7"
    # Lower baclofen's hard maximum to 100 mcg/day: the 150 mcg/day example now breaks a hard limit.
    data["drugs"][0]["daily_dose"] = {"hard_min": 10, "soft_min": 20, "soft_max": 90, "hard_max": 100}
    return data


def test_user_library_via_cli_overrides_the_shipped_one(tmp_path: Path, pharmacy: Signer, capsys):
    args = ["plan", str(SIMPLE_EXAMPLE), "--reservoir-ml", "18", "--start", "2026-11-28T09:00", "--json"]
    assert main(args) == 0
    shipped = json.loads(capsys.readouterr().out)
    assert shipped["library"]["name"] == "ITB default drug library"
    assert shipped["errors"] == []

    path = write(tmp_path, strict_local_library(), pharmacy)
    assert main(args + ["--library", str(path)]) == 3
    local = json.loads(capsys.readouterr().out)
    assert local["library"] == {"name": "Test site library", "version": "site-7",
                                "sha256": load_library(path).identity.sha256, "approved": "2026-11-30",
                                "signer": "Test hospital pharmacy", "key_id": pharmacy.key_id}
    assert local["library"]["sha256"] != shipped["library"]["sha256"]
    assert [e["code"] for e in local["errors"]] == ["DAILY_DOSE_ABOVE_HARD_MAX"]


def test_bad_user_library_via_cli_is_invalid_input(tmp_path: Path, pharmacy: Signer, capsys):
    path = write(tmp_path, BAD["soft_max above hard_max"][0], pharmacy)
    code = main(["plan", str(SIMPLE_EXAMPLE), "--reservoir-ml", "18", "--library", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "drugs[0].daily_dose" in lines[0]


# --- peak_to_mean_rate: a flex step's dose per hour against its day's mean ----------------------------------


def test_shipped_peak_rate_limits():
    library = load_library()
    limits = {name: library.rule_for(name).peak_to_mean_rate for name in ("baclofen", "morphine", "ziconotide")}
    assert {name: (rule.soft, rule.hard) for name, rule in limits.items()} == {
        "baclofen": (3, 8), "morphine": (3, 8), "ziconotide": (1.5, 2)}
    for name in limits:  # each drug says where its figures come from
        assert any("Peak rate" in source and "own choice" in source for source in library.rule_for(name).sources)


@pytest.mark.parametrize("change, named", [
    (lambda data: delete_path(data, ("drugs", 0, "peak_to_mean_rate")), "drugs[0].peak_to_mean_rate"),
    (lambda data: set_path(data, ("drugs", 1, "peak_to_mean_rate", "soft"), 9), "drugs[1].peak_to_mean_rate"),
    (lambda data: set_path(data, ("drugs", 2, "peak_to_mean_rate", "hard"), 0.5), "drugs[2].peak_to_mean_rate.hard"),
    (lambda data: set_path(data, ("drugs", 0, "peak_to_mean_rate", "soft"), "3"), "drugs[0].peak_to_mean_rate.soft"),
    (lambda data: set_path(data, ("drugs", 0, "peak_to_mean_rate", "typical"), 2),
     "drugs[0].peak_to_mean_rate.typical"),
])
def test_a_bad_peak_rate_rule_is_an_input_error_naming_the_field(tmp_path: Path, pharmacy: Signer, change, named):
    # Missing, soft above hard, below 1 (a day's highest step is never below its mean), a string, an unknown key.
    path = write(tmp_path, change(shipped_data()), pharmacy)
    with pytest.raises(InputError) as info:
        load_library(path)
    assert named in str(info.value), str(info.value)


# --- first programs and titration: starting doses, restarts, absolute steps, a soft band below every hard max ----


def test_every_shipped_drug_has_a_soft_band_below_its_hard_maximum():
    # Ziconotide's soft maximum used to equal its hard one (19.2 = 19.2): a dose could reach the hard limit
    # without a warning on the way. Now 16.8 (one label step of 2.4 below 19.2) warns first.
    library = load_library()
    for drug in library.library.drugs:
        assert drug.daily_dose.soft_max < drug.daily_dose.hard_max, drug.name
    assert (library.rule_for("ziconotide").daily_dose.soft_max, library.rule_for("ziconotide").daily_dose.hard_max) \
        == (16.8, 19.2)


def test_shipped_starting_doses_restart_rules_and_titration_limits():
    library = load_library()
    starting = {name: library.rule_for(name).starting_dose for name in ("baclofen", "morphine", "ziconotide")}
    assert {name: (limits.soft_max, limits.hard_max) for name, limits in starting.items()} == {
        "baclofen": (100, 200),    # twice the screening bolus of 50 (soft) and of 100 mcg (hard), Lioresal label
        "morphine": (0.5, 1),      # opioid-naive start 0.1-0.5 mg/day (PACC 2017), 0.2-1 mg/day (Infumorph label)
        "ziconotide": (1.2, 2.4),  # 0.5-1.2 mcg/day (PACC 2017), no more than 2.4 mcg/day (Prialt label)
    }
    restart = {name: library.rule_for(name).restart for name in starting}
    assert {name: (rule.window_hours, rule.after_window) for name, rule in restart.items()} == {
        "baclofen": (24, "percent_of_last_dose"), "morphine": (24, "percent_of_last_dose"),
        "ziconotide": (24, "starting_dose")}
    assert (restart["baclofen"].percent_of_last_dose.soft, restart["baclofen"].percent_of_last_dose.hard) == (50, 100)
    zico = library.rule_for("ziconotide").titration
    assert (zico.max_increase_per_step, zico.min_hours_between_increases) == (2.4, 24)
    assert library.rule_for("baclofen").titration is None and library.rule_for("morphine").titration is None
    for name in starting:  # each says where its figures come from
        sources = " ".join(library.rule_for(name).sources)
        assert "Starting dose" in sources and "Restart" in sources


def test_the_titration_interval_fits_the_event_log_the_interrogation_reads():
    from datetime import timedelta

    from programmer.baseline import BASELINE_WINDOW
    from programmer.library import TITRATION_LOOKBACK_HOURS

    assert BASELINE_WINDOW == timedelta(hours=TITRATION_LOOKBACK_HOURS)


def test_a_library_without_the_new_fields_still_loads():
    # A site library written before starting doses and restart rules existed: it loads; the checks then refuse
    # what they cannot judge (tests/domain/test_first_programs.py).
    data = shipped_data()
    for drug in data["drugs"]:
        for key in ("starting_dose", "restart", "titration"):
            drug.pop(key, None)
    rule = library_from_data(data, "old site library").rule_for("baclofen")
    assert (rule.starting_dose, rule.restart, rule.titration) == (None, None, None)


@pytest.mark.parametrize("change, named", [
    (lambda data: set_path(data, ("drugs", 2, "daily_dose", "soft_max"), 19.2), "drugs[2].daily_dose"),
    (lambda data: set_path(data, ("drugs", 0, "starting_dose", "soft_max"), 200), "drugs[0].starting_dose"),
    (lambda data: set_path(data, ("drugs", 0, "starting_dose", "hard_max"), 0), "drugs[0].starting_dose.hard_max"),
    (lambda data: delete_path(data, ("drugs", 0, "restart", "percent_of_last_dose")), "drugs[0].restart"),
    (lambda data: set_path(data, ("drugs", 2, "restart", "percent_of_last_dose"), {"soft": 50, "hard": 100}),
     "drugs[2].restart"),
    (lambda data: set_path(data, ("drugs", 0, "restart", "percent_of_last_dose", "hard"), 150),
     "drugs[0].restart.percent_of_last_dose.hard"),
    (lambda data: set_path(data, ("drugs", 0, "restart", "percent_of_last_dose", "soft"), 100),
     "drugs[0].restart.percent_of_last_dose"),
    (lambda data: set_path(data, ("drugs", 0, "restart", "after_window"), "full_dose"),
     "drugs[0].restart.after_window"),
    (lambda data: set_path(data, ("drugs", 0, "restart", "window_hours"), 0), "drugs[0].restart.window_hours"),
    (lambda data: set_path(data, ("drugs", 2, "titration", "min_hours_between_increases"), 48),
     "drugs[2].titration.min_hours_between_increases"),
    (lambda data: set_path(data, ("drugs", 2, "titration", "max_increase_per_step"), 0),
     "drugs[2].titration.max_increase_per_step"),
])
def test_a_bad_first_program_or_titration_rule_is_an_input_error_naming_the_field(tmp_path: Path, pharmacy: Signer,
                                                                                  change, named):
    # A soft maximum equal to the hard one (no soft band), a starting soft limit not below its hard one, a restart
    # rule without its percentages (or with them where the rule is the starting dose), a restart above the last
    # dose, an unknown rule, no window, an interval longer than the event log read, a step of 0.
    path = write(tmp_path, change(shipped_data()), pharmacy)
    with pytest.raises(InputError) as info:
        load_library(path)
    assert named in str(info.value), str(info.value)
