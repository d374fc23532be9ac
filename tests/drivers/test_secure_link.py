"""The driver's side of the secure link (protocol version 2), against a scripted pump on loopback (and, for a
session the pump ends, the real emulator).

The scripted pump speaks version 2 the way a pump must (``protocol.secure``), and here it misbehaves on purpose
in the ways a pump on a shared or hostile link could be made to: it is an impostor without the pair key, it
sends forged, replayed or clear answers, it loses the session in the middle of a bolus, another programmer holds
it, it speaks only the insecure version 1. What is checked is what the programmer then does: nothing is sealed
for an impostor, only authentic answers are taken, a bolus is delivered once, a change never goes over an
insecure link unless allowed, and the trace holds patient data only when asked to.
"""

from __future__ import annotations

import os
import time

import pytest
from tests.support.emulator_fixtures import LOOPBACK_LINK, ScriptedPeer, answer_bytes
from tests.support.emulator_support import TEST_KEY, TEST_PROGRAMMER, WireClient, hello_payload

from protocol import Command, Frame, Status, encode_frame
from protocol.pairing import PumpPairing
from protocol.secure import programmer_channel
from protocol.session_crypto import OVERHEAD_BYTES
from drivers.serial_driver import SerialDriver
from programmer.errors import InputError, LinkError, LinkNotSecure, NotPaired, PairingFailed
from programmer.pairing_keys import in_memory_keys, load_pairing_keys
from programmer.program import Drug

IDENTITY = {"model": "TEST", "serial": "TEST-0001", "firmware": "t", "capacity_ml": 20.0, "min_rate_ml_per_day": 0.048,
            "max_rate_ml_per_day": 24.0, "max_steps_per_day": 13, "max_cycle_days": 7, "event_log_size": 512}
STATUS = {"pump_time": "2026-01-02T03:04:05", "battery": {"status": "ok", "percent": 80.0},
          "reservoir": {"volume_ml": 12.5, "low_alarm_ml": 2.0, "capacity_ml": 20.0}, "alarms": [],
          "program_checksum": "sha256:" + "0" * 64, "cycle_phase_min": 0.0, "bolus": None}
PATIENT_MARK = "baclofen-lot-7731"
"""A value only a pump's answer holds: where it shows up in a trace, patient data is in the trace."""


def answering(request: Frame, peer: ScriptedPeer) -> None:
    """A pump that answers IDENTIFY, READ_STATUS and SET_LOW_ALARM like a real one, in the session."""
    if request.command == Command.IDENTIFY:
        peer.reply(request, IDENTITY)
    elif request.command == Command.READ_STATUS:
        peer.reply(request, STATUS)
    elif request.command == Command.SET_LOW_ALARM:
        peer.reply(request, {"low_alarm_ml": request.payload["low_alarm_ml"]})


def connect(peer: ScriptedPeer, **options) -> SerialDriver:
    return connect_url(peer.url, **options)


def connect_url(url: str, **options) -> SerialDriver:
    return SerialDriver(url, max_retries=2, **LOOPBACK_LINK, **options)


def commands(peer: ScriptedPeer) -> list[Command]:
    return [Command(frame.command) for _, frame in peer.requests]


def test_requests_in_a_session_are_sealed_and_their_answers_opened(peers):
    peer = peers(answering)
    driver = connect(peer)
    assert driver.secure and driver.programmer_id == "test-programmer"
    assert driver.read_status().volume_ml == 12.5
    driver.close()
    status_frames = [frame for _, frame in peer.sealed if frame.command == Command.READ_STATUS]
    assert len(status_frames) == 1 and status_frames[0].sealed[0] == 0xE5 and status_frames[0].payload == {}
    assert len(status_frames[0].sealed) == 1 + OVERHEAD_BYTES + len(b"{}")  # mark, counter, tag around "{}"
    assert commands(peer) == [Command.HELLO, Command.READ_STATUS, Command.END_SESSION]


