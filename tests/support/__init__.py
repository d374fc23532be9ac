"""Helpers the tests share (no tests here): emulator processes and loopback peers, test doubles, fakes."""
