"""Runs the HTTP transport: one uvicorn server listening on the MCP port, and on the metrics port when it has one.

SIGTERM (or SIGINT) starts the drain of `app.state.drain` (`draining.py`) instead of uvicorn's immediate shutdown:
new requests to `/mcp` get 503 while those in flight finish, for up to CDP_MCP_DRAIN_SECONDS; then uvicorn shuts
down as usual (the backend closes, the audit file after its last line) and the process exits 0. A second signal
during the drain stops at once, as uvicorn does. The metrics port is a second socket of the same server, answered
by the metrics app (so it answers during the drain and closes with the MCP port). Both sockets come bound (serve
binds them first: a port in use is one line naming it).

uvicorn runs as `http_app.uvicorn_config` says (its lines go to the process's stderr handler, in its format).
"""

from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from cdp_mcp.draining import Drain
from cdp_mcp.http_app import uvicorn_config

__all__ = ["serve_http"]


class _DrainingServer(uvicorn.Server):
    """uvicorn, with a drain between the signal and the shutdown."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: only flags are set here (no logging: it could re-enter a handler mid-line).
        if not self.should_exit and self.drain.begin():
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if not self.should_exit and self.drain.finished():
            self.should_exit = True
        return await super().on_tick(counter)


def _by_port(app: ASGIApp, metrics: ASGIApp, port: int) -> ASGIApp:
    """Requests that came in on the metrics port go to the metrics app; everything else (lifespan too) to `app`."""
    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or (None, None)
        await (metrics if scope["type"] != "lifespan" and server[1] == port else app)(scope, receive, send)

    return dispatch


def serve_http(app: Starlette, *, sockets: list[socket.socket], host: str, port: int, log_level: str = "INFO",
               metrics: Starlette | None = None, metrics_port: int | None = None) -> None:
    """Serve `app` (from `http_app.create_http_app`) on the bound `sockets` (`host:port`, and `host:metrics_port`
    for `metrics`) until a signal ends the drain; the sockets are closed after."""
    drain: Drain = app.state.drain
    served: ASGIApp = app
    if metrics is not None and metrics_port is not None:
        served = _by_port(app, metrics, metrics_port)
    config = uvicorn_config(served, host=host, port=port, log_level=log_level)
    try:
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(_DrainingServer(config, drain).serve(sockets=sockets))
    finally:
        for sock in sockets:
            sock.close()
