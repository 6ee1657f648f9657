"""The prose a model reads (server instructions, prompts) names only tools that are served.

A host that serves a subset (CDP_TOOLS, CDP_RESOURCES) must not send the model to a tool it does not have:
every word of the instructions and of every offered prompt that looks like a tool name is checked against
the served list, for several surfaces.
"""

from __future__ import annotations

import re

import pytest
from mcp import Client

from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.registry import all_specs

pytestmark = pytest.mark.anyio

ALL_TOOLS = {s.name for s in all_specs()}
TOOL_LIKE = re.compile(r"\b(?:get|list|search|check|screen|resolve)_[a-z_]+\b")
PROMPT_ARGUMENTS = {"customer_brief": {"customer": "ada.lovelace@example.com"},
                    "campaign_plan": {"segment": "High Value", "channel": "sms", "customers": "1,2,3"}}


@pytest.mark.parametrize("surface", [
    {},
    {"tools": ["get_customer_profile"]},
    {"tools": ["get_customer_profile", "get_marketing_consent", "list_purchased_products"]},
    {"tools": ["get_customer_overview"]},
    {"tools": ["screen_customers"]},
    {"tools": ["screen_customers", "get_product_recommendations", "list_customer_segments"]},
    {"resources": ["basic", "optIn", "isCustomerInSegment"]},
    {"resources": ["segments", "productPurchased"]},
], ids=lambda surface: ",".join(f"{k}={'+'.join(v)}" for k, v in surface.items()) or "everything")
async def test_instructions_and_prompts_name_only_served_tools(surface: dict[str, list[str]]) -> None:
    server = build_server(Settings(**surface))  # type: ignore[arg-type]
    async with Client(server, mode="legacy") as client:
        served = {t.name for t in (await client.list_tools()).tools}
        texts = {"instructions": client.instructions or ""}
        for prompt in (await client.list_prompts()).prompts:
            result = await client.get_prompt(prompt.name, PROMPT_ARGUMENTS[prompt.name])
            texts[prompt.name] = "\n".join(m.content.text for m in result.messages)  # type: ignore[union-attr]
    assert texts["instructions"]
    for where, text in texts.items():
        named = set(TOOL_LIKE.findall(text))
        assert named <= ALL_TOOLS, f"{where} names tools that do not exist: {named - ALL_TOOLS}"
        assert named <= served, f"{where} names tools that are not served: {named - served}"
    if "screen_audience" in served:  # an audience of any size, from the CDP's export
        assert "campaign_plan" in texts and "screen_audience" in texts["campaign_plan"]
        assert "cannot list the members of a segment" in texts["campaign_plan"]
    elif "screen_customers" in served:
        assert "campaign_plan" in texts and "screen_customers" in texts["campaign_plan"]
    else:
        assert "campaign_plan" not in texts
    if served & {"get_customer_overview", "get_customer_profile"}:
        assert "customer_brief" in texts
