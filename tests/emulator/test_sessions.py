"""Sessions, pairing and the paired list, in-process on a fake clock: the pump's rules of docs/protocol.md
section 6 one by one (the attacks over a real link are in test_secure_link.py)."""

from __future__ import annotations

import io
import json

import pytest

from emulator.pairing_window import PairingWindow
from emulator.paired_with import PairedWithError, read_key_file
from emulator.pump import Pump
from emulator.service import SEALED_OVERHEAD, Service
from emulator.sessions import Sessions
from emulator.state import load_state
from protocol.codes import MAX_PAIRED_PROGRAMMERS, MAX_PAYLOAD, PAIRING_ATTEMPTS, Command, Status
from protocol.frame import Frame
from protocol.pairing import ProgrammerPairing
from tests.support.emulator_support import (BACLOFEN_500, SERVICE, TEST_KEY, TEST_PROGRAMMER, Client, hello_payload,
                                            make_pump, pair, simple, write_test_keys)


class Bench:
    """One pump with its sessions and window on one fake clock, and what the window printed."""

    def __init__(self, tmp_path, idle_timeout_s: float = 60.0):
        self.pump, self.clock = make_pump(tmp_path / "pump.json", program=simple(150))
        self.out = io.StringIO()
        self.service = Service(self.pump, service_enabled=True,
                               sessions=Sessions(self.pump, idle_timeout_s, self.clock),
                               window=PairingWindow(self.pump, self.out, self.clock))

    def client(self, programmer_id: str = TEST_PROGRAMMER, key: bytes = TEST_KEY, hello: bool = True) -> Client:
        return Client(self.service, hello=hello, programmer_id=programmer_id, key=key)

    def code(self) -> str:
        return self.out.getvalue().splitlines()[-1].split()[2]

    def kinds(self) -> list[str]:
        return [event.kind for event in self.pump.state.events]


@pytest.fixture
def bench(tmp_path) -> Bench:
    return Bench(tmp_path)


def test_a_session_starts_at_its_first_sealed_frame_and_a_second_one_waits(bench):
    first = bench.client()
    assert "session_started" not in bench.kinds()  # HELLO alone: pending
    assert first.ok(Command.READ_STATUS)
    started = bench.pump.state.events[-1]
    assert (started.kind, started.detail["programmer_id"]) == ("session_started", TEST_PROGRAMMER)
    second = bench.client(hello=False)
    response = second.call(Command.HELLO, hello_payload())
    assert (response.status, response.payload["field"]) == (Status.SESSION_IN_USE, None)
    bench.clock.now += 59.9  # not yet idle
    assert second.call(Command.HELLO, hello_payload()).status == Status.SESSION_IN_USE
    bench.clock.now += 0.2  # 60.1 s since the last authentic frame: idle
    third = bench.client()
    assert third.ok(Command.READ_STATUS)
    ended = [event.detail["reason"] for event in bench.pump.state.events if event.kind == "session_ended"]
    assert ended == ["idle"]
    # The first session's frames are answered in clear: no session on that connection is alive any more.
    assert first.call(Command.READ_STATUS).status == Status.NOT_AUTHENTICATED


def test_pending_sessions_block_nobody_and_end_when_another_starts(bench):
    pending = bench.client()  # says HELLO, never seals anything
    active = bench.client()
    assert active.ok(Command.READ_STATUS)
    assert pending.call(Command.READ_STATUS).status == Status.NOT_AUTHENTICATED
    assert bench.kinds().count("session_started") == 1 and "session_ended" not in bench.kinds()


def test_the_stage_belongs_to_its_session_and_goes_with_it(bench):
    first = bench.client()
    checksum = first.ok(Command.STAGE_PROGRAM, {"program": simple(160)})["checksum"]
    first.ok(Command.END_SESSION)
    assert bench.pump.staged is None
    second = bench.client()
    response = second.call(Command.COMMIT_PROGRAM, {"checksum": checksum})
    assert (response.status, response.payload["field"]) == (Status.NOT_STAGED, "checksum")
    # A stage left by an in-process caller without a session is not any session's to commit either.
    second.ok(Command.STAGE_PROGRAM, {"program": simple(160)})
    bench.pump.staged_by = "another session"
    assert second.call(Command.COMMIT_PROGRAM, {"checksum": checksum}).status == Status.NOT_STAGED
    ended = [event.detail["reason"] for event in bench.pump.state.events if event.kind == "session_ended"]
    assert ended == ["ended"]


def test_a_new_hello_replaces_the_connection_s_session_and_its_stage(bench):
    client = bench.client()
    client.ok(Command.STAGE_PROGRAM, {"program": simple(160)})
    client.hello()
    assert bench.pump.staged is None
    assert bench.pump.state.events[-1].detail["reason"] == "replaced"


def test_hello_and_pairing_are_refused_sealed_and_identify_is_answered_sealed(bench):
    client = bench.client()
    assert client.channel is not None
    sealed_hello = client.connection.handle(client.channel.seal(client.request(Command.HELLO, {})))
    assert sealed_hello is not None and client.channel.open(sealed_hello).frame.status == Status.REFUSED
    assert client.ok(Command.IDENTIFY)["serial"] == bench.pump.state.serial