def test_a_pump_that_cannot_prove_it_holds_the_pair_key_gets_nothing_but_hello(peers):
    peer = peers(answering)
    peer.pair_key = bytes(32)  # an impostor: it answers as TEST-0001 without that pump's key
    with pytest.raises(LinkError, match=r"^hello: the pump answering as TEST serial TEST-0001 could not prove it "
                                        r"holds this programmer's pair key .*an impostor.*nothing else was sent"):
        connect(peer)
    assert commands(peer) == [Command.HELLO]


def test_forged_replayed_and_clear_answers_are_ignored_and_the_authentic_one_taken(peers):
    spare: list[bytes] = []

    def tricky(request: Frame, peer: ScriptedPeer) -> None:
        if request.command != Command.READ_STATUS:
            return answering(request, peer)
        if not spare:  # the first READ_STATUS: seal, and keep, an answer to the next one's seq, then answer this one
            ahead = Frame((request.seq + 1) % 256, Command.READ_STATUS, Status.OK, {**STATUS, "alarms": ["x"]}, True)
            spare.append(encode_frame(peer.channel.seal(ahead)))
            return peer.reply(request, STATUS)
        peer.send(spare[0])  # authentic, but under an older counter than the last answer: a replay
        forged = Frame(request.seq, Command.READ_STATUS, Status.OK, {}, True, sealed=b"\xe5" + os.urandom(40))
        peer.send(encode_frame(forged))
        peer.send(answer_bytes(request, {**STATUS, "reservoir": {**STATUS["reservoir"], "volume_ml": 0.5}}))
        peer.reply(request, {**STATUS, "reservoir": {**STATUS["reservoir"], "volume_ml": 11.0}})

    peer = peers(tricky)
    lines: list[str] = []
    driver = connect(peer, trace=lines.append)
    assert driver.read_status().volume_ml == 12.5
    assert driver.read_status().volume_ml == 11.0
    driver.close()
    assert any("does not open in this session (replayed)" in line for line in lines)
    assert any("does not open in this session (forged)" in line for line in lines)
    assert any("in clear inside a secure session" in line for line in lines)
    assert len([frame for frame in peer.requests_for(Command.READ_STATUS)]) == 2  # no resend was needed


def test_a_resend_in_the_same_session_is_the_same_sealed_bytes_and_is_answered_from_the_cache(peers):
    handled: list[Frame] = []

    def first_answer_lost(request: Frame, peer: ScriptedPeer) -> None:
        if request.command == Command.READ_STATUS:
            handled.append(request)
            peer.answer_bytes(request, STATUS)  # sealed and kept for a resend, but lost on the way
            return None
        return answering(request, peer)

    peer = peers(first_answer_lost)
    driver = connect(peer)
    assert driver.read_status().volume_ml == 12.5
    driver.close()
    copies = [frame for _, frame in peer.sealed if frame.command == Command.READ_STATUS]
    assert len(copies) == 2 and copies[0] == copies[1] and copies[0].sealed
    assert len(handled) == 1  # the resend was answered from the cache, never acted on again


def test_a_session_lost_during_a_bolus_is_reopened_and_the_bolus_delivered_once(peers):
    delivered: dict[str, int] = {}

    def loses_session_after_delivering(request: Frame, peer: ScriptedPeer) -> None:
        if request.command != Command.BOLUS:
            return answering(request, peer)
        bolus_id = request.payload["bolus_id"]
        repeated = bolus_id in delivered
        delivered[bolus_id] = delivered.get(bolus_id, 0) + (0 if repeated else 1)
        if not repeated:
            peer.channel = None  # the pump ended the session (idle, restarted): the answer never leaves
            return None
        peer.reply(request, {"bolus_id": bolus_id, "dose": 50.0, "volume_ml": 0.1, "state": "delivering",
                             "repeated": True})

    peer = peers(loses_session_after_delivering)
    driver = connect(peer)
    outcome = driver.bolus("bolus-0001", 50.0, 10.0)
    driver.close()
    assert delivered == {"bolus-0001": 1}
    assert outcome.repeated and outcome.bolus_id == "bolus-0001"
    assert commands(peer) == [Command.HELLO, Command.BOLUS, Command.HELLO, Command.BOLUS, Command.END_SESSION]
    first, second = peer.requests_for(Command.BOLUS)
    assert first.payload == second.payload  # the same idempotency id, sealed afresh in the new session
    sealed = [frame for _, frame in peer.sealed if frame.command == Command.BOLUS]
    assert len(sealed) == 3 and sealed[0] == sealed[1] != sealed[2]  # a resend, then NOT_AUTHENTICATED, then anew


