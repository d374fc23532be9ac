"""The wire protocol between programmer and pump: COBS framing, CRC-16, JSON or compact payloads (docs/protocol.md).

Pure standard-library code with no I/O, shared by the serial driver and the emulator so both ends frame
bytes identically; transports and retries live in the driver.
"""

from protocol.codes import (
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    RESPONSE_BIT,
    Command,
    Status,
)
from protocol.frame import Frame, FrameDecoder, canonical_json, encode_frame

__all__ = [
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "RESPONSE_BIT",
    "Command",
    "Frame",
    "FrameDecoder",
    "Status",
    "canonical_json",
    "encode_frame",
]
