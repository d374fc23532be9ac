"""Implementations of the programmer's pump-driver port: wire protocol, transports, serial driver, emulator."""