def test_session_in_use_says_another_programmer_holds_the_pump_and_when_it_is_released(peers):
    peer = peers(answering)
    peer.hello_status = Status.SESSION_IN_USE
    with pytest.raises(LinkError, match=r"^connect: another programmer holds a session with this pump "
                                        r"\(SESSION_IN_USE\): it is released when that programmer ends it or "
                                        r"disconnects, or after 60 s without a frame from it; try again then"):
        connect(peer)
    assert commands(peer) == [Command.HELLO]  # retried never


def test_a_pump_that_does_not_know_the_programmer_is_named_with_the_command_that_pairs(peers):
    peer = peers(answering)
    peer.hello_status = Status.NOT_AUTHENTICATED
    with pytest.raises(NotPaired) as raised:
        connect(peer)
    assert (raised.value.model, raised.value.serial, raised.value.field) == ("TEST", "TEST-0001", "pairing")
    assert f"pump-programmer pair {peer.url} --code NNNNNN" in str(raised.value)
    assert commands(peer) == [Command.HELLO, Command.IDENTIFY]


def test_an_insecure_pump_is_read_but_refused_changes_unless_allowed(peers):
    peer = peers(answering, secure=False)
    driver = connect(peer)
    assert not driver.secure and driver.read_status().low_alarm_ml == 2.0
    with pytest.raises(LinkNotSecure, match=r"^set low alarm: the link to socket://\S+ is not secure: the pump speaks "
                                            r"protocol version 1 .*nothing that changes it is sent"):
        driver.set_low_alarm(3.0)
    driver.close()
    assert Command.SET_LOW_ALARM not in commands(peer)
    assert [frame.payload["protocol"] for frame in peer.requests_for(Command.HELLO)] == [2, 1]

    allowed = connect(peer, allow_insecure_link=True)
    assert not allowed.secure
    allowed.set_low_alarm(3.0)
    allowed.close()
    assert peer.requests_for(Command.SET_LOW_ALARM)[0].payload == {"low_alarm_ml": 3.0}


@pytest.mark.parametrize("plaintext", [False, True])
def test_the_trace_holds_patient_data_only_when_asked_and_never_a_key(peers, plaintext):
    def marked(request: Frame, peer: ScriptedPeer) -> None:
        if request.command == Command.READ_STATUS:
            return peer.reply(request, {**STATUS, "alarms": [{"code": PATIENT_MARK, "severity": "non_critical",
                                                               "since": "2026-01-02T03:00:00"}]})
        return answering(request, peer)

    peer = peers(marked)
    lines: list[str] = []
    driver = connect(peer, trace=lines.append, trace_plaintext=plaintext)
    assert driver.read_status().alarms[0].code == PATIENT_MARK
    driver.close()
    text = "\n".join(lines)
    assert TEST_KEY.hex() not in text.replace(" ", "")
    assert (PATIENT_MARK in text) is plaintext and (PATIENT_MARK.encode().hex(" ") in text) is False
    plain = [line for line in lines if "PLAIN (patient data)" in line]
    assert len(plain) == (4 if plaintext else 0)  # READ_STATUS and END_SESSION, each sent and answered
    if plaintext:
        assert any(" RX seq=" in line and "READ_STATUS OK" in line and PATIENT_MARK in line for line in plain)


