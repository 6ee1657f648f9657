"""A graceful stop of the HTTP server: on SIGTERM, calls in flight finish while new ones are refused with 503.

Kubernetes (or any orchestrator) sends SIGTERM, then SIGKILL after the grace period. Between the two, `Drain`:

1. marks the server draining: `/readyz` answers 503 (the load balancer stops sending calls) and every new request
   to `/mcp` gets 503 with `Retry-After: 1` and `Connection: close` (a client retries on another replica);
   `/healthz` stays 200 (the process is alive) and `/metrics` keeps answering;
2. waits for the requests to `/mcp` in flight (POSTs: each carries one JSON-RPC message, a tool call among them)
   for up to CDP_MCP_DRAIN_SECONDS (default 20);
3. then, if some still run, stops their tool calls (`stop_calls`): each answers `ShuttingDownError` and writes its
   audit line whole, and gets `STOP_GRACE` seconds to do so;
4. and lets the server shut down (the backend closes; the audit file is closed after its last line).

The HTTP server (`commands.http_server`) calls `begin()` on the signal and `finished()` on each of its ticks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["STOP_GRACE", "Drain", "Draining"]

logger = logging.getLogger(__name__)

STOP_GRACE = 5.0
"""Seconds the calls stopped at the end of a drain have to answer (and audit) before the server shuts down."""
_REFUSAL = json.dumps({"jsonrpc": "2.0", "id": None, "error": {
    "code": -32000, "message": "The server is shutting down: send the request again (another replica answers)."}
}).encode()


class Drain:
    """The state of a graceful stop (see the module docstring).

    Args:
        seconds: how long requests in flight may take to finish (CDP_MCP_DRAIN_SECONDS); 0 stops at once.
        stop_calls: stops the tool calls still running, given `seconds` for their error; returns how many.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(self, seconds: float, stop_calls: Callable[[float], int] | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.in_flight = 0
        self._stop_calls = stop_calls
        self._clock = clock
        self._deadline: float | None = None
        self._stopped_at: float | None = None
        self._announced = False

    def __repr__(self) -> str:
        state = "draining" if self.draining else "serving"
        return f"Drain({state}, {self.in_flight} in flight, {self.seconds:g} s)"

    @property
    def draining(self) -> bool:
        return self._deadline is not None

    def begin(self) -> bool:
        """Start draining; False when already draining (a second signal: the caller stops at once). Safe in a
        signal handler: it only sets the deadline (`finished` logs)."""
        if self._deadline is not None:
            return False
        self._deadline = self._clock() + self.seconds
        return True

    def finished(self) -> bool:
        """Whether the server may shut down now: nothing in flight, or the time (and the stop's grace) is up."""
        if self._deadline is None:
            return False
        if not self._announced:
            self._announced = True
            logger.info("Draining: %d request(s) in flight may finish within %g s; new ones get 503", self.in_flight,
                        self.seconds)
        if self.in_flight == 0:
            logger.info("Drained: no request in flight")
            return True
        now = self._clock()
        if self._stopped_at is None and now >= self._deadline:
            self._stopped_at = now
            stopped = self._stop_calls(self.seconds) if self._stop_calls is not None else 0
            logger.warning("Drain time (%g s) is up with %d request(s) in flight: stopped %d tool call(s)",
                           self.seconds, self.in_flight, stopped)
        if self._stopped_at is not None and now >= self._stopped_at + STOP_GRACE:
            logger.warning("%d request(s) still in flight after the stop: shutting down anyway", self.in_flight)
            return True
        return False


class Draining:
    """ASGI middleware: counts the requests to `path` in flight, and refuses new ones with 503 while draining."""

    def __init__(self, app: ASGIApp, *, drain: Drain, path: str) -> None:
        self.app = app
        self.drain = drain
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", b"1"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": _REFUSAL})
            return
        if scope["method"] != "POST":  # a GET stream may stay open for ever: the drain does not wait for it
            await self.app(scope, receive, send)
            return
        self.drain.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.in_flight -= 1
