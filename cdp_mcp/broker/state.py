"""What the broker remembers between calls and restarts: live tokens by scope, plus the creation ledger.

A `TokenRecord` carries the times the broker acts on (extend from `refresh_at`, stop trusting the token at
`expires_at`), computed conservatively from what the server said when it issued the token. `StoredState`
is the whole persisted document of one tenant namespace; its JSON form is the file (or Redis value) format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cdp_mcp.broker.ledger import CreationLedger
from cdp_mcp.client.protocols import IssuedToken

__all__ = [
    "MARGIN_FRACTION",
    "MAX_MARGIN",
    "REFRESH_FRACTION",
    "SHARED_SCOPE_KEY",
    "STATE_VERSION",
    "CreationStop",
    "StoredState",
    "TokenRecord",
    "record_from_issued",
    "scope_key",
]

STATE_VERSION = 1
SHARED_SCOPE_KEY = "*"
"""The one key under which the `shared` policy keeps its token (resource names never contain `*`)."""

REFRESH_FRACTION = 0.8
"""Extend a token with update once this fraction of its (conservative) lifetime has passed."""
MAX_MARGIN = timedelta(seconds=60)
MARGIN_FRACTION = 0.05
"""Safety margin cut from the end of a lifetime: 5% of it, at most a minute (clock skew, request time)."""


def scope_key(resources: frozenset[str]) -> str:
    """The stable key of a scope: its resource names, sorted, comma-joined."""
    return ",".join(sorted(resources))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(slots=True)
class TokenRecord:
    """One live (or suspected dead) token. `repr` never shows the token."""

    token: str = field(repr=False)
    resources: frozenset[str]
    refreshed_at: datetime  # when it was last created or extended (our clock, taken before the request)
    refresh_at: datetime  # from here on, extend it with update before handing it out
    expires_at: datetime  # from here on, never hand it out without asking the server first
    hard_expiry: datetime | None  # the server's own end of life, when it stated one: past it, the token is dead
    last_used: datetime  # last handed out, by any process sharing the store (persisted lazily)
    dead: bool = False  # a data call got a 401 with it

    def __repr__(self) -> str:
        state = "dead" if self.dead else f"expires_at={self.expires_at.isoformat()}"
        return f"TokenRecord(resources={sorted(self.resources)}, {state})"

    def due(self, now: datetime, gap: timedelta = timedelta(0)) -> bool:
        """Time to extend: past the 80% point, or bound to expire before the next use if uses come `gap` apart
        (and an extension now would outlive that gap)."""
        if now >= self.refresh_at:
            return True
        return self.expires_at - now <= gap < self.expires_at - self.refreshed_at

    def fresh(self, now: datetime) -> bool:
        """Usable as is: alive and not due, judging the next use by the gap since the last one."""
        return not self.dead and not self.due(now, now - self.last_used)

    def live(self, now: datetime) -> bool:
        """Believed alive: not seen dead and within the conservative expiry."""
        return not self.dead and now < self.expires_at

    def surely_dead(self, now: datetime) -> bool:
        """Past the server's own stated expiry: asking the server to extend it is pointless."""
        return self.hard_expiry is not None and now >= self.hard_expiry

    def cap_lifetime(self, seconds: int) -> None:
        """Tokens were seen to die sooner than assumed: shorten this one's computed times (not stated ones)."""
        if self.hard_expiry is not None:
            return
        refresh_at, expires_at = _times(self.refreshed_at, self.refreshed_at + timedelta(seconds=seconds))
        if expires_at < self.expires_at:
            self.refresh_at, self.expires_at = refresh_at, expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "resources": sorted(self.resources),
            "refreshed_at": self.refreshed_at.isoformat(),
            "refresh_at": self.refresh_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "hard_expiry": self.hard_expiry.isoformat() if self.hard_expiry else None,
            "last_used": self.last_used.isoformat(),
            "dead": self.dead,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TokenRecord:
        hard = raw.get("hard_expiry")
        return cls(
            token=str(raw["token"]),
            resources=frozenset(str(r) for r in raw["resources"]),
            refreshed_at=_aware(datetime.fromisoformat(raw["refreshed_at"])),
            refresh_at=_aware(datetime.fromisoformat(raw["refresh_at"])),
            expires_at=_aware(datetime.fromisoformat(raw["expires_at"])),
            hard_expiry=_aware(datetime.fromisoformat(hard)) if hard else None,
            last_used=_aware(datetime.fromisoformat(raw["last_used"])),
            dead=bool(raw.get("dead", False)),
        )


