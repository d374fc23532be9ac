"""Numbers both ends of the link must agree on: command and status codes, sizes, versions and timing.

docs/protocol.md is the specification; this module is its machine-readable half. The timing figures are
this protocol's own choices (no real pump is copied); a driver reads them from here, never re-types them.
"""

from __future__ import annotations

from enum import IntEnum

FRAME_VERSION = 1
"""Byte 0 of every frame body: the layout of the frame itself. A receiver drops frames of another layout."""

PROTOCOL_VERSION = 2
"""The command set and its payloads, agreed in HELLO: version 2 is the secure one (pairing, sealed frames,
one programmer at a time; docs/protocol.md section 6). A pump answers UNSUPPORTED_VERSION to any other."""

INSECURE_PROTOCOL_VERSION = 1
"""Version 1, frames in clear and no pairing: spoken only by an emulator started with ``--insecure``, for protocol
debugging; the programmer changes nothing over it unless told ``--allow-insecure-link``."""

SESSION_IDLE_TIMEOUT_S = 60.0
"""A secure session with no authentic frame for this long has ended: another programmer may then start one."""

MAX_PAIRED_PROGRAMMERS = 8
"""Programmers a pump remembers; pairing a ninth forgets the one whose last session is the oldest."""

PAIRING_ATTEMPTS = 3
"""PAIR_START requests a pump takes in one pairing window; after the last failed one the window closes."""

RESPONSE_BIT = 0x80
"""Set in the command byte of a response (IDENTIFY 0x02 is answered as 0x82); command codes use 0x00..0x7F."""

MAX_PAYLOAD = 8192
"""Largest JSON payload in bytes. Bounds every buffer and every timeout, on both ends."""

MAX_EVENTS_PER_READ = 16
"""Largest ``count`` a READ_EVENTS request may ask for (in a session with JSON answers)."""

MAX_EVENTS_PER_COMPACT_READ = 64
"""Largest ``count`` in a session that agreed the compact encoding: a typical event then takes 10 to 30 bytes,
so 64 fit in a frame many times over; a page of unusually long ones is FRAME_TOO_LARGE and read in halves."""


BRIDGE_VOLUME_TOLERANCE_ML = 0.005
"""How far a bridge's requested ``volume_ml`` (BOLUS ``kind`` ``bridge``, REFILL ``bridge``) may be from the pump's
own figure of the old drug's volume in the line. The emulated pump's own choice, about 2 cm of its catheter: the
program keeps draining the line between the programmer's status read and its request. The pump bridges its own
figure and answers it; a repeated id is still judged within 1e-6 mL of the first request."""
DEMAND_BOLUS_ID_PREFIX = "demand-"
"""Bolus ids starting with this are the pump's own (its demand boluses): a client's BOLUS or REFILL ``bridge`` with
such an id is BAD_ARGUMENT ``bolus_id``."""

class Command(IntEnum):
    """Request command codes (a response carries the same code with RESPONSE_BIT set)."""

    HELLO = 0x01
    IDENTIFY = 0x02
    READ_STATUS = 0x03
    READ_PROGRAM = 0x04
    STAGE_PROGRAM = 0x05
    COMMIT_PROGRAM = 0x06
    READ_EVENTS = 0x07
    SET_CLOCK = 0x08
    BOLUS = 0x09
    CANCEL_BOLUS = 0x0A
    REFILL = 0x0B
    ACK_ALARM = 0x0C
    SET_LOW_ALARM = 0x0D
    PAIR_START = 0x0E
    PAIR_FINISH = 0x0F
    UNPAIR = 0x10
    END_SESSION = 0x11
    BOLUS_STATUS = 0x12
    """What the pump knows of a bolus id; never acts (after a link failure: did it start?)."""
    SET_DEMAND = 0x13
    READ_DEMAND = 0x14
    SERVICE = 0x70
    """Emulator-only (docs/protocol.md): answered only by an emulator started with --service."""


class Status(IntEnum):
    """Response status codes. Requests carry 0 (OK) in the status byte."""

    OK = 0x00
    BAD_CHECKSUM = 0x01
    BAD_ARGUMENT = 0x02
    BUSY = 0x03
    OUT_OF_RANGE = 0x04
    NOT_STAGED = 0x05
    UNKNOWN_COMMAND = 0x06
    UNSUPPORTED_VERSION = 0x07
    CHECKSUM_MISMATCH = 0x08
    FRAME_TOO_LARGE = 0x09
    REFUSED = 0x0A
    NO_SESSION = 0x0B
    INTERNAL = 0x0C
    SESSION_IN_USE = 0x0D
    NOT_AUTHENTICATED = 0x0E


OPEN_COMMANDS = frozenset({Command.HELLO, Command.IDENTIFY, Command.PAIR_START, Command.PAIR_FINISH})
"""What a version-2 pump takes in clear, before or outside a secure session; everything else only sealed."""


RESPONSE_TURNAROUND_S = 0.5
"""The pump starts its response within this time of a request's delimiter arriving (processing and any
write to its persistent memory included). The client's timeout allows this on top of the bytes' time."""

BITS_PER_BYTE = 10
"""Line bits per byte on an 8N1 serial link: a start bit, eight data bits and a stop bit."""

MAX_RETRIES = 3
"""Resends of an unanswered request (same seq, same body) before the driver reports the link failed."""

BACKOFF_INITIAL_S = 0.1
"""Pause before the first resend; each further resend waits twice as long (0.1 s, 0.2 s, 0.4 s)."""


def response_timeout_s(baudrate: int, request_size: int, response_size: int,
                       turnaround_s: float = RESPONSE_TURNAROUND_S) -> float:
    """How long to wait for a response before resending: the turnaround plus both frames' time on the line.

    Sizes are wire bytes (delimiter included). Pass the largest response the command can produce; when
    that is unknown, the largest frame there is (``frame.MAX_WIRE_FRAME``). ``turnaround_s`` is the
    pump's allowance; only a link known to answer sooner (an emulator on loopback in tests) passes less.
    """
    if baudrate <= 0:
        raise ValueError(f"baudrate must be positive, got {baudrate}")
    return turnaround_s + (request_size + response_size) * BITS_PER_BYTE / baudrate


def retry_delay_s(retry: int, initial_s: float = BACKOFF_INITIAL_S) -> float:
    """The pause before resend number ``retry`` (1..MAX_RETRIES): exponential backoff from ``initial_s``."""
    if not 1 <= retry <= MAX_RETRIES:
        raise ValueError(f"retry must be in 1..{MAX_RETRIES}, got {retry}")
    return initial_s * 2 ** (retry - 1)
