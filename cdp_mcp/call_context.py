"""The call being served, as log lines name it: its request id and who asked (the principal).

The guard binds both when a tool call starts (`bound`), for the task that runs it and every task it starts;
the JSON log format (`commands.common`) adds them to each line logged meanwhile, so an operator finds one call's
lines, from the first upstream request to the audit line, by its request id. Nothing else goes here: never a
customer identifier, a token or a secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["CallContext", "bound", "current"]


@dataclass(frozen=True, slots=True)
class CallContext:
    """One call: the request id also in its audit line (and in an unexpected failure's message), its principal."""

    request_id: str
    principal: str | None = None


_current: ContextVar[CallContext | None] = ContextVar("cdp_mcp_call", default=None)


def current() -> CallContext | None:
    """The call being served by this task, or None outside one."""
    return _current.get()


@contextmanager
def bound(request_id: str, principal: str | None) -> Iterator[CallContext]:
    """Name the call this task serves until the block ends."""
    context = CallContext(request_id, principal)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