def record_from_issued(issued: IssuedToken, *, started: datetime, fallback_seconds: int) -> TokenRecord:
    """Turn a create/update answer into a record with conservative times.

    The server's word wins: its relative validity counted from `started` (taken before the request, so
    request time only shortens the estimate) and its absolute expiry, whichever ends first. An absolute
    expiry already in the past by our clock is ignored as clock skew. Without either, the configured
    validity is assumed. A margin is then cut off, and extension is due at 80% of what is left.
    """
    ends: list[datetime] = []
    if issued.validity_seconds is not None and issued.validity_seconds > 0:
        ends.append(started + timedelta(seconds=issued.validity_seconds))
    if issued.expires_at is not None and _aware(issued.expires_at) > started:
        ends.append(_aware(issued.expires_at))
    end = min(ends) if ends else started + timedelta(seconds=fallback_seconds)
    refresh_at, expires_at = _times(started, end)
    return TokenRecord(
        token=issued.token,
        resources=issued.resources,
        refreshed_at=started,
        refresh_at=refresh_at,
        expires_at=expires_at,
        hard_expiry=end if ends else None,
        last_used=started,
    )


def _times(started: datetime, end: datetime) -> tuple[datetime, datetime]:
    """`(refresh_at, expires_at)` for a token issued at `started` that the server ends at `end`."""
    lifetime = end - started
    expires_at = end - min(MAX_MARGIN, lifetime * MARGIN_FRACTION)
    return started + (expires_at - started) * REFRESH_FRACTION, expires_at


@dataclass(frozen=True, slots=True)
class CreationStop:
    """Creation for a scope stopped after a successful creation whose token could not be read: until `until`, for
    the cdp-mcp `version` that could not read it (another version may read the answer, so it tries again)."""

    until: datetime
    version: str

    def applies(self, now: datetime, version: str) -> bool:
        return now < self.until and version == self.version

    def to_json(self) -> dict[str, Any]:
        return {"until": self.until.isoformat(), "version": self.version}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CreationStop:
        return cls(until=_aware(datetime.fromisoformat(raw["until"])), version=str(raw["version"]))


@dataclass(slots=True)
class StoredState:
    """Everything persisted for one tenant namespace.

    `learned_validity` (seconds) is the shortest life a token was seen to have when the server never stated
    one: with the validity unit misconfigured (the docs contradict themselves), computed expiries would
    otherwise run long and every token would die unextended, at the price of a creation each time.
    `stopped` holds the scopes whose creation answers could not be read (`CreationStop`).
    """

    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    ledger: CreationLedger = field(default_factory=CreationLedger)
    learned_validity: int | None = None
    stopped: dict[str, CreationStop] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "tokens": {key: record.to_json() for key, record in sorted(self.tokens.items())},
            "ledger": self.ledger.to_json(),
            "learned_validity": self.learned_validity,
            "stopped": {key: stop.to_json() for key, stop in sorted(self.stopped.items())},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StoredState:
        """Parse the persisted document; raises `ValueError` (or `KeyError`/`TypeError`) when malformed."""
        if raw.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported token state version {raw.get('version')!r}")
        tokens = {str(key): TokenRecord.from_json(value) for key, value in dict(raw.get("tokens") or {}).items()}
        stopped = {str(key): CreationStop.from_json(value) for key, value in dict(raw.get("stopped") or {}).items()}
        learned = raw.get("learned_validity")
        return cls(tokens=tokens, ledger=CreationLedger.from_json(dict(raw.get("ledger") or {})),
                   learned_validity=int(learned) if learned else None, stopped=stopped)
