"""The rolling 24-hour ledger of token creations of one tenant namespace.

The vendor caps creations per tenant per day (about 100). The ledger remembers when this machine created
each token, so the broker can warn early, re-scope idle tokens as the cap nears and refuse with a precise
`retry_at` at the cap, across restarts. When the API itself refuses (another client of the same tenant spent
the allowance), `blocked_until` remembers its answer so the broker stops asking until then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["WINDOW", "Allowance", "CreationLedger", "near_limit", "warn_level"]

WINDOW = timedelta(hours=24)


def warn_level(limit: int) -> int:
    """The creation count (80% of the limit) from which each creation logs a warning."""
    return max(1, math.ceil(limit * 0.8))


def near_limit(limit: int) -> int:
    """The creation count (90% of the limit, below the limit) from which idle tokens are re-scoped first."""
    return max(0, min(limit - 1, math.floor(limit * 0.9)))


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Allowance:
    """How many creations the rolling window still allows, and when the next one frees up."""

    limit: int
    used: int
    remaining: int
    next_free_at: datetime | None  # when the oldest creation ages out (or the API's block ends); None if unused


@dataclass(slots=True)
class CreationLedger:
    """Creation timestamps within the last 24 hours, oldest first, plus the API's own refusal if any."""

    creations: list[datetime] = field(default_factory=list)
    blocked_until: datetime | None = None

    def prune(self, now: datetime) -> None:
        """Forget creations older than the window and a block that has ended."""
        horizon = now - WINDOW
        self.creations = sorted(c for c in self.creations if c > horizon)
        if self.blocked_until is not None and self.blocked_until <= now:
            self.blocked_until = None

    def used(self, now: datetime) -> int:
        self.prune(now)
        return len(self.creations)

    def blocked(self, now: datetime) -> bool:
        self.prune(now)
        return self.blocked_until is not None

    def record(self, when: datetime) -> None:
        self.creations.append(when)
        self.creations.sort()

    def block(self, until: datetime) -> None:
        """The API refused a creation: do not ask again before `until`."""
        self.blocked_until = max(until, self.blocked_until) if self.blocked_until else until

    def retry_at(self, now: datetime, limit: int) -> datetime | None:
        """When a creation becomes possible again: enough old creations aged out, and no block from the API."""
        used = self.used(now)
        moments = [self.blocked_until] if self.blocked_until else []
        if used >= limit:
            moments.append(self.creations[used - limit] + WINDOW)
        return max(moments) if moments else None

    def allowance(self, now: datetime, limit: int) -> Allowance:
        used = self.used(now)
        remaining = 0 if self.blocked_until else max(0, limit - used)
        if remaining == 0:
            next_free = self.retry_at(now, limit)
        else:
            next_free = self.creations[0] + WINDOW if self.creations else None
        return Allowance(limit=limit, used=used, remaining=remaining, next_free_at=next_free)

    def to_json(self) -> dict[str, Any]:
        return {
            "creations": [c.isoformat() for c in self.creations],
            "blocked_until": self.blocked_until.isoformat() if self.blocked_until else None,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CreationLedger:
        blocked = raw.get("blocked_until")
        return cls(
            creations=sorted(_parse(str(c)) for c in raw.get("creations") or ()),
            blocked_until=_parse(str(blocked)) if blocked else None,
        )
