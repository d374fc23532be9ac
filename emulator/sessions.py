"""One programmer at a time: the pump's secure sessions, pending and active (protocol version 2).

Why a pending state: a HELLO is sent in clear and can be recorded and replayed by anyone on the link. If a
HELLO alone took the pump, a replayed one would lock every programmer out. So a HELLO only makes a *pending*
session, which blocks nobody; the first frame that opens under its keys (which only the holder of the pair
key can seal) makes it the *active* session, exclusive while it is alive. Alive means its connection is open,
it was not ended, and its last authentic frame is less than the idle timeout old (real time, not the pump's
simulated clock), so a programmer that vanished frees the pump by itself.

Every end of an active session is logged (``session_ended`` with its reason) and discards the program it
staged; a pending session that never started ends silently, as it never took anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from emulator.pump import Pump
from protocol.codes import SESSION_IDLE_TIMEOUT_S
from protocol.frame import Frame
from protocol.secure import SecureChannel

@dataclass(eq=False)
class Session:
    """One connection's session: its keys (the channel), who opened it, and when it was last authentic."""

    channel: SecureChannel
    programmer_id: str
    connection: int
    last_authentic: float
    active: bool = False
    ended: bool = False
    answer: Frame | None = None
    """The sealed answer to the last frame acted on (a resend of that frame gets it again, unchanged)."""

    @property
    def id(self) -> str:
        return self.channel.session_id


class Sessions:
    """The pump's sessions: at most one active, any number pending (one per connection at most)."""

    def __init__(self, pump: Pump, idle_timeout_s: float = SESSION_IDLE_TIMEOUT_S,
                 monotonic: Callable[[], float] = time.monotonic):
        self.pump = pump
        self.idle_timeout_s = idle_timeout_s
        self.monotonic = monotonic
        self.active: Session | None = None
        self._pending: dict[int, Session] = {}

    def alive(self, session: Session) -> bool:
        return not session.ended and self.monotonic() - session.last_authentic < self.idle_timeout_s

    def in_use_by_other(self, connection: int) -> bool:
        """Whether another connection's active session is alive (ending it first when it has gone idle)."""
        self.expire()
        return self.active is not None and self.active.connection != connection

    def begin(self, channel: SecureChannel, programmer_id: str, connection: int) -> Session:
        """A pending session for ``connection``, which a HELLO has just opened."""
        session = Session(channel, programmer_id, connection, self.monotonic())
        self._pending[connection] = session
        return session

    def authentic(self, session: Session) -> bool:
        """A frame opened under ``session``'s keys: it is now the active session, unless another connection's
        is alive (False: nothing changes)."""
        if session.ended:
            return False
        if not session.active:
            if self.in_use_by_other(session.connection):
                return False
            for other in list(self._pending.values()):
                if other is not session:
                    self.end(other, "replaced")
            self._pending.pop(session.connection, None)
            session.active = True
            self.active = session
            self.pump.used_paired(session.programmer_id)
            self.pump._log("session_started", session=session.id, programmer_id=session.programmer_id)
        session.last_authentic = self.monotonic()
        return True

    def end(self, session: Session | None, reason: str) -> None:
        """End ``session`` (nothing for None or one already ended); an active one is logged and loses its stage."""
        if session is None or session.ended:
            return
        session.ended = True
        if self._pending.get(session.connection) is session:
            del self._pending[session.connection]
        if session is self.active:
            self.active = None
            self.pump.discard_staged(session.id)
            self.pump._log("session_ended", session=session.id, programmer_id=session.programmer_id, reason=reason)

    def end_programmer(self, programmer_id: str, reason: str) -> None:
        """End every session of ``programmer_id`` (it was unpaired: its key is gone)."""
        for session in [self.active, *self._pending.values()]:
            if session is not None and session.programmer_id == programmer_id:
                self.end(session, reason)

    def end_all(self, reason: str) -> None:
        """End every session, active or pending (the pump's memory was replaced under them)."""
        for session in [self.active, *self._pending.values()]:
            self.end(session, reason)

    def expire(self) -> None:
        """End the active session if it has gone idle."""
        if self.active is not None and not self.alive(self.active):
            self.end(self.active, "idle")