class PairingPump:
    """PAIR_START and PAIR_FINISH as a pump with an open pairing window and ``code`` answers them."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.pairing: PumpPairing | None = None
        self.key: bytes | None = None

    def __call__(self, request: Frame, peer: ScriptedPeer) -> None:
        if request.command == Command.PAIR_START:
            self.pairing = PumpPairing(self.code, request.payload["programmer_id"], peer.serial)
            message, confirm = self.pairing.answer(bytes.fromhex(request.payload["message"]))
            peer.reply(request, {"serial": peer.serial, "message": message.hex(), "confirm": confirm.hex()})
        elif request.command == Command.PAIR_FINISH:
            assert self.pairing is not None
            self.key = peer.pair_key = self.pairing.confirm(bytes.fromhex(request.payload["confirm"]))
            peer.reply(request, {"paired": True})
        else:
            answering(request, peer)


def test_pairing_keeps_the_key_the_pump_confirmed_and_opens_a_session_with_it(peers):
    pump = PairingPump("042917")
    peer = peers(pump)
    peer.pair_key = bytes(32)  # not paired yet
    keys = in_memory_keys("bench-programmer")
    driver = connect(peer, keys=keys, pairing_code="042917")
    assert driver.secure and keys.key_for("TEST-0001") == pump.key is not None
    driver.close()
    assert commands(peer)[:4] == [Command.IDENTIFY, Command.PAIR_START, Command.PAIR_FINISH, Command.HELLO]


def test_a_wrong_code_pairs_nothing_and_keeps_no_key(peers):
    peer = peers(PairingPump("042917"))
    keys = in_memory_keys("bench-programmer")
    with pytest.raises(PairingFailed, match=r"^pair: the pump's confirmation does not match: the code is wrong"):
        connect(peer, keys=keys, pairing_code="042918")
    assert keys.keys == {} and Command.PAIR_FINISH not in commands(peer)


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", ""])
def test_a_code_that_is_not_six_digits_is_refused_before_anything_is_sent(peers, code):
    peer = peers(answering)
    with pytest.raises(InputError, match=r"^pairing_code: a pairing code is 6 digits 0-9") as raised:
        connect(peer, pairing_code=code)
    assert raised.value.field == "pairing_code" and peer.received == []
    assert load_pairing_keys().key_for("TEST-0001") == TEST_KEY


# -- against the real emulator -------------------------------------------------------------------------------


def hello_and_end(url: str) -> Status:
    """Another programmer's try at the pump: HELLO and, when it is let in, END_SESSION at once. The HELLO's
    status: SESSION_IN_USE while someone else's session is alive."""
    client = WireClient(url)
    try:
        request = hello_payload()
        answer = client.call(Command.HELLO, request)
        if answer.status == Status.OK:
            client.channel = programmer_channel(TEST_KEY, TEST_PROGRAMMER, request, answer.payload)
            assert client.call(Command.END_SESSION, {}).status == Status.OK
        return Status(answer.status)
    finally:
        client.close()


def test_a_session_the_pump_ended_while_idle_is_opened_again_and_the_bolus_given_once(start_emulator):
    emulator = start_emulator("--idle-timeout", "1")
    driver = connect_url(emulator.url)
    driver.refill("r-1", 0.0, 18.0, Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500))
    assert hello_and_end(emulator.url) == Status.SESSION_IN_USE  # the driver's session holds the pump
    deadline = time.monotonic() + 10
    while hello_and_end(emulator.url) != Status.OK:  # until the pump ends the driver's session, idle (1 s)
        assert time.monotonic() < deadline, "the idle session was never released"
        time.sleep(0.1)
    first = driver.bolus("b-idle", 50.0, 30.0)  # a new HELLO, then the bolus, on a new connection
    again = driver.bolus("b-idle", 50.0, 30.0)  # the same id in the same session: never delivered twice
    events = driver.read_events()
    driver.close()
    assert (first.repeated, again.repeated) == (False, True) and first.dose == again.dose == 50.0
    assert [event.detail["bolus_id"] for event in events if event.kind == "bolus_started"] == ["b-idle"]
    ended = [event.detail["reason"] for event in events if event.kind == "session_ended"]
    assert ended[:2] == ["idle", "ended"]  # the driver's first session idled out; the other programmer's ended
