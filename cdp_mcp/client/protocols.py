"""The seams between the client and the token broker, so each can be built and tested on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = ["IssuedToken", "TokenApi", "TokenSource"]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as the create/update API returned it. `repr` never shows the token."""

    token: str = field(repr=False)
    resources: frozenset[str]
    expires_at: datetime | None = None  # as the server stated it; None when the response gave no expiry
    validity_seconds: int | None = None  # as the server stated it, converted; None when not stated

    def __repr__(self) -> str:
        return f"IssuedToken(resources={sorted(self.resources)}, expires_at={self.expires_at})"


class TokenApi(Protocol):
    """The token endpoints of the API (implemented by the client)."""

    async def create_token(self, resources: frozenset[str]) -> IssuedToken: ...

    async def update_token(self, token: str, resources: frozenset[str]) -> IssuedToken: ...


class TokenSource(Protocol):
    """What the client needs from the broker for each data call."""

    async def acquire(self, resources: frozenset[str]) -> str:
        """A live token whose scope covers `resources` (exactly them under least-privilege)."""
        ...

    async def invalidate(self, resources: frozenset[str], token: str) -> None:
        """`token` got a 401: forget it so the next `acquire` renews (once, however many callers saw it)."""
        ...
