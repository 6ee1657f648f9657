"""Runs the HTTP transport: one uvicorn server listening on the MCP port, and on the metrics port when it has one.

SIGTERM (or SIGINT) starts the drain of `app.state.drain` (`draining.py`) instead of uvicorn's immediate shutdown:
new requests to `/mcp` get 503 while those in flight finish, for up to CDP_MCP_DRAIN_SECONDS; then uvicorn shuts
down as usual (the backend closes, the audit file after its last line) and the process exits 0. A second signal
during the drain stops at once, as uvicorn does. The metrics port is a second socket of the same server, answered
by the metrics app (so it answers during the drain and closes with the MCP port). Both sockets are bound before
anything else starts: a port in use stops start-up naming it.

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
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.http_app import uvicorn_config
from cdp_mcp.settings import env_name

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


def _listen(host: str, port: int, setting: str) -> list[socket.socket]:
    """Listening sockets on every address `host` names (`localhost`: 127.0.0.1 and ::1, as uvicorn would bind);
    a port that cannot be had stops start-up naming `setting`."""
    sockets: list[socket.socket] = []
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, _, _, _, address in dict.fromkeys(found):  # each address once
            sockets.append(socket.create_server(address, family=family))
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ConfigurationError(f"{setting}: cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__}).",
                                 hint="Choose a free port (or stop what listens there).") from None
    return sockets


def serve_http(app: Starlette, *, host: str, port: int, log_level: str = "INFO", metrics: Starlette | None = None,
               metrics_port: int | None = None) -> None:
    """Serve `app` (from `http_app.create_http_app`) on `host:port`, and `metrics` on `host:metrics_port`, until a
    signal ends the drain.

    Raises:
        ConfigurationError: a port is in use (or otherwise cannot be listened on), or the metrics port is the MCP one.
    """
    drain: Drain = app.state.drain
    served: ASGIApp = app
    sockets = _listen(host, port, "--port")
    try:
        if metrics is not None and metrics_port is not None:
            if metrics_port == port:
                raise ConfigurationError(f"{env_name('mcp_metrics_port')} is the MCP port ({port}).",
                                         hint="Give the metrics a port of their own, or unset it and set "
                                              f"{env_name('mcp_metrics_token')} to serve /metrics on the MCP port.")
            sockets += _listen(host, metrics_port, env_name("mcp_metrics_port"))
            served = _by_port(app, metrics, metrics_port)
        config = uvicorn_config(served, host=host, port=port, log_level=log_level)
        server = _DrainingServer(config, drain)
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(server.serve(sockets=sockets))
    finally:
        for sock in sockets:
            sock.close()
