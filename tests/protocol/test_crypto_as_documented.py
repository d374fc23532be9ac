"""The cryptography of docs/protocol.md section 6 ("The cryptography, byte by byte"), written again here from
the document alone with the primitives of ``cryptography`` and ``spake2``: a client built from the document
must agree with the vectors and with ``protocol.pairing`` byte for byte. An outside reviewer could not do
that from an earlier version of the section, which named functions instead of formulas."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from spake2 import SPAKE2_A  # type: ignore[import-untyped]

from protocol.cobs import decode as cobs_decode
from protocol.pairing import PumpPairing

SECURE = json.loads((Path(__file__).parents[1] / "vectors" / "protocol_vectors.json").read_text("utf-8"))["secure"]


def len2(raw: bytes) -> bytes:
    return len(raw).to_bytes(2, "big") + raw


def canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("ascii")


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def test_the_documented_pairing_agrees_with_the_pumps_side():
    code, programmer_id, serial = "204817", "clinic-laptop-3", "E40-0A1B2C"
    p, s = b"itb-programmer:" + programmer_id.encode(), b"itb-pump:" + serial.encode()
    side_a = SPAKE2_A(code.encode("ascii"), idA=p, idB=s)
    message_a = side_a.start()
    pump = PumpPairing(code, programmer_id, serial)
    message_b, pump_confirmation = pump.answer(message_a)
    assert (len(message_a), message_a[0], len(message_b), message_b[0]) == (33, 0x41, 33, 0x42)
    k = side_a.finish(message_b)
    d = hashlib.sha256(len2(p) + len2(s) + len2(message_a) + len2(message_b)).digest()
    assert mac(k, b"itb pairing confirm itb-pump:" + d) == pump_confirmation
    pair_key = pump.confirm(mac(k, b"itb pairing confirm itb-programmer:" + d))
    assert pair_key == hkdf(k, d, b"itb pair key v1", 32)


def test_the_documented_session_keys_confirmation_and_seal_open_the_vectors():
    programmer_id, serial = SECURE["programmer_id"].encode(), SECURE["serial"].encode()
    opened = []
    for session in SECURE["sessions"]:
        material = hkdf(bytes.fromhex(SECURE["pair_key"]),
                        bytes.fromhex(session["programmer_nonce"]) + bytes.fromhex(session["pump_nonce"]),
                        b"itb session keys v1" + len2(programmer_id) + len2(serial), 104)
        to_pump, to_programmer, confirm_key = material[:32], material[32:64], material[64:96]
        hello, answer = (frame["frame"]["payload"] for frame in session["frames"][:2])
        transcript = canonical(hello) + b"\x00" + canonical({k: v for k, v in answer.items() if k != "confirm"})
        assert mac(confirm_key, b"itb hello v2 pump confirm" + transcript).hex() == answer["confirm"]
        for frame in session["frames"][2:]:
            body = cobs_decode(bytes.fromhex(frame["hex"])[:-1])
            header, payload = body[:4], body[6:6 + int.from_bytes(body[4:6], "big")]
            assert payload[0] == 0xE5
            key = to_programmer if header[2] & 0x80 else to_pump
            plain = ChaCha20Poly1305(key).decrypt(bytes(4) + payload[1:9], payload[9:], header)
            assert json.loads(plain) == frame["frame"]["payload"]
            opened.append((int.from_bytes(payload[1:9], "big"), frame["frame"]["command"]))
    assert len(opened) >= 5 and opened[0][0] == 1