@pytest.mark.parametrize("payload, field", [
    ({"protocol": 2, "client": "x", "programmer_id": "-bad", "nonce": "ab" * 16}, "programmer_id"),
    ({"protocol": 2, "client": "x", "programmer_id": "ok", "nonce": "AB" * 16}, "nonce"),
    ({"protocol": 2, "client": "x", "programmer_id": "ok", "nonce": "ab" * 15}, "nonce"),
    ({"protocol": 2, "client": "x", "programmer_id": "ok"}, "nonce"),
    ({"protocol": 2, "client": "x", "programmer_id": "ok", "nonce": "ab" * 16, "extra": 1}, "extra"),
])
def test_a_malformed_hello_is_bad_argument_naming_the_field(bench, payload, field):
    response = bench.client(hello=False).call(Command.HELLO, payload)
    assert (response.status, response.payload["field"]) == (Status.BAD_ARGUMENT, field)


@pytest.mark.parametrize("text, status", [(MAX_PAYLOAD - SEALED_OVERHEAD - 9, Status.FRAME_TOO_LARGE),
                                          (MAX_PAYLOAD - SEALED_OVERHEAD - 10, Status.OK)])
def test_a_sealed_answer_is_kept_within_a_frame(bench, monkeypatch, text, status):
    # An answer just over what a sealed frame can carry is FRAME_TOO_LARGE, not a frame that cannot be sent.
    # {"pad":"..."} is 10 bytes more than its text.
    monkeypatch.setattr(bench.pump, "identify", lambda: {"pad": "x" * text})
    response = bench.client().call(Command.IDENTIFY)
    assert response.status == status


# -- pairing ---------------------------------------------------------------------------------------------------


def test_service_opens_the_pairing_window_and_prints_its_line(bench):
    client = bench.client()
    assert client.ok(SERVICE, {"action": "open_pairing", "seconds": 30})["reservoir"]
    line = bench.out.getvalue()
    assert line.startswith("pairing code ") and line.endswith(" for 30 s\n") and len(bench.code()) == 6
    assert bench.pump.state.events[-1].detail == {"seconds": 30}
    for seconds in (0, 601):
        response = client.call(SERVICE, {"action": "open_pairing", "seconds": seconds})
        assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "seconds")
    assert client.call(SERVICE, {"action": "open_pairing", "seconds": 1.5}).status == Status.BAD_ARGUMENT
    assert bench.code() not in json.dumps([event.detail for event in bench.pump.state.events])


def test_pairing_adds_the_programmer_and_closes_the_window(bench):
    bench.service.window.open(60)
    stranger = bench.client(hello=False)
    key = pair(stranger, bench.code(), "clinic-7")
    assert bench.pump.pair_key("clinic-7") == key
    assert bench.kinds()[-2:] == ["programmer_paired", "pairing_window_closed"]
    assert bench.pump.state.events[-1].detail == {"reason": "paired"}
    paired = bench.client("clinic-7", key)
    assert paired.ok(Command.READ_STATUS)


def test_the_window_closes_after_its_seconds(bench):
    bench.service.window.open(10)
    bench.clock.now += 10
    client = bench.client(hello=False)
    pairing = ProgrammerPairing(bench.code(), "late", bench.pump.state.serial)
    response = client.call(Command.PAIR_START, {"programmer_id": "late", "message": pairing.start().hex()})
    assert (response.status, response.payload["field"]) == (Status.REFUSED, None)
    assert bench.pump.state.events[-1].detail == {"reason": "timeout"}


def test_unfinished_attempts_count_and_a_new_start_replaces_the_unfinished_one(bench):
    bench.service.window.open(60)
    client = bench.client(hello=False)
    serial = bench.pump.state.serial
    for _ in range(PAIRING_ATTEMPTS - 1):  # started, never finished
        abandoned = ProgrammerPairing(bench.code(), "p", serial)
        assert client.call(Command.PAIR_START, {"programmer_id": "p", "message": abandoned.start().hex()}).status == \
            Status.OK
    response = client.call(Command.PAIR_FINISH, {"programmer_id": "q", "confirm": "00" * 32})
    assert (response.status, response.payload["field"]) == (Status.REFUSED, None)  # nothing pending for q
    key = pair(client, bench.code(), "p")  # the third attempt, with the code: it pairs
    assert bench.pump.pair_key("p") == key


@pytest.mark.parametrize("command, payload, field", [
    (Command.PAIR_START, {"programmer_id": "p", "message": "zz" * 33}, "message"),
    (Command.PAIR_START, {"programmer_id": "p", "message": "ab" * 32}, "message"),
    (Command.PAIR_START, {"programmer_id": "", "message": "ab" * 33}, "programmer_id"),
    (Command.PAIR_START, {"programmer_id": "p", "message": "ab" * 33, "code": "123456"}, "code"),
    (Command.PAIR_FINISH, {"programmer_id": "p", "confirm": "AB" * 32}, "confirm"),
    (Command.PAIR_FINISH, {"programmer_id": "p"}, "confirm"),
])
def test_malformed_pairing_requests_are_bad_argument_and_use_no_attempt(bench, command, payload, field):
    bench.service.window.open(60)
    client = bench.client(hello=False)
    response = client.call(command, payload)
    assert (response.status, response.payload["field"]) == (Status.BAD_ARGUMENT, field)
    assert bench.service.window.is_open and bench.service.window.attempts == 0


