"""MCP resources and prompts: `cdp://catalog`, `cdp://customers/{gcr_id}/overview`, customer_brief, campaign_plan.

The catalog resource tells a host which tools are served and which API resources (token scopes) each
needs. The overview template serves the same card as get_customer_overview, for hosts that attach
resources to a conversation. The prompts are short playbooks that name the tools to call, in order.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from pydantic import Field

from cdp_mcp.catalog import RESOURCES
from cdp_mcp.errors import CdpError
from cdp_mcp.settings import Settings
from cdp_mcp.team.access import must_redact
from cdp_mcp.tools.deadline import within_call_timeout
from cdp_mcp.tools.overview import overview
from cdp_mcp.tools.params import CHANNELS
from cdp_mcp.tools.results import compact_json, structured
from cdp_mcp.tools.spec import ToolCall, ToolSpec

__all__ = ["CATALOG_URI", "OVERVIEW_URI", "campaign_plan", "catalog_document", "customer_brief", "register_extras"]

CATALOG_URI = "cdp://catalog"
OVERVIEW_URI = "cdp://customers/{gcr_id}/overview"
_JSON = "application/json"


def catalog_document(specs: list[ToolSpec]) -> dict[str, Any]:
    """Each served tool with the API resources it needs, and what each resource is."""
    return {
        "tools": [
            {"name": s.name, "title": s.title, "resources": list(s.resources),
             **({"optional_resources": list(s.optional_resources)} if s.optional_resources else {})}
            for s in specs
        ],
        "resources": {r.name: r.purpose for r in RESOURCES},
    }


def customer_brief(
    customer: Annotated[str, Field(description="gcr_id, email, mobile or customer code of the customer")],
) -> str:
    return (
        f"Prepare me for a conversation with the customer identified by {customer!r}.\n"
        "1. Call get_customer_overview with that identifier (gcr_id=, email=, mobile= or customer_code=, "
        "whichever it is). Use the gcr_id it returns in every later call.\n"
        "2. Call list_purchased_products (limit 5) for what they bought lately.\n"
        "3. Write a brief: who they are, their value and trend, what they bought, which channels they agreed "
        "to be contacted on, and two or three recommended products to mention. Note any unavailable section."
    )


def campaign_plan(
    segment: Annotated[str, Field(description="Segment id or exact segment name")],
    channel: Annotated[str, Field(description=f"Channel to use: {', '.join(CHANNELS)}")] = "email",
    customers: Annotated[str, Field(description="Customers to consider: gcr_ids, emails or customer codes, "
                                                "comma-separated")] = "",
) -> str:
    who = f" among these customers: {customers}" if customers.strip() else ""
    return (
        f"Plan a {channel} campaign for the segment {segment!r}{who}.\n"
        f"1. Call screen_customers with the customers, the segment (segment_id= if it looks like an id, else "
        f"segment_name=) and channel={channel!r}. It returns one row per customer.\n"
        "2. Keep only rows with in_segment and contactable true: customers without consent on the channel "
        "must not be contacted. Report rows with an error separately.\n"
        "3. For two or three eligible customers, call get_customer_overview to tailor the message "
        "(affinities, recommendations).\n"
        "4. Write a short plan: audience size, timing (prefer recent buyers first), message angle, and the "
        "customers excluded and why."
    )


def register_extras(server: MCPServer[Any], settings: Settings, specs: list[ToolSpec]) -> None:
    """Register the catalog resource, the overview template (when the overview tool is served) and prompts."""
    document = compact_json(catalog_document(specs))
    server.resource(CATALOG_URI, name="catalog", title="Tool catalog", mime_type=_JSON,
                    description="Each tool served and the API resources (token scopes) it needs.")(lambda: document)
    spec = next((s for s in specs if s.name == "get_customer_overview"), None)
    if spec is not None:
        async def customer_overview(gcr_id: str, ctx: Context[Any, Any]) -> str:
            if not re.fullmatch(r"[0-9]{1,15}", gcr_id) or int(gcr_id) < 1:
                raise ResourceError("gcr_id must be a positive integer, e.g. cdp://customers/1/overview")
            backend = ctx.request_context.lifespan_context
            call = ToolCall(spec=spec, backend=backend, settings=settings, arguments={"gcr_id": int(gcr_id)})
            try:
                card = await within_call_timeout("the overview resource", settings.call_timeout, lambda: overview(call))
                return compact_json(structured(card, redact_pii=must_redact(settings), backend=backend))
            except CdpError as exc:
                raise ResourceError(exc.for_model()) from None

        server.resource(OVERVIEW_URI, name="customer_overview", title="Customer overview", mime_type=_JSON,
                        description="The get_customer_overview card for a gcr_id.")(customer_overview)
    server.prompt(name="customer_brief", title="Customer brief",
                  description="Prepare for a conversation with one customer.")(customer_brief)
    server.prompt(name="campaign_plan", title="Campaign plan",
                  description="Plan a campaign for a segment, with consent checks.")(campaign_plan)
