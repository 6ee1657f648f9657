"""What one HTTP request asks to be spared: `X-CDP-Untrusted: omit` and `X-CDP-Tools: a,b` narrow, never widen.

A client (an agent framework, a gateway) can ask for less than the deployment serves, the way GitHub's lockdown
header works: `X-CDP-Untrusted: omit` leaves customer-written text out of its results even where CDP_UNTRUSTED is
`sanitize` (`sanitize` asks for nothing, so it cannot undo an operator's `omit`); `X-CDP-Tools` names the tools it
wants, and only those of the tools the person could see anyway are listed and callable. `Narrowing` is read from
the headers once per MCP request and held while it is served (`Narrowed`, the first server middleware); over stdio
there are no headers and nothing is narrowed. `HeaderCheck` refuses a malformed value with 400 at the HTTP door,
naming it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["TOOLS_HEADER", "UNTRUSTED_HEADER", "HeaderCheck", "Narrowed", "Narrowing", "current_narrowing",
           "narrowed", "narrowing_of", "untrusted_mode"]

UNTRUSTED_HEADER = "X-CDP-Untrusted"
TOOLS_HEADER = "X-CDP-Tools"
_MODES = ("sanitize", "omit")


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What a request asked to be spared: customer-written text (`omit`), every tool but `tools` (None: none)."""

    omit: bool = False
    tools: frozenset[str] | None = None

    def shows(self, tool: str) -> bool:
        return self.tools is None or tool in self.tools


_NOTHING = Narrowing()
_current: ContextVar[Narrowing] = ContextVar("cdp_mcp_narrowing", default=_NOTHING)


def _problems(headers: Mapping[str, str], known: Collection[str]) -> list[str]:
    problems = []
    mode = headers.get(UNTRUSTED_HEADER.lower())
    if mode is not None and mode.strip().lower() not in _MODES:
        problems.append(f"{UNTRUSTED_HEADER} must be omit (or sanitize, which changes nothing)")
    tools = headers.get(TOOLS_HEADER.lower())
    unknown = sorted({t.strip() for t in (tools or "").split(",") if t.strip()} - set(known))
    if unknown:
        problems.append(f"{TOOLS_HEADER} names unknown tool(s) {', '.join(unknown)}: use the names tools/list shows")
    return problems


def narrowing_of(headers: Mapping[str, str] | None) -> Narrowing:
    """The narrowing a request's headers ask for (lower-case names, as Starlette gives them); none without headers.

    A value `check_headers` would refuse never gets here over HTTP; were it to, it narrows as far as it could.
    """
    if headers is None:
        return _NOTHING
    mode = headers.get(UNTRUSTED_HEADER.lower())
    tools = headers.get(TOOLS_HEADER.lower())
    names = frozenset(t.strip() for t in tools.split(",") if t.strip()) if tools is not None else frozenset()
    return Narrowing(omit=mode is not None and mode.strip().lower() != "sanitize",
                     tools=names if tools is not None and tools.strip() else None)


def current_narrowing() -> Narrowing:
    """The narrowing of the request being served (nothing over stdio)."""
    return _current.get()


def untrusted_mode(configured: str) -> str:
    """What this request's results do with customer-written text: `omit` when the operator (CDP_UNTRUSTED) or the
    request asks for it, else `sanitize`."""
    return "omit" if configured == "omit" or current_narrowing().omit else "sanitize"


@contextmanager
def narrowed(narrowing: Narrowing) -> Iterator[None]:
    """Hold `narrowing` for what runs inside (the request's handler and the tasks it starts)."""
    token = _current.set(narrowing)
    try:
        yield
    finally:
        _current.reset(token)


class Narrowed:
    """SDK server middleware, the first: holds the narrowing a request's headers ask for while it is served, so the
    tool list, the guard, the results and the audit line all see it (nothing over stdio)."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        with narrowed(narrowing_of(getattr(ctx.request, "headers", None))):
            return await call_next(ctx)


class HeaderCheck:
    """ASGI middleware: a request whose narrowing headers are malformed gets 400 naming the header and the fix (it
    names no tool the caller did not: the check may run before sign-in)."""

    def __init__(self, app: ASGIApp, *, tools: Collection[str]) -> None:
        self.app = app
        self.tools = list(tools)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problems = _problems(Headers(scope=scope), self.tools)
            if problems:
                response = JSONResponse({"error": "invalid_request", "error_description": "; ".join(problems) + "."},
                                        status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