def test_an_invalid_spake2_message_uses_an_attempt(bench):
    bench.service.window.open(60)
    response = bench.client(hello=False).call(Command.PAIR_START, {"programmer_id": "p", "message": "00" * 33})
    assert (response.status, response.payload["field"]) == (Status.REFUSED, "message")
    assert bench.service.window.attempts == 1


def test_the_paired_list_forgets_the_least_recently_used_first(bench):
    keys = {f"p{number}": bytes([number]) * 32 for number in range(MAX_PAIRED_PROGRAMMERS - 1)}
    bench.pump.add_paired(TEST_PROGRAMMER, TEST_KEY)  # the first paired, then seven more: 8 in all
    for programmer_id, key in keys.items():
        bench.pump.add_paired(programmer_id, key)
    assert len(bench.pump.state.paired) == MAX_PAIRED_PROGRAMMERS
    assert bench.client().ok(Command.READ_STATUS)  # TEST_PROGRAMMER was the oldest; its session makes it the newest
    bench.pump.add_paired("ninth", bytes(32))
    assert [entry.programmer_id for entry in bench.pump.state.paired] == [
        *list(keys)[1:], TEST_PROGRAMMER, "ninth"]  # p0, the least recently used, is forgotten


def test_unpair_ends_the_programmer_s_sessions_and_forgets_it(bench, tmp_path):
    client = bench.client()
    client.ok(Command.STAGE_PROGRAM, {"program": simple(160)})
    assert client.ok(Command.UNPAIR) == {"unpaired": TEST_PROGRAMMER}
    assert bench.pump.pair_key(TEST_PROGRAMMER) is None and bench.pump.staged is None
    assert load_state(tmp_path / "pump.json").paired == []  # forgotten on disk before the answer left


# -- what the pump remembers ------------------------------------------------------------------------------------


def test_action_numbers_count_every_bolus_and_refill_and_survive_a_restart(tmp_path):
    pump, clock = make_pump(tmp_path / "pump.json")
    client = Client(Service(pump, service_enabled=True))
    assert client.refill()["action_number"] == 1
    client.write(simple(150))
    assert client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 50, "duration_min": 30})["action_number"] == 2
    assert client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 50, "duration_min": 30})["action_number"] == 2
    again = Pump(load_state(tmp_path / "pump.json"), pump.clock, tmp_path / "pump.json", clock)
    client = Client(Service(again, service_enabled=True))
    client.ok(Command.CANCEL_BOLUS, {"bolus_id": "b1"})
    refill = {"refill_id": "r2", "withdrawn_ml": 0.0, "added_ml": 10.0, "drug": BACLOFEN_500}
    assert client.ok(Command.REFILL, refill)["action_number"] == 3
    assert [event.detail.get("action_number") for event in again.state.events
            if event.kind in ("refill", "bolus_started")] == [1, 2, 3]


def test_paired_with_reads_the_key_for_this_pump_or_for_any(tmp_path):
    path = write_test_keys(tmp_path / "keys.json")
    key_file = read_key_file(path)
    assert (key_file.programmer_id, key_file.key_for("E20-000001")) == (TEST_PROGRAMMER, TEST_KEY)
    document = json.loads(path.read_text())
    document["pumps"] = {"E20-000001": document["pumps"]["*"]}
    path.write_text(json.dumps(document))
    assert read_key_file(path).key_for("E20-000001") == TEST_KEY
    with pytest.raises(PairedWithError, match=r"no key for this pump \(E20-000002\)"):
        read_key_file(path).key_for("E20-000002")


@pytest.mark.parametrize("document, message", [
    ("not json", "not JSON"),
    ({"format": "other"}, "not a programmer key file"),
    ({"format": "itb-pairing-keys/1", "programmer_id": "-x", "pumps": {}}, "programmer_id"),
    ({"format": "itb-pairing-keys/1", "programmer_id": "x", "pumps": {"*": {"key": "AAAA"}}}, "not 32 bytes"),
    ({"format": "itb-pairing-keys/1", "programmer_id": "x", "pumps": ["*"]}, "pumps is not an object"),
])
def test_an_unusable_paired_with_file_names_the_file_and_the_fault(tmp_path, document, message):
    path = tmp_path / "keys.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(PairedWithError, match=message) as error:
        read_key_file(path)
    assert str(path) in str(error.value)


def test_a_frame_that_is_a_response_is_never_answered(bench):
    client = bench.client()
    assert client.connection.handle(Frame(1, Command.READ_STATUS, 0, {}, True)) is None
