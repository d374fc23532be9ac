"""The emulator's side of the encodings agreed in HELLO (docs/protocol.md sections 3 and 6): what it agrees to,
how it answers READ_EVENTS afterwards, and the pump built before encodings (``--no-compact``). In-process on a
fake clock, plus the command-line flag on a real emulator."""

from __future__ import annotations

import pytest

from emulator.events import log_event
from emulator.service import Service
from protocol.codes import Command, Status
from protocol.compact import encode_page
from protocol.frame import MAX_PAYLOAD, Frame
from protocol.secure import programmer_channel
from tests.support.emulator_support import (TEST_KEY, TEST_PROGRAMMER, Client, WireClient, hello_payload, make_pump,
                                            paired_args)


@pytest.fixture
def pump(tmp_path):
    pump, _ = make_pump(tmp_path / "pump.json")
    for minute in range(70):  # 70 events after power-on time: more than a compact page
        log_event(pump.state, pump.state.pump_time, "low_alarm_set", old_ml=2.0, new_ml=2.0 + minute / 10)
    return pump


def hello(service: Service, offered: object) -> tuple[Client, Frame]:
    """A paired client's HELLO offering ``offered`` (in its session when the answer is OK)."""
    client = Client(service, hello=False)
    service.pump.add_paired(TEST_PROGRAMMER, TEST_KEY)
    request = hello_payload(encodings=offered)
    answer = client.call(Command.HELLO, request)
    if answer.status == Status.OK:
        client.channel = programmer_channel(TEST_KEY, TEST_PROGRAMMER, request, answer.payload)
    return client, answer


def without_session_keys(answer: dict) -> dict:
    """A HELLO answer without its nonce and confirmation (fresh in every session)."""
    return {key: value for key, value in answer.items() if key not in ("nonce", "confirm")}


@pytest.mark.parametrize("offered, agreed", [
    (["compact-1"], "compact-1"), (["json", "compact-1"], "json"), (["compact-9", "compact-1"], "compact-1"),
    (["compact-9"], "json"), ([], "json")])
def test_the_pump_agrees_the_first_offered_encoding_it_knows_else_json(pump, offered, agreed):
    _, answer = hello(Service(pump), offered)
    assert answer.status == Status.OK
    assert without_session_keys(answer.payload) == {"protocol": 2, "model": "ITB-20", "serial": pump.state.serial,
                                                    "encoding": agreed}


def test_a_hello_without_encodings_is_answered_as_before_and_pages_stay_json(pump):
    client = Client(Service(pump))
    answer = client.call(Command.READ_EVENTS, {"start": 0, "count": 16})
    assert answer.status == Status.OK and not answer.compact and len(answer.payload["events"]) == 16
    refused = client.call(Command.READ_EVENTS, {"start": 0, "count": 17})
    assert (refused.status, refused.payload["field"]) == (Status.OUT_OF_RANGE, "count")


def test_after_compact_is_agreed_event_pages_are_compact_up_to_64_and_other_answers_json(pump):
    client, _ = hello(Service(pump), ["compact-1"])
    page = client.call(Command.READ_EVENTS, {"start": 0, "count": 64})
    assert page.status == Status.OK and page.compact and [e["index"] for e in page.payload["events"]] == list(range(64))
    assert page.payload == pump.read_events(0, 64, 64)  # the same page JSON would carry
    assert not client.call(Command.READ_STATUS).compact
    refused = client.call(Command.READ_EVENTS, {"start": 0, "count": 65})
    assert (refused.status, refused.payload["field"], refused.compact) == (Status.OUT_OF_RANGE, "count", False)
    assert "0..64" in refused.payload["error"]


def test_a_new_hello_without_encodings_goes_back_to_json(pump):
    service = Service(pump)
    client, _ = hello(service, ["compact-1"])
    assert without_session_keys(client.hello()) == {"protocol": 2, "model": "ITB-20", "serial": pump.state.serial}
    assert not client.call(Command.READ_EVENTS, {"start": 0, "count": 1}).compact


@pytest.mark.parametrize("offered", ["compact-1", [1], ["x"] * 17, None])
def test_malformed_encodings_are_bad_argument_and_open_no_session(pump, offered):
    client, answer = hello(Service(pump), offered)
    assert (answer.status, answer.payload["field"]) == (Status.BAD_ARGUMENT, "encodings")
    assert client.call(Command.READ_STATUS).status == Status.NOT_AUTHENTICATED


def test_a_pump_built_before_encodings_refuses_the_key_as_unknown_and_speaks_json(pump):
    service = Service(pump, compact=False)
    client, answer = hello(service, ["compact-1"])
    assert (answer.status, answer.payload["field"]) == (Status.BAD_ARGUMENT, "encodings")
    assert answer.payload["error"] == "unknown field 'encodings'"
    assert without_session_keys(client.hello()) == {"protocol": 2, "model": "ITB-20", "serial": pump.state.serial}
    assert client.call(Command.READ_EVENTS, {"start": 0, "count": 17}).status == Status.OUT_OF_RANGE


def test_a_page_the_compact_form_cannot_carry_goes_as_json(pump):
    client, _ = hello(Service(pump), ["compact-1"])
    client.call(Command.READ_STATUS)  # the session has started (and its start is saved) before the odd event
    log_event(pump.state, pump.state.pump_time, "clock_set", old="\ud800", new="x")  # a lone surrogate
    total = len(pump.state.events)
    answer = client.call(Command.READ_EVENTS, {"start": total - 2, "count": 2})
    assert answer.status == Status.OK and not answer.compact
    assert answer.payload["events"][1]["detail"]["old"] == "\ud800"
    assert client.call(Command.READ_EVENTS, {"start": 0, "count": 2}).compact


def test_a_compact_page_too_large_for_a_frame_is_frame_too_large(tmp_path):
    pump, _ = make_pump(tmp_path / "pump.json")
    for number in range(64):  # the longest ids and text the pump takes: 64 characters, 4 bytes each in UTF-8
        log_event(pump.state, pump.state.pump_time, "bolus_started", bolus_id=f"{number:064d}",
                  dose=1 / 3, dose_unit="\U0001F489" * 64, volume_ml=0.1 + 0.2, duration_min=2 / 3)
    assert len(encode_page(pump.read_events(1, 64, 64))) > MAX_PAYLOAD
    client, _ = hello(Service(pump), ["compact-1"])
    answer = client.call(Command.READ_EVENTS, {"start": 1, "count": 64})
    assert (answer.status, answer.payload["field"]) == (Status.FRAME_TOO_LARGE, None)
    assert client.call(Command.READ_EVENTS, {"start": 1, "count": 16}).compact


@pytest.mark.parametrize("flags, hello_status", [((), Status.OK), (("--no-compact",), Status.BAD_ARGUMENT)])
def test_the_no_compact_flag_makes_the_process_a_pump_built_before_encodings(start_emulator, tmp_path, flags,
                                                                             hello_status):
    emulator = start_emulator(*flags, *paired_args(tmp_path))
    client = WireClient(emulator.url)
    try:
        answer = client.call(Command.HELLO, hello_payload(encodings=["compact-1"]))
        assert answer.status == hello_status
        assert answer.payload.get("encoding", answer.payload.get("field")) == (
            "compact-1" if hello_status == Status.OK else "encodings")
    finally:
        client.port.close()
