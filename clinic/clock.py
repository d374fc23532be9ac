"""The store's one clock: now, aware, in UTC. Every moment the store writes comes from here."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
