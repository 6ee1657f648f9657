"""build_server: the MCP server, its tools, resources and prompts, and the lifespan that opens the backend.

Transports are not chosen here: the CLI runs the returned server over stdio or Streamable HTTP. The
surface (which tools, in which order) is decided at build time from settings, so a bad CDP_TOOLS stops
start-up before any connection; the backend (client, broker, sandbox) opens when the server starts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from mcp.server.mcpserver import MCPServer

from cdp_mcp import __version__
from cdp_mcp.backend import Backend, open_backend
from cdp_mcp.mcp_extras import register_extras
from cdp_mcp.settings import Settings
from cdp_mcp.team.guard import AccessMiddleware, CallGuard
from cdp_mcp.tools.registry import build_tools
from cdp_mcp.tracing import configure_tracing
from cdp_mcp.views import apps_extension

__all__ = ["INSTRUCTIONS", "SERVER_NAME", "BackendFactory", "build_server"]

SERVER_NAME = "cdp-mcp"
BackendFactory = Callable[[], AbstractAsyncContextManager[Backend]]

INSTRUCTIONS = """\
Real-time customer profiles from the company's Customer Data Platform. Read-only.
Identify a customer with gcr_id, email, mobile or customer_code (at least one). Every result returns the \
customer's gcr_id: use it in follow-up calls, it is cheap and unambiguous. If a call says several customers \
match, add another identifier.
Start with get_customer_overview for a summary card; use the specific tools for details. Lists return total \
and, when more exist, next_cursor: pass it back as cursor to the same tool for the next page.
For campaigns, screen_customers checks segment membership and channel consent for up to 100 customers at once; \
never plan contact on a channel the customer has not opted in to."""


def build_server(settings: Settings | None = None, *, backend: BackendFactory | None = None) -> MCPServer[Backend]:
    """The cdp-mcp server for `settings` (default: `Settings.load()` from the environment).

    Args:
        settings: configuration; decides the tool surface and redaction at build time.
        backend: opens the backend when the server starts; default `open_backend(settings)`.

    Raises:
        ConfigurationError: invalid settings, or CDP_TOOLS names an unknown tool (the message lists valid names).
    """
    settings = settings if settings is not None else Settings.load()
    open_it: BackendFactory = backend if backend is not None else (lambda: open_backend(settings))

    guard = CallGuard(settings)  # rate limit, grants by scope, audit trail (team deployment)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Backend]) -> AsyncIterator[Backend]:
        async with open_it() as opened, guard.running():
            yield opened

    configure_tracing()  # exports spans only when OTEL_* variables ask for it
    tools, specs = build_tools(settings, guard)
    views = [s.view for s in specs if s.view]  # MCP Apps views of the tools served (hosts without Apps ignore them)
    server: MCPServer[Backend] = MCPServer(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS,
                                           lifespan=lifespan, log_level=settings.log_level, tools=tools,
                                           middleware=[AccessMiddleware(guard, specs)],
                                           extensions=[apps_extension(views)] if views else None)
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx2").setLevel(logging.WARNING)  # one INFO line per upstream request is noise
    register_extras(server, settings, specs)
    return server
