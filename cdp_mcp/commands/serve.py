"""`cdp-mcp serve`: the MCP server over stdio (what desktop hosts start) or Streamable HTTP.

Over stdio stdout carries protocol messages only: logging already goes to stderr (cli.main sets it up
before anything else), and every start-up message here is written to stderr.
"""

from __future__ import annotations

import argparse
import logging

import anyio

from cdp_mcp.commands.common import load_settings, say
from cdp_mcp.http_app import MCP_PATH, create_http_app, serve_http
from cdp_mcp.server import build_server

__all__ = ["run"]

logger = logging.getLogger(__name__)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}{MCP_PATH}" if ":" in host else f"http://{host}:{port}{MCP_PATH}"


def run(args: argparse.Namespace) -> int:
    settings = load_settings(tools=args.tools, mcp_allowed_origins=getattr(args, "allowed_origins", None))
    if not settings.uses_sandbox:  # the backend itself says so on stderr when the sandbox serves
        logger.info("Customer Profile API: %s", settings.b2b_api_url)
    server = build_server(settings)
    if args.transport == "http":
        app = create_http_app(server, settings, host=args.host)
        auth = (f"OAuth sign-in ({settings.mcp_oauth_issuer})" if settings.oauth_enabled
                else "bearer token" if settings.mcp_auth_token else "none (loopback only)")
        say(f"serving MCP over Streamable HTTP at {_url(args.host, args.port)} (health: /healthz; auth: {auth})")
        serve_http(app, host=args.host, port=args.port, log_level=settings.log_level)
        return 0
    anyio.run(server.run_stdio_async)
    return 0
