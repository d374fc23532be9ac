"""An independent CRC-16/CCITT-FALSE for tests: one bit at a time, sharing nothing with protocol.crc."""


def bitwise_crc16(data: bytes) -> int:
    """Poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc
