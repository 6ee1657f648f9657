"""The call being served, as log lines name it: its request id and who asked (the principal).

The guard binds both when a tool call starts (`bound`), for the task that runs it and every task it starts;
the JSON log format (`commands.common`) adds them to each line logged meanwhile, so an operator finds one call's
lines, from the first upstream request to the audit line, by its request id. Nothing else goes here: never a
customer identifier, a token or a secret.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import NamedTuple

__all__ = ["Bound", "CallContext", "bound", "current"]


class CallContext(NamedTuple):
    """One call: the request id also in its audit line (and in an unexpected failure's message), its principal.
    (A named tuple: made on every call, it costs less than half of a frozen dataclass.)"""

    request_id: str
    principal: str | None = None


_current: ContextVar[CallContext | None] = ContextVar("cdp_mcp_call", default=None)


def current() -> CallContext | None:
    """The call being served by this task, or None outside one."""
    return _current.get()


class Bound:
    """The block during which a task serves one call (a class, not a generator: it runs on every call)."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: CallContext) -> None:
        self._context = context
        self._token: Token[CallContext | None] | None = None

    def __enter__(self) -> CallContext:
        self._token = _current.set(self._context)
        return self._context

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _current.reset(self._token)


def bound(request_id: str, principal: str | None) -> Bound:
    """Name the call this task serves until the block ends: `with bound(request_id, principal): ...`."""
    return Bound(CallContext(request_id, principal))
