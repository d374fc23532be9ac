"""Fixtures the driver tests share: scripted pumps, closed at teardown."""

from __future__ import annotations

import pytest

from tests.support.emulator_fixtures import ScriptedPeer


@pytest.fixture
def peers():
    """A factory: ``peers(handler, **options)`` starts a ScriptedPeer; all are closed at teardown."""
    started: list[ScriptedPeer] = []

    def start(handler, **options) -> ScriptedPeer:
        peer = ScriptedPeer(handler, **options)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.close()
