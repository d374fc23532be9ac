"""CRC-16/CCITT-FALSE, the checksum that closes every frame body.

Parameters: polynomial 0x1021, initial value 0xFFFF, no input or output reflection, no final XOR; the
catalogue check value (CRC of ASCII "123456789") is 0x29B1. A 16-bit CRC detects every error burst of up
to 16 bits, so any single corrupted byte of a body is always caught. It is table-driven because a frame
body can be 8 KiB and the check runs on every received frame.
"""

from __future__ import annotations

POLYNOMIAL = 0x1021
INITIAL = 0xFFFF


def _table_entry(byte: int) -> int:
    crc = byte << 8
    for _ in range(8):
        crc = ((crc << 1) ^ POLYNOMIAL) if crc & 0x8000 else (crc << 1)
    return crc & 0xFFFF


_TABLE = tuple(_table_entry(byte) for byte in range(256))


def crc16(data: bytes) -> int:
    """The CRC-16/CCITT-FALSE of ``data`` (0xFFFF for no data)."""
    crc = INITIAL
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc
