"""BOLUS of each kind, BOLUS_STATUS and REFILL with a bridge over the command handler: what the pump refuses, field by
field, and that no id ever delivers twice. In process on a fake clock. An ITB-20 with a 60 cm catheter has a
0.15 + 60 x 0.0026 = 0.306 mL line; baclofen 500 mcg/mL at 150 mcg/day is 0.3 mL/day."""

from __future__ import annotations

import pytest

from emulator.service import Service
from protocol.codes import Command, Status
from tests.support.emulator_support import BACLOFEN_500, SERVICE, Client, make_pump, simple

BACLOFEN_1000 = {**BACLOFEN_500, "concentration_per_ml": 1000}
STOPPED_1000 = {"format": "itb-program/1", "drug": BACLOFEN_1000, "therapy": {"mode": "stopped"}}
PRIME = {"bolus_id": "p1", "kind": "prime", "reason": "implant", "catheter_cm": 60.0, "volume_ml": 0.306}


def refused(client: Client, command: int, payload: dict) -> tuple[str, str | None]:
    response = client.call(command, payload)
    assert response.status != Status.OK, response.payload
    return Status(response.status).name, response.payload["field"]


def kinds(pump) -> list[str]:
    return [event.kind for event in pump.state.events]


def test_identify_declares_the_dead_volume_figures(client):
    identity = client.ok(Command.IDENTIFY)
    assert {key: identity[key] for key in ("tubing_ml", "catheter_ml_per_cm", "catheter_cm_min", "catheter_cm_max",
                                            "priming_ml_per_hour", "max_bolus_ml_per_hour")} == {
        "tubing_ml": 0.15, "catheter_ml_per_cm": 0.0026, "catheter_cm_min": 10.0, "catheter_cm_max": 110.0,
        "priming_ml_per_hour": 1.0, "max_bolus_ml_per_hour": 6.0}


@pytest.mark.parametrize(("change", "expected"), [
    ({"kind": "demand"}, ("BAD_ARGUMENT", "kind")),
    ({"kind": "flush"}, ("BAD_ARGUMENT", "kind")),
    ({"dose": 5.0}, ("BAD_ARGUMENT", "dose")),  # a therapeutic key in a prime
    ({"reason": "spare"}, ("BAD_ARGUMENT", "reason")),
    ({"catheter_cm": 9.9, "volume_ml": 0.15 + 9.9 * 0.0026}, ("OUT_OF_RANGE", "catheter_cm")),
    ({"catheter_cm": 110.1, "volume_ml": 0.15 + 110.1 * 0.0026}, ("OUT_OF_RANGE", "catheter_cm")),
    ({"catheter_segments_cm": [40.0, 15.0]}, ("BAD_ARGUMENT", "catheter_segments_cm")),
    ({"catheter_segments_cm": ["60"]}, ("BAD_ARGUMENT", "catheter_segments_cm")),
    ({"catheter_segments_cm": []}, ("BAD_ARGUMENT", "catheter_segments_cm")),  # given: at least one, adding up
    ({"volume_ml": 0.3}, ("BAD_ARGUMENT", "volume_ml")),  # typed, not the pump's own 0.306
    ({"volume_ml": 0.306 + 2e-6}, ("BAD_ARGUMENT", "volume_ml")),
])
def test_a_prime_is_refused_field_by_field_and_nothing_changes(client, pump, change, expected):
    assert refused(client, Command.BOLUS, {**PRIME, **change}) == expected
    assert "bolus_started" not in kinds(pump) and pump.state.line[0].concentration_per_ml == 500.0


def test_a_prime_volume_within_a_millionth_of_a_ml_and_its_catheter_limits_are_taken(client):
    answer = client.ok(Command.BOLUS, {**PRIME, "catheter_cm": 110.0, "volume_ml": 0.15 + 110 * 0.0026 + 9e-7})
    assert answer["volume_ml"] == pytest.approx(0.436) and answer["duration_min"] == pytest.approx(26.16)
    assert client.ok(Command.READ_STATUS)["line"]["catheter_cm"] == 110.0


