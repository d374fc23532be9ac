"""The serial driver's side of issue 13's protocol, against a scripted pump: what it sends for a prime, a bridge, a
bridge with a refill and a demand dose, and how strictly it reads the new answers. A pump built before these
commands (no dead-volume figures, no ``line``, no bolus ``kind``) is read as it always was; a pump that sends them
malformed is a LinkError naming the key, never a figure shown or acted on.
"""

from __future__ import annotations

import hashlib

import pytest
from tests.support.emulator_fixtures import ScriptedPeer
from tests.support.fake_pump import baclofen

from drivers.serial_driver import SerialDriver
from programmer.errors import LinkError
from programmer.port import BridgeRequest, DemandDose, LineContent, LineState
from programmer.program import Drug
from protocol import Command, Frame
from protocol.frame import canonical_json

IDENTITY = {"model": "TEST", "serial": "TEST-0001", "firmware": "t", "capacity_ml": 20.0, "min_rate_ml_per_day": 0.048,
            "max_rate_ml_per_day": 24.0, "max_steps_per_day": 13, "max_cycle_days": 7, "event_log_size": 512}
DEAD_VOLUME = {"tubing_ml": 0.15, "catheter_ml_per_cm": 0.0026, "catheter_cm_min": 10.0, "catheter_cm_max": 110.0,
               "priming_ml_per_hour": 1.0, "max_bolus_ml_per_hour": 6.0}
# 60 cm of catheter at 0.0026 mL/cm is 0.156 mL, with 0.15 mL of tubing 0.306 mL: 0.1 mL of the old 500 mcg/mL at
# the patient end, then 0.206 mL of the new 1000 mcg/mL.
LINE = {"tubing_ml": 0.15, "catheter_cm": 60.0, "volume_ml": 0.306,
        "contents": [{"volume_ml": 0.1, "concentration_per_ml": 500.0},
                     {"volume_ml": 0.206, "concentration_per_ml": 1000.0}],
        "pumped_ml": 12.5, "to_patient_ml": 12.5, "to_patient_dose": 6250.0, "dose_unit": "mcg"}
STATUS = {"pump_time": "2026-01-02T03:04:05", "battery": {"status": "ok", "percent": 90.0},
          "reservoir": {"volume_ml": 10.0, "low_alarm_ml": 2.0, "capacity_ml": 20.0}, "alarms": [],
          "program_checksum": "0123456789abcdef", "cycle_phase_min": 0.0, "bolus": None}
PRIME = {"bolus_id": "b-p", "kind": "prime", "dose": 153.0, "volume_ml": 0.306, "state": "delivering",
         "repeated": False, "action_number": 4, "duration_min": 18.36}
DEMAND = {"enabled": True, "dose": 50.0, "dose_unit": "mcg", "duration_min": 10.0, "lockout_min": 240.0,
          "max_per_day": 4, "checksum": "b33fafa96d91f72c"}
"""docs/protocol.md's READ_DEMAND example, with the checksum it gives."""


@pytest.fixture
def scripted(peers):
    """``scripted({command: payload})``: a driver to a pump answering each command OK with its payload."""
    drivers: list[SerialDriver] = []

    def start(answers: dict[int, dict]) -> tuple[SerialDriver, ScriptedPeer]:
        def answer(request: Frame, peer: ScriptedPeer) -> None:
            peer.reply(request, answers[request.command])

        peer = peers(answer)
        driver = SerialDriver(peer.url, baudrate=115200)
        drivers.append(driver)
        return driver, peer

    yield start
    for driver in drivers:
        driver.close()


def sent(peer: ScriptedPeer, command: Command) -> list[dict]:
    return [frame.payload for frame in peer.requests_for(command)]


def test_an_older_pump_declares_no_dead_volume_and_reports_no_line(scripted):
    driver, _ = scripted({Command.IDENTIFY: IDENTITY, Command.READ_STATUS: STATUS})
    identity = driver.identify()
    assert (identity.tubing_ml, identity.catheter_ml_per_cm, identity.catheter_cm_min, identity.catheter_cm_max,
            identity.priming_ml_per_hour, identity.max_bolus_ml_per_hour) == (None,) * 6
    assert driver.read_status().line is None


