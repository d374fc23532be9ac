"""The wire protocol (``protocol/``): CRC, COBS, frames, the shared vectors."""