def test_a_prime_needs_a_drug_and_its_volume_in_the_reservoir():
    empty = make_pump(catheter_cm=60.0)[0]
    assert refused(Client(Service(empty)), Command.BOLUS, PRIME) == ("REFUSED", "bolus_id")
    short = make_pump(program=simple(150), catheter_cm=60.0, volume_ml=0.3)[0]
    assert refused(Client(Service(short)), Command.BOLUS, PRIME) == ("REFUSED", "volume_ml")


def test_a_repeated_id_of_any_kind_never_delivers_twice(client, pump):
    first = client.ok(Command.BOLUS, PRIME)
    assert client.ok(Command.BOLUS, PRIME) == {**first, "repeated": True}
    assert refused(client, Command.BOLUS, {"bolus_id": "p1", "dose": 5.0, "duration_min": 5.0}) == (
        "BAD_ARGUMENT", "bolus_id")  # the prime's id for a therapeutic bolus
    assert refused(client, Command.BOLUS, {**PRIME, "reason": "catheter_revision"}) == ("BAD_ARGUMENT", "bolus_id")
    client.ok(SERVICE, {"action": "advance", "hours": 1})
    assert client.ok(Command.BOLUS, PRIME)["state"] == "done"  # after it ended: still not again
    assert kinds(pump).count("bolus_started") == 1
    # 0.306 mL primed, then 1 h - 18.36 min of 0.3 mL/day.
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.306 - 0.3 * (60 - 18.36) / 1440)


def test_bolus_status_tells_whether_a_bolus_started_and_never_acts(client, pump):
    assert client.ok(Command.BOLUS_STATUS, {"bolus_id": "p1"}) == {"known": False}
    assert kinds(pump).count("bolus_started") == 0
    client.ok(Command.BOLUS, PRIME)
    client.ok(SERVICE, {"action": "advance", "hours": 0.153})  # half the prime: 0.153 mL of 500 mcg/mL moved
    assert client.ok(Command.BOLUS_STATUS, {"bolus_id": "p1"}) == {
        "known": True, "bolus_id": "p1", "kind": "prime", "dose": pytest.approx(153.0),
        "volume_ml": pytest.approx(0.306), "duration_min": pytest.approx(18.36), "state": "delivering",
        "repeated": True, "action_number": 1, "delivered": pytest.approx(76.5)}
    assert refused(client, Command.BOLUS_STATUS, {"bolus_id": "no spaces"}) == ("BAD_ARGUMENT", "bolus_id")


def test_a_refill_with_a_bridge_is_one_action_and_a_repeat_answers_both(client, pump):
    request = {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
               "bridge": {"bolus_id": "br1", "volume_ml": 0.306}}
    saves = []
    pump.save = lambda: saves.append(1)  # counts the writes to the pump's memory
    answer = client.ok(Command.REFILL, request)
    assert len(saves) == 1
    assert answer["bridge"] == {"bolus_id": "br1", "kind": "bridge", "dose": pytest.approx(153.0),
                                "volume_ml": pytest.approx(0.306), "duration_min": pytest.approx(1468.8),
                                "state": "delivering", "repeated": False, "action_number": 2}
    again = client.ok(Command.REFILL, request)
    assert again == {**answer, "repeated": True, "bridge": {**answer["bridge"], "repeated": True}}
    assert client.ok(Command.BOLUS, {"bolus_id": "br1", "kind": "bridge", "volume_ml": 0.306,
                                     "concentration_per_ml": 500.0})["repeated"] is True
    assert kinds(pump).count("refill") == kinds(pump).count("bolus_started") == 1
    started = [event for event in pump.state.events if event.kind == "bolus_started"][0].detail
    assert (started["kind"], started["concentration_per_ml"], started["dose"]) == ("bridge", 500.0, pytest.approx(153))


@pytest.mark.parametrize(("bridge", "drug", "expected"), [
    ({"bolus_id": "br1", "volume_ml": 0.306}, None, ("REFUSED", "bridge.bolus_id")),  # the same drug: nothing to bridge
    ({"bolus_id": "br1", "volume_ml": 0.3}, BACLOFEN_1000, ("BAD_ARGUMENT", "bridge.volume_ml")),
    ({"bolus_id": "br1"}, BACLOFEN_1000, ("BAD_ARGUMENT", "bridge.volume_ml")),
    ({"bolus_id": "bad id", "volume_ml": 0.306}, BACLOFEN_1000, ("BAD_ARGUMENT", "bridge.bolus_id")),
    ({"bolus_id": "br1", "volume_ml": 0.306},
     {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 10}, ("REFUSED", "bridge.bolus_id")),  # stops
])
def test_a_refill_whose_bridge_would_be_refused_is_refused_whole(client, pump, bridge, drug, expected):
    request = {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": drug, "bridge": bridge}
    assert refused(client, Command.REFILL, request) == expected
    assert "refill" not in kinds(pump) and pump.state.drug is not None
    assert pump.state.drug.concentration_per_ml == 500 and pump.state.volume_ml == 20.0


def test_a_bridge_id_already_used_is_refused(client, pump):
    client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 5.0, "duration_min": 1.0})
    client.ok(SERVICE, {"action": "advance", "hours": 0.1})
    request = {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
               "bridge": {"bolus_id": "b1", "volume_ml": 0.306}}
    assert refused(client, Command.REFILL, request) == ("BAD_ARGUMENT", "bridge.bolus_id")


def test_a_bridge_by_itself_is_checked_against_the_line(client, pump):
    bridge = {"bolus_id": "br1", "kind": "bridge", "volume_ml": 0.306, "concentration_per_ml": 500.0}
    assert refused(client, Command.BOLUS, bridge) == ("REFUSED", "bolus_id")  # nothing to bridge yet
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000})
    assert refused(client, Command.BOLUS, {**bridge, "concentration_per_ml": 1000.0}) == (
        "BAD_ARGUMENT", "concentration_per_ml")
    assert refused(client, Command.BOLUS, {**bridge, "volume_ml": 0.306 + 0.0051}) == ("BAD_ARGUMENT", "volume_ml")
    client.ok(SERVICE, {"action": "advance", "hours": 24})  # 0.15 mL of the new drug in: 0.156 mL of the old left
    assert refused(client, Command.BOLUS, bridge) == ("BAD_ARGUMENT", "volume_ml")
    answer = client.ok(Command.BOLUS, {**bridge, "volume_ml": 0.156})
    assert (answer["dose"], answer["duration_min"]) == (pytest.approx(78.0), pytest.approx(0.52 * 1440))


def test_a_line_with_spinal_fluid_needs_a_prime_not_a_bridge(client, pump):
    client.ok(Command.BOLUS, PRIME)
    client.ok(SERVICE, {"action": "advance", "hours": 0.1})
    client.ok(Command.CANCEL_BOLUS, {"bolus_id": "p1"})
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000})
    response = client.call(Command.BOLUS, {"bolus_id": "br1", "kind": "bridge", "volume_ml": 0.206,
                                           "concentration_per_ml": 0.0})
    assert (response.status, response.payload["field"]) == (Status.REFUSED, "bolus_id")
    assert "spinal fluid" in response.payload["error"]


def test_a_bridge_the_motor_could_not_run_is_out_of_range(client, pump):
    # After a change to 1000 mcg/mL, 30000 mcg/day is 30 mL/day at the old 500 mcg/mL: above the 24 mL/day maximum.
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000})
    client.write(simple(20000, BACLOFEN_1000))  # 20 mL/day at 1000; 40 mL/day at 500
    response = client.call(Command.BOLUS, {"bolus_id": "br1", "kind": "bridge", "volume_ml": 0.306,
                                           "concentration_per_ml": 500.0})
    assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "volume_ml")
    client.write(STOPPED_1000)
    assert refused(client, Command.BOLUS, {"bolus_id": "br1", "kind": "bridge", "volume_ml": 0.306,
                                           "concentration_per_ml": 500.0}) == ("REFUSED", "bolus_id")