def test_the_dead_volume_figures_and_the_line_are_read_patient_end_first(scripted):
    running = {"bolus_id": "b-p", "dose": 153.0, "delivered": 76.5, "remaining_s": 550.8, "kind": "prime"}
    driver, _ = scripted({Command.IDENTIFY: IDENTITY | DEAD_VOLUME,
                          Command.READ_STATUS: STATUS | {"line": LINE, "bolus": running}})
    identity = driver.identify()
    assert (identity.tubing_ml, identity.catheter_ml_per_cm, identity.catheter_cm_min, identity.catheter_cm_max,
            identity.priming_ml_per_hour, identity.max_bolus_ml_per_hour) == (0.15, 0.0026, 10.0, 110.0, 1.0, 6.0)
    status = driver.read_status()
    assert status.line == LineState(tubing_ml=0.15, catheter_cm=60.0, volume_ml=0.306,
                                    contents=(LineContent(0.1, 500.0), LineContent(0.206, 1000.0)),
                                    pumped_ml=12.5, to_patient_ml=12.5, to_patient_dose=6250.0, dose_unit="mcg")
    assert (status.bolus.kind, status.bolus.delivered) == ("prime", 76.5)


def test_a_line_without_a_catheter_or_a_drug_is_read_with_nones(scripted):
    # a factory-new pump: 0.15 mL of tubing full of nothing (0: no drug), no catheter recorded, never held a drug
    empty = LINE | {"catheter_cm": None, "volume_ml": 0.15, "contents": [{"volume_ml": 0.15,
                    "concentration_per_ml": 0.0}], "pumped_ml": 0.0, "to_patient_ml": 0.0, "to_patient_dose": 0.0,
                    "dose_unit": None}
    driver, _ = scripted({Command.READ_STATUS: STATUS | {"line": empty}})
    line = driver.read_status().line
    assert (line.catheter_cm, line.contents, line.dose_unit) == (None, (LineContent(0.15, 0.0),), None)


@pytest.mark.parametrize("command, answer, field, problem", [
    (Command.IDENTIFY, IDENTITY | DEAD_VOLUME | {"tubing_ml": "0.15"}, "tubing_ml", "is '0.15', not a number"),
    (Command.READ_STATUS, STATUS | {"line": LINE | {"contents": [{"volume_ml": 0.1, "concentration_per_ml": 500.0},
                                                                 {"concentration_per_ml": 1000.0}]}},
     "line.contents[1].volume_ml", "is missing"),
    (Command.READ_STATUS, STATUS | {"line": LINE | {"dose_unit": "g"}}, "line.dose_unit", "is 'g', not one of mcg, mg"),
    (Command.READ_STATUS, STATUS | {"line": LINE | {"catheter_cm": True}}, "line.catheter_cm", "is True, not a number"),
    (Command.READ_STATUS, STATUS | {"bolus": {"bolus_id": "b", "dose": 1.0, "delivered": 0.0, "remaining_s": 60.0,
                                              "kind": "loading"}},
     "bolus.kind", "is 'loading', not one of therapeutic, prime, bridge, demand"),
])
def test_a_malformed_new_key_is_a_link_error_naming_it(scripted, command, answer, field, problem):
    driver, _ = scripted({command: answer})
    read = driver.identify if command == Command.IDENTIFY else driver.read_status
    with pytest.raises(LinkError) as failed:
        read()
    assert failed.value.field == field and f"the pump's answer is malformed: {field} {problem}" in str(failed.value)


def test_a_prime_sends_the_catheter_and_its_volume_and_reads_the_answer(scripted):
    driver, peer = scripted({Command.BOLUS: PRIME})
    outcome = driver.prime("b-p", 60.0, 0.306, "catheter_revision", segments_cm=(35.0, 25.0))
    assert sent(peer, Command.BOLUS) == [{"bolus_id": "b-p", "kind": "prime", "reason": "catheter_revision",
                                          "catheter_cm": 60.0, "volume_ml": 0.306,
                                          "catheter_segments_cm": [35.0, 25.0]}]
    assert (outcome.kind, outcome.volume_ml, outcome.duration_min, outcome.action_number, outcome.delivered) == (
        "prime", 0.306, 18.36, 4, None)
    driver.prime("b-p", 60.0, 0.306, "implant")
    assert "catheter_segments_cm" not in sent(peer, Command.BOLUS)[1]


