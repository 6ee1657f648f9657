"""Time as a dependency: the broker and the sandbox read an injected clock, so tests move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Anything that tells the current aware UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; shared by a test's sandbox and broker."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0) -> datetime:
        """Move time forward and return the new now."""
        self._now += timedelta(seconds=seconds, minutes=minutes, hours=hours)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
