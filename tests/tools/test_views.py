"""MCP Apps over MCP: the two tools name their views, the views are served as the specification asks, and only
the views of the tools served are listed."""

from __future__ import annotations

import re

import pytest
from mcp import MCPError
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from tool_results import Connect

from cdp_mcp.views import CARD_URI, SCREENING_URI

pytestmark = pytest.mark.anyio

VIEW_OF = {"get_customer_overview": CARD_URI, "screen_customers": SCREENING_URI, "screen_audience": SCREENING_URI,
           "get_screening": SCREENING_URI}
VIEW_BUDGET = 40 * 1024
_OTHER_ORIGIN = re.compile(r"""(?:src|href|action)\s*=|@import|url\(|fetch\(|XMLHttpRequest|WebSocket|EventSource"""
                           r"""|https?://(?!www\.w3\.org/2000/svg)""")
"""What would make a view request anything: a URL attribute, CSS import or url(), a script request API, or any
http(s) URL except the SVG namespace name (an identifier, never fetched)."""


async def test_the_tools_with_views_name_them_and_the_server_serves_them(connect: Connect) -> None:
    async with connect() as client:
        tools = (await client.list_tools()).tools
        listed = {r.uri: r for r in (await client.list_resources()).resources}
        assert EXTENSION_ID in (client.server_capabilities.extensions or {})
        for tool in tools:
            assert (tool.meta or {}).get("ui") == ({"resourceUri": VIEW_OF[tool.name]} if tool.name in VIEW_OF
                                                   else None), tool.name
        for uri in VIEW_OF.values():
            assert listed[uri].mime_type == APP_MIME_TYPE
            content = (await client.read_resource(uri)).contents[0]
            assert content.mime_type == APP_MIME_TYPE and content.meta == {"ui": {"prefersBorder": True}}
            html = content.text  # type: ignore[union-attr]
            assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
            assert len(html.encode()) < VIEW_BUDGET, uri
            assert "{{" not in html and not _OTHER_ORIGIN.findall(html), _OTHER_ORIGIN.findall(html)


@pytest.mark.parametrize(("tools", "views"), [
    (None, {CARD_URI, SCREENING_URI}),
    (["get_customer_overview", "get_customer_profile"], {CARD_URI}),
    (["screen_customers"], {SCREENING_URI}),
    (["get_customer_profile", "get_marketing_consent"], set()),
])
async def test_the_views_served_are_those_of_the_tools_served(connect: Connect, tools: list[str] | None,
                                                              views: set[str]) -> None:
    """A view is listed, and the MCP Apps extension advertised, only for a tool the server offers."""
    async with connect(tools=tools) as client:
        listed = {str(r.uri) for r in (await client.list_resources()).resources if str(r.uri).startswith("ui://")}
        assert listed == views
        assert (EXTENSION_ID in (client.server_capabilities.extensions or {})) == bool(views)
        for uri in {CARD_URI, SCREENING_URI} - views:
            with pytest.raises(MCPError):
                await client.read_resource(uri)
