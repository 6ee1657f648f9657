"""Slow and greedy HTTP clients: deadlines for request headers and bodies, a body size cap, and a cap on the idle
`GET /mcp` streams one principal may hold.

uvicorn waits for a request's headers and body as long as the client likes (its keep-alive timeout covers only
the silence between requests), so a client sending a header line or a body byte every few seconds (slowloris)
holds a connection for ever, and a few thousand of them hold the server. `HeaderDeadlineProtocol` (uvicorn's h11
protocol) gives each request's headers `header_timeout` seconds from their first byte (or from the connection);
`RequestLimits` (ASGI, around the MCP endpoint, after sign-in, so an unauthenticated client is refused before any
body is read) takes the whole body within `body_timeout` seconds and at most `max_body` bytes before the SDK sees
it. A `GET /mcp` opens a server-to-client stream that this stateless server never writes to: each holds a
connection and a task for as long as the client keeps it open, so one principal may hold `streams_per_principal`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import anyio
import h11
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DEFAULT_LIMITS", "HeaderDeadlineProtocol", "HttpLimits", "RequestLimits"]

logger = logging.getLogger(__name__)

_REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    b"connection: close\r\ncontent-length: 38\r\n\r\nThe request headers took too long.\r\n\r\n")
_STREAM_RETRY_AFTER = 30
"""Seconds a principal holding its idle streams is asked to wait (streams end when their clients close them)."""
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What the HTTP transport allows one request and one principal (see the module docstring)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_body: int = 1024 * 1024
    streams_per_principal: int = 4


DEFAULT_LIMITS = HttpLimits()

class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's headers: past it the connection is closed (with a
    408 when part of a request had arrived)."""

    header_timeout: ClassVar[float] = DEFAULT_LIMITS.header_timeout
    _deadline: asyncio.TimerHandle | None = None

    @classmethod
    def with_timeout(cls, seconds: float) -> type[HeaderDeadlineProtocol]:
        """The protocol class for uvicorn's `http` setting, with its own deadline."""
        return type(cls.__name__, (cls,), {"header_timeout": seconds})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:  # the first bytes of a new request
            self._arm()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # its headers are complete (or it failed)
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # a request was begun: say why it ends
            logger.info("Closed a connection whose request headers took over %g s", self.header_timeout)
            self.transport.write(_REQUEST_TIMEOUT)
        self.transport.close()


class RequestLimits:
    """ASGI middleware for the MCP endpoint: the body in time and in size, and the idle streams per principal.

    Args:
        app: the endpoint.
        limits: the deadlines and caps.
        principal: who sends a request (called inside the sign-in middleware, so the caller's token is known).
    """

    def __init__(self, app: ASGIApp, limits: HttpLimits, principal: Callable[[Scope], str]) -> None:
        self.app = app
        self._limits = limits
        self._principal = principal
        self._streams: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["method"] == "GET":
            await self._stream(scope, receive, send)
        elif scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
        else:
            await self._with_body(scope, receive, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        who = self._principal(scope)
        if self._streams[who] >= self._limits.streams_per_principal:
            await _refuse(429, "too_many_streams",
                          f"At most {self._limits.streams_per_principal} open GET streams per person; close one "
                          "first (this server sends nothing on them: requests answer on their own responses).",
                          scope, receive, send, {"Retry-After": str(_STREAM_RETRY_AFTER)})
            return
        self._streams[who] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._streams[who] -= 1
            if self._streams[who] <= 0:
                del self._streams[who]

    async def _with_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self._limits
        too_large = ("request_too_large", f"A request body may be at most {limits.max_body} bytes.")
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_body:
            await _refuse(413, *too_large, scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        with anyio.move_on_after(limits.body_timeout) as deadline:
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limits.max_body:
                    await _refuse(413, *too_large, scope, receive, send)
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
        if deadline.cancelled_caught:
            logger.info("Refused a request whose body took over %g s", limits.body_timeout)
            await _refuse(408, "request_timeout", f"The request body took over {limits.body_timeout:g} s to arrive.",
                          scope, receive, send)
            return
        body: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is None:
                return await receive()  # after the body: the client's disconnect, when it comes
            message, body = body, None
            return message

        await self.app(scope, replay, send)


async def _refuse(status: int, error: str, description: str, scope: Scope, receive: Receive, send: Send,
                  headers: dict[str, str] | None = None) -> None:
    """An error answer; after a body left unread or part-read (408, 413) the connection cannot be reused."""
    close = {"Connection": "close"} if status in (408, 413) else {}
    response = JSONResponse({"error": error, "error_description": description}, status_code=status,
                            headers=close | (headers or {}))
    await response(scope, receive, send)
