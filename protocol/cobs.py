"""Consistent Overhead Byte Stuffing (Cheshire and Baker, 1997).

COBS rewrites a body so that it contains no 0x00 byte, which frees 0x00 to mark the end of every frame.
A receiver that has lost its place (line noise, a reset half way through a frame, a cable plugged in
mid-stream) therefore needs no timing and no escape state to recover: it discards bytes up to the next
0x00 and the following byte starts a frame. The cost is at most one byte in 254.

The encoding is a chain of groups. A group is a code byte ``c`` (1..255) followed by ``c - 1`` data bytes;
a group with ``c < 255`` stands for its data followed by a 0x00, except at the very end of the encoding
where the final zero is implied away. These functions do not add or expect the 0x00 delimiter.
"""

from __future__ import annotations

_FULL_GROUP = 0xFF
_MAX_DATA_PER_GROUP = _FULL_GROUP - 1


class CobsDecodeError(ValueError):
    """The bytes are not a COBS encoding (a zero byte, a group running past the end, a non-canonical tail)."""


def max_encoded_length(size: int) -> int:
    """The longest encoding of ``size`` bytes: one code byte per started run of 254 bytes (at least one)."""
    return size + max(1, -(-size // _MAX_DATA_PER_GROUP))


def encode(data: bytes) -> bytes:
    """Encode ``data``; the result contains no 0x00 byte and is at most ``max_encoded_length`` long."""
    out = bytearray()
    runs = data.split(b"\x00")
    for number, run in enumerate(runs):
        start = 0
        while len(run) - start >= _MAX_DATA_PER_GROUP:
            out.append(_FULL_GROUP)
            out += run[start : start + _MAX_DATA_PER_GROUP]
            start += _MAX_DATA_PER_GROUP
        rest = run[start:]
        # Every run but the last is closed by a group that implies its zero. The last run needs a closing
        # group only if something is left or nothing was written: a trailing 0xFF group implies no zero.
        if rest or number < len(runs) - 1 or start == 0:
            out.append(len(rest) + 1)
            out += rest
    return bytes(out)


def decode(encoded: bytes) -> bytes:
    """Decode one COBS encoding (without its delimiter), or raise CobsDecodeError saying where it breaks.

    Only the canonical encoding is accepted, so every body has exactly one form on the wire.
    """
    if not encoded:
        raise CobsDecodeError("empty input: a COBS encoding has at least one code byte")
    out = bytearray()
    index = 0
    previous_code = 0
    while index < len(encoded):
        code = encoded[index]
        end = index + code
        if code == 0:
            raise CobsDecodeError(f"zero code byte at offset {index}")
        if end > len(encoded):
            raise CobsDecodeError(
                f"group at offset {index} needs {code - 1} data bytes but only {len(encoded) - index - 1} remain"
            )
        block = encoded[index + 1 : end]
        if 0 in block:
            raise CobsDecodeError(f"zero data byte at offset {index + 1 + block.index(0)}")
        if code == 1 and end == len(encoded) and previous_code == _FULL_GROUP:
            raise CobsDecodeError(f"non-canonical empty final group at offset {index} after a full group")
        out += block
        if code != _FULL_GROUP and end < len(encoded):
            out.append(0)
        previous_code = code
        index = end
    return bytes(out)