def test_a_program_stopped_while_a_bridge_runs_ends_the_bridge(client, pump):
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
                               "bridge": {"bolus_id": "br1", "volume_ml": 0.306}})
    client.write(STOPPED_1000)
    cancelled = [event for event in pump.state.events if event.kind == "bolus_cancelled"]
    assert cancelled[0].detail["reason"] == "therapy_stopped" and client.ok(Command.READ_STATUS)["bolus"] is None


def test_an_empty_pump_refilled_at_a_new_concentration_takes_its_bridge():
    pump = make_pump(program=simple(150), catheter_cm=60.0, volume_ml=0.0)[0]
    client = Client(Service(pump, service_enabled=True))
    request = {"refill_id": "r1", "withdrawn_ml": 0.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
               "bridge": {"bolus_id": "br1", "volume_ml": 0.306}}
    assert client.ok(Command.REFILL, request)["bridge"]["state"] == "delivering"
    client.ok(SERVICE, {"action": "motor_stall"})  # the bridge ends, the old drug still in the line
    response = client.call(Command.REFILL, {**request, "refill_id": "r2", "bridge": {"bolus_id": "br2",
                                                                                      "volume_ml": 0.306}})
    assert (response.status, response.payload["field"]) == (Status.REFUSED, "bridge.bolus_id")
    assert "motor_stall" in response.payload["error"] and [r.refill_id for r in pump.state.refills] == ["r1"]


def test_a_bridge_within_five_thousandths_of_a_ml_bridges_the_pumps_own_figure(client, pump):
    # The line drains between the programmer's status read and its request: 0.31 mL asked, 0.306 mL in the line.
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000})
    bridge = {"bolus_id": "br1", "kind": "bridge", "volume_ml": 0.31, "concentration_per_ml": 500.0}
    answer = client.ok(Command.BOLUS, bridge)
    assert (answer["volume_ml"], answer["dose"]) == (pytest.approx(0.306), pytest.approx(153.0))  # 0.306 x 500
    assert pump.state.active_bolus.volume_ml == pytest.approx(0.306)
    # A repeat is the same request again: judged within 1e-6 mL of the first request's 0.31, not of the line.
    assert client.ok(Command.BOLUS, {**bridge, "volume_ml": 0.31 + 9e-7})["repeated"] is True
    assert refused(client, Command.BOLUS, {**bridge, "volume_ml": 0.306}) == ("BAD_ARGUMENT", "bolus_id")
    assert kinds(pump).count("bolus_started") == 1


def test_a_refills_bridge_within_the_tolerance_and_its_repeat_within_a_millionth_of_a_ml(client, pump):
    request = {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
               "bridge": {"bolus_id": "br1", "volume_ml": 0.302}}
    assert client.ok(Command.REFILL, request)["bridge"]["volume_ml"] == pytest.approx(0.306)
    again = client.ok(Command.REFILL, {**request, "bridge": {"bolus_id": "br1", "volume_ml": 0.302 + 9e-7}})
    assert again["repeated"] is True and again["bridge"]["repeated"] is True
    assert refused(client, Command.REFILL, {**request, "bridge": {"bolus_id": "br1", "volume_ml": 0.302 + 2e-6}}) == (
        "BAD_ARGUMENT", "refill_id")
    without_bridge = {key: value for key, value in request.items() if key != "bridge"}
    assert refused(client, Command.REFILL, without_bridge) == ("BAD_ARGUMENT", "refill_id")
    assert kinds(pump).count("refill") == 1


def test_a_repeated_refills_bridge_volume_is_compared_within_a_millionth_of_a_ml_as_a_bolus_repeat(client, pump):
    request = {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
               "bridge": {"bolus_id": "br1", "volume_ml": 0.306}}
    client.ok(Command.REFILL, request)
    again = client.ok(Command.REFILL, {**request, "bridge": {"bolus_id": "br1", "volume_ml": 0.306 + 9e-7}})
    assert again["repeated"] is True and kinds(pump).count("refill") == 1