def test_an_answer_about_another_bolus_or_kind_is_malformed(scripted):
    driver, _ = scripted({Command.BOLUS: PRIME})
    with pytest.raises(LinkError) as failed:
        driver.prime("b-other", 60.0, 0.306, "implant")
    assert failed.value.field == "bolus_id" and "not the 'b-other' asked about" in str(failed.value)
    with pytest.raises(LinkError) as failed:
        driver.bridge("b-p", 0.1, 500.0)
    assert failed.value.field == "kind" and "is 'prime', not the 'bridge' asked for" in str(failed.value)


def test_a_therapeutic_bolus_request_is_as_before_and_a_pump_without_kinds_is_read_as_therapeutic(scripted):
    driver, peer = scripted({Command.BOLUS: {"bolus_id": "b-1", "dose": 50.0, "volume_ml": 0.1, "state": "delivering",
                                             "repeated": False, "action_number": 2}})
    outcome = driver.bolus("b-1", 50.0, 30.0)
    assert sent(peer, Command.BOLUS) == [{"bolus_id": "b-1", "dose": 50.0, "duration_min": 30.0}]
    assert (outcome.kind, outcome.action_number, outcome.duration_min) == ("therapeutic", 2, None)


def test_a_bridge_alone_and_with_a_refill(scripted):
    bridge = {"bolus_id": "b-br", "kind": "bridge", "dose": 153.0, "volume_ml": 0.306, "state": "delivering",
              "repeated": False, "action_number": 6, "duration_min": 1469.0}
    refill = {"refill_id": "r-2", "volume_ml": 20.0, "calculated_ml": 2.0, "repeated": False, "action_number": 5}
    driver, peer = scripted({Command.BOLUS: bridge, Command.REFILL: refill | {"bridge": bridge}})
    assert driver.bridge("b-br", 0.306, 500.0).dose == 153.0
    assert sent(peer, Command.BOLUS) == [{"bolus_id": "b-br", "kind": "bridge", "volume_ml": 0.306,
                                          "concentration_per_ml": 500.0}]
    new = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)
    outcome = driver.refill("r-2", 2.0, 20.0, new, BridgeRequest("b-br", 0.306))
    assert sent(peer, Command.REFILL)[0]["bridge"] == {"bolus_id": "b-br", "volume_ml": 0.306}
    assert (outcome.volume_ml, outcome.bridge.kind, outcome.bridge.volume_ml) == (20.0, "bridge", 0.306)


def test_a_refill_asked_with_a_bridge_whose_answer_has_none_is_malformed(scripted):
    driver, _ = scripted({Command.REFILL: {"refill_id": "r-2", "volume_ml": 20.0, "calculated_ml": 2.0,
                                           "repeated": False}})
    with pytest.raises(LinkError) as failed:
        driver.refill("r-2", 2.0, 20.0, None, BridgeRequest("b-br", 0.306))
    assert failed.value.field == "bridge"


def test_bolus_status_of_an_unknown_and_a_known_bolus(scripted):
    known = PRIME | {"known": True, "repeated": False, "state": "done", "delivered": 153.0}
    driver, peer = scripted({Command.BOLUS_STATUS: {"known": False}})
    assert driver.bolus_status("b-never") is None
    assert sent(peer, Command.BOLUS_STATUS) == [{"bolus_id": "b-never"}]
    driver, _ = scripted({Command.BOLUS_STATUS: known})
    outcome = driver.bolus_status("b-p")
    assert (outcome.kind, outcome.state, outcome.delivered, outcome.volume_ml) == ("prime", "done", 153.0, 0.306)


def test_the_demand_dose_is_written_then_read_back(scripted):
    driver, peer = scripted({Command.SET_DEMAND: DEMAND, Command.READ_DEMAND: DEMAND})
    settings = driver.write_demand(DemandDose(True, 50.0, 10.0, 240.0, 4))
    assert sent(peer, Command.SET_DEMAND) == [{"enabled": True, "dose": 50.0, "duration_min": 10.0,
                                               "lockout_min": 240.0, "max_per_day": 4}]
    assert [frame.command for _, frame in peer.requests][-2:] == [Command.SET_DEMAND, Command.READ_DEMAND]
    assert settings.demand == DemandDose(True, 50.0, 10.0, 240.0, 4)
    assert (settings.dose_unit, settings.checksum) == ("mcg", "b33fafa96d91f72c")


