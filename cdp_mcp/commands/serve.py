"""`cdp-mcp serve`: the MCP server over stdio (what desktop hosts start) or Streamable HTTP.

Over stdio stdout carries protocol messages only: logging already goes to stderr (cli.main sets it up
before anything else), and every start-up message here is written to stderr. Hosts keep server stderr in
a log file, so start-up says in one line which backend answers; nothing is repeated per call. An audit trail
that cannot be written stops start-up in one line; with an audit file, SIGHUP reopens it (after logrotate)
instead of stopping the server.
"""

from __future__ import annotations

import argparse
import signal
import socket
from pathlib import Path

import anyio

from cdp_mcp.access.audit import audit_destination, ensure_writable, request_reopen
from cdp_mcp.commands.common import EXIT_FAILURE, HTTP_HOST, HTTP_PORT, load_settings, mcp_url, report, say
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.listening import bind_socket, cannot_listen
from cdp_mcp.probes import HEALTH_PATH, READY_PATH
from cdp_mcp.scrape import METRICS_PATH
from cdp_mcp.server import build_server
from cdp_mcp.settings import MCP_PATH, Settings, env_name
from cdp_mcp.tracing import configure_tracing

__all__ = ["DESCRIPTION", "add_arguments", "backend_line", "metrics_line", "run"]

DESCRIPTION = "Serve the MCP tools. CDP_B2B_API_URL unset: the embedded sandbox."
_OPEN_AFTER = 1.0
"""Seconds after start to open the backend if no call has (the host lists the tools first)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                        help=f"stdio for desktop hosts (default); http for Streamable HTTP at {MCP_PATH}")
    parser.add_argument("--host", default=HTTP_HOST,
                        help=f"HTTP bind address (default {HTTP_HOST}; other hosts require CDP_MCP_AUTH_TOKEN)")
    parser.add_argument("--port", type=int, default=HTTP_PORT, help=f"HTTP port (default {HTTP_PORT})")
    parser.add_argument("--tools", metavar="A,B", help="allowlist of tool names; overrides CDP_TOOLS")
    parser.add_argument("--allowed-origins", metavar="URL,URL",
                        help="browser Origins the HTTP transport accepts; overrides CDP_MCP_ALLOWED_ORIGINS")


def backend_line(settings: Settings) -> str:
    """The one start-up line that says which data answers."""
    if settings.api.uses_sandbox:
        return (f"embedded sandbox ({settings.sandbox.sandbox_customers} synthetic customers); "
                "set CDP_B2B_API_URL and CDP_TENANT_HASH for your tenant")
    return f"Customer Profile API at {settings.api.b2b_api_url}"


def run(args: argparse.Namespace) -> int:
    settings = load_settings(tools=args.tools, mcp_allowed_origins=args.allowed_origins)  # and logging
    configure_tracing()  # exports spans only when OTEL_* variables ask for it
    server = build_server(settings, open_after=_OPEN_AFTER)
    ensure_writable(settings)  # an audit trail that cannot be written stops start-up, in one line
    if hasattr(signal, "SIGHUP") and isinstance(audit_destination(settings), Path):
        # logrotate's postrotate: reopen the audit file (the default action would stop the server)
        signal.signal(signal.SIGHUP, lambda *_: request_reopen())
    if args.transport == "http":
        from cdp_mcp.commands.http_server import serve_http  # noqa: PLC0415 - HTTP only
        from cdp_mcp.http_app import create_http_app, create_metrics_app  # noqa: PLC0415

        app = create_http_app(server, settings, host=args.host)
        metrics = create_metrics_app(settings)
        sockets = _listen(args.host, args.port, settings.metrics.mcp_metrics_port if metrics else None)
        if sockets is None:
            return EXIT_FAILURE
        auth = (f"OAuth sign-in ({settings.sign_in.mcp_oauth_issuer})" if settings.sign_in.enabled
                else "bearer token" if settings.http.mcp_auth_token else "none (loopback only)")
        say(f"serving MCP over Streamable HTTP at {mcp_url(args.host, args.port)} (health: {HEALTH_PATH}, "
            f"readiness: {READY_PATH}; auth: {auth}); {metrics_line(settings, args.host)}; {backend_line(settings)}")
        serve_http(app, sockets=sockets, host=args.host, port=args.port, log_level=settings.server.log_level,
                   metrics=metrics, metrics_port=settings.metrics.mcp_metrics_port)
        return 0
    if settings.server.log_level != "ERROR":
        say(f"serving MCP over stdio; {backend_line(settings)}")
    if settings.metrics.mcp_metrics_port is not None:
        say(f"{env_name('mcp_metrics_port')} is ignored over stdio: the HTTP transport serves the metrics")
    anyio.run(server.run_stdio_async)
    return 0


def _listen(host: str, port: int, metrics_port: int | None) -> list[socket.socket] | None:
    """The MCP port's listening socket, and the metrics port's, bound before anything is served; None after saying
    in one line why one cannot be had (another process listening there, typically).

    Raises:
        ConfigurationError: the metrics port is the MCP port.
    """
    if metrics_port == port:
        raise ConfigurationError(f"{env_name('mcp_metrics_port')} is the MCP port ({port}).",
                                 hint="Give the metrics a port of their own, or unset it and set "
                                      f"{env_name('mcp_metrics_token')} to serve /metrics on the MCP port.")
    sockets: list[socket.socket] = []
    for number, other in ((port, "--port"), (metrics_port, env_name("mcp_metrics_port"))):
        if number is None:
            continue
        try:
            sockets.append(bind_socket(host, number))
        except (OSError, OverflowError) as exc:
            for sock in sockets:
                sock.close()
            report(cannot_listen(host, number, exc),
                   hint=f"another process may be listening there: choose another port with {other}.")
            return None
    return sockets


def metrics_line(settings: Settings, host: str) -> str:
    """Where the metrics are served, as the start-up line says it."""
    port, token = settings.metrics.mcp_metrics_port, settings.metrics.mcp_metrics_token
    if port is not None:
        where = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        return f"metrics: {where}{METRICS_PATH}" + (" (bearer token)" if token else "")
    if token is not None:
        return f"metrics: {METRICS_PATH} on this port (bearer token)"
    return f"metrics: off (set {env_name('mcp_metrics_port')} or {env_name('mcp_metrics_token')})"