def test_a_repeated_refill_whose_bridge_id_was_forgotten_answers_without_bridge(client, pump):
    request = {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
               "bridge": {"bolus_id": "br1", "volume_ml": 0.306}}
    client.ok(Command.REFILL, request)
    client.ok(Command.CANCEL_BOLUS, {"bolus_id": "br1"})
    for number in range(64):  # 64 later boluses: the pump remembers the last 64 bolus ids
        client.ok(Command.BOLUS, {"bolus_id": f"b{number}", "dose": 1.0, "duration_min": 1.0})
        client.ok(SERVICE, {"action": "advance", "hours": 0.02})
    again = client.ok(Command.REFILL, request)
    assert again["repeated"] is True and "bridge" not in again
    assert client.ok(Command.BOLUS_STATUS, {"bolus_id": "br1"}) == {"known": False}
    assert kinds(pump).count("refill") == 1


def test_cancel_bolus_answers_the_kind_and_the_ml_the_bolus_moved(client, pump):
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": BACLOFEN_1000,
                               "bridge": {"bolus_id": "br1", "volume_ml": 0.306}})
    client.ok(SERVICE, {"action": "advance", "hours": 2.4})  # 0.3 mL/day at the old 500 mcg/mL: 0.03 mL in 2.4 h
    answer = client.ok(Command.CANCEL_BOLUS, {"bolus_id": "br1"})
    assert answer == {"bolus_id": "br1", "kind": "bridge", "delivered": pytest.approx(15.0),  # 0.03 mL x 500, not 1000
                      "volume_ml": pytest.approx(0.03), "state": "cancelled"}
    assert client.ok(Command.CANCEL_BOLUS, {"bolus_id": "br1"}) == answer  # a resend: the same figures
    client.ok(Command.BOLUS, {"bolus_id": "t1", "dose": 10.0, "duration_min": 10.0})  # 0.01 mL at 1000 mcg/mL
    client.ok(SERVICE, {"action": "advance", "hours": 1})
    assert client.ok(Command.CANCEL_BOLUS, {"bolus_id": "t1"}) == {
        "bolus_id": "t1", "kind": "therapeutic", "delivered": pytest.approx(10.0), "volume_ml": pytest.approx(0.01),
        "state": "done"}


def test_ids_starting_demand_are_the_pumps_own(client, pump):
    # The finding: a client's "demand-3" and the pump's third action, a demand bolus, would share one id, and
    # CANCEL_BOLUS "demand-3" would cancel the client's old bolus while the demand bolus kept running.
    for request in ({"bolus_id": "demand-3", "dose": 5.0, "duration_min": 5.0},
                    {**PRIME, "bolus_id": "demand-3"},
                    {"bolus_id": "demand-3", "kind": "bridge", "volume_ml": 0.306, "concentration_per_ml": 500.0}):
        assert refused(client, Command.BOLUS, request) == ("BAD_ARGUMENT", "bolus_id")
    assert refused(client, Command.REFILL, {"refill_id": "r0", "withdrawn_ml": 18.0, "added_ml": 20.0,
                                            "drug": BACLOFEN_1000,
                                            "bridge": {"bolus_id": "demand-3", "volume_ml": 0.306}}) == (
        "BAD_ARGUMENT", "bridge.bolus_id")
    assert pump.state.boluses == [] and "refill" not in kinds(pump)
    client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 5.0, "duration_min": 5.0})  # action 1
    client.ok(SERVICE, {"action": "advance", "hours": 1})
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0, "drug": None})  # action 2
    client.ok(Command.SET_DEMAND, {"enabled": True, "dose": 50.0, "duration_min": 10.0, "lockout_min": 60.0,
                                   "max_per_day": 3})
    assert client.ok(SERVICE, {"action": "press_button"})["bolus_id"] == "demand-3"  # action 3
    assert [bolus.bolus_id for bolus in pump.state.boluses].count("demand-3") == 1
    cancelled = client.ok(Command.CANCEL_BOLUS, {"bolus_id": "demand-3"})
    assert (cancelled["kind"], cancelled["state"]) == ("demand", "cancelled")
    assert client.ok(Command.READ_STATUS)["bolus"] is None  # the demand bolus itself stopped
