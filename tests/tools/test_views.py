"""MCP Apps over MCP: the two tools name their views, the views are served as the specification asks, and a
host without MCP Apps gets exactly the results a host with it gets."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from tool_results import Connect, data_of

from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.views import CARD_URI, SCREENING_URI

pytestmark = pytest.mark.anyio

VIEW_OF = {"get_customer_overview": CARD_URI, "screen_customers": SCREENING_URI}
VIEW_BUDGET = 40 * 1024
_OTHER_ORIGIN = re.compile(r"""(?:src|href|action)\s*=|@import|url\(|fetch\(|XMLHttpRequest|WebSocket|EventSource"""
                           r"""|https?://(?!www\.w3\.org/2000/svg)""")
"""What would make a view request anything: a URL attribute, CSS import or url(), a script request API, or any
http(s) URL except the SVG namespace name (an identifier, never fetched)."""


async def test_the_two_tools_name_their_views_and_the_server_serves_them(connect: Connect) -> None:
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


async def test_without_the_composites_no_view_is_served(connect: Connect) -> None:
    async with connect(tools=["get_customer_profile"]) as client:
        assert str(CARD_URI) not in {r.uri for r in (await client.list_resources()).resources}
        assert EXTENSION_ID not in (client.server_capabilities.extensions or {})


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_hosts_with_and_without_mcp_apps_get_the_same_results(connect: Connect, sandbox_server: SandboxThread,
                                                                    mode: str) -> None:
    vip = sandbox_server.sample("vip")
    calls = [("get_customer_overview", {"gcr_id": vip.gcr_id}),
             ("screen_customers", {"customers": [{"gcr_id": vip.gcr_id}], "segment_id": "101", "channel": "sms"})]
    plain, apps = [], []
    async with connect(mode=mode) as client:
        assert isinstance(client, Client)
        plain = [data_of(await client.call_tool(name, args)) for name, args in calls]
    apps_host = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
    async with connect(mode=mode, extensions=apps_host) as client:
        apps = [data_of(await client.call_tool(name, args)) for name, args in calls]
    assert apps == plain