def test_demand_off_is_sent_and_read_alone(scripted):
    off = {"enabled": False, "checksum": "5acf3ff77b442067"}
    driver, peer = scripted({Command.SET_DEMAND: off, Command.READ_DEMAND: off})
    settings = driver.write_demand(DemandDose(False))
    assert sent(peer, Command.SET_DEMAND) == [{"enabled": False}]
    assert (settings.demand, settings.dose_unit, settings.checksum) == (DemandDose(False), None, "5acf3ff77b442067")


@pytest.mark.parametrize("answer, field", [
    (DEMAND | {"max_per_day": 4.0, "checksum": "2c3a8b1f5d0e1b7a"}, "checksum"),  # 4.0 is not the 4 checksummed
    (DEMAND | {"lockout_min": 24.0}, "checksum"),  # minutes typed for hours, or a corrupted figure: not trusted
    (DEMAND | {"dose": "50"}, "checksum"),
])
def test_demand_settings_that_do_not_match_their_checksum_are_not_trusted(scripted, answer, field):
    driver, _ = scripted({Command.READ_DEMAND: answer})
    with pytest.raises(LinkError) as failed:
        driver.read_demand()
    assert (failed.value.step, failed.value.field) == ("read demand dose", field)


def test_a_demand_answer_of_the_wrong_type_names_its_key(scripted):
    settings = {key: value for key, value in DEMAND.items() if key != "checksum"} | {"max_per_day": 4.5}
    checksum = hashlib.sha256(canonical_json(settings)).hexdigest()[:16]
    driver, _ = scripted({Command.READ_DEMAND: settings | {"checksum": checksum}})
    with pytest.raises(LinkError) as failed:
        driver.read_demand()
    assert (failed.value.field, "max_per_day is 4.5, not an integer" in str(failed.value)) == ("max_per_day", True)


def _program_answer(program) -> dict:
    return {"drug": program.drug.model_dump(mode="json"), "therapy": program.therapy.model_dump(mode="json"),
            "checksum": program.checksum()}


PROGRAM_50 = _program_answer(baclofen(150, 50))
"""The drug the pump holds now: 50 mcg/mL, after a refill from 500 mcg/mL."""


def test_a_cancelled_bridge_is_read_with_its_kind_and_the_pumps_ml(scripted):
    # docs/protocol.md's CANCEL_BOLUS example: a bridge of the old 500 mcg/mL cancelled after 0.0014735 mcg, which
    # the motor moved in 2.947e-06 mL. Divided by the 50 mcg/mL the pump holds now it would be 2.947e-05 mL: 10x off.
    answer = {"bolus_id": "b-br", "kind": "bridge", "delivered": 0.0014735, "volume_ml": 2.947e-06,
              "state": "cancelled"}
    driver, peer = scripted({Command.CANCEL_BOLUS: answer, Command.READ_PROGRAM: PROGRAM_50})
    stopped = driver.cancel_bolus("b-br")
    assert (stopped.kind, stopped.dose, stopped.delivered, stopped.volume_ml, stopped.state) == (
        "bridge", 0.0014735, 0.0014735, 2.947e-06, "cancelled")
    assert sent(peer, Command.READ_PROGRAM) == []  # the pump's mL is taken as it is: nothing to convert


def test_an_older_pumps_cancel_is_therapeutic_and_converted_at_its_concentration(scripted):
    answer = {"bolus_id": "b-1", "delivered": 12.5, "state": "cancelled"}
    driver, _ = scripted({Command.CANCEL_BOLUS: answer, Command.READ_PROGRAM: PROGRAM_50})
    stopped = driver.cancel_bolus("b-1")
    assert (stopped.kind, stopped.dose, stopped.volume_ml) == ("therapeutic", 12.5, pytest.approx(0.25))


@pytest.mark.parametrize(("extra", "field"), [({"volume_ml": -0.1}, "volume_ml"), ({"volume_ml": "0.1"}, "volume_ml"),
                                              ({"kind": "flush"}, "kind")])
def test_a_malformed_cancel_answer_is_a_link_error_naming_its_key(scripted, extra, field):
    answer = {"bolus_id": "b-1", "delivered": 12.5, "state": "cancelled", "kind": "therapeutic",
              "volume_ml": 0.025} | extra
    driver, _ = scripted({Command.CANCEL_BOLUS: answer, Command.READ_PROGRAM: PROGRAM_50})
    with pytest.raises(LinkError, match=field):
        driver.cancel_bolus("b-1")
