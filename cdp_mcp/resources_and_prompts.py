"""MCP resources and prompts: `cdp://catalog`, `cdp://customers/{gcr_id}/overview`, `cdp://screenings/{id}` (and
its `results.csv`), customer_brief, campaign_plan.

The catalog resource tells a host which tools are served and which API resources (token scopes) each
needs. The overview template serves the same card as get_customer_overview, for hosts that attach
resources to a conversation, under the same call guard (rate limit, grants, audit line
`resource:customer_overview`). The prompts are short playbooks that name the tools to call, in order; they
are written for the tools served (CDP_TOOLS / CDP_RESOURCES), so they never send a model to a missing tool,
and a prompt whose essential tool is not served is not offered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from pydantic import BaseModel, Field

from cdp_mcp.access.caller import must_redact, visible_tools
from cdp_mcp.catalog import RESOURCES
from cdp_mcp.errors import CdpError
from cdp_mcp.jobs.model import GROUPS
from cdp_mcp.sanitizer import clean_text
from cdp_mcp.settings import Settings
from cdp_mcp.tools.audience import CsvText, screening_csv
from cdp_mcp.tools.audience_results import CSV_URI, SCREENING_URI
from cdp_mcp.tools.params import CHANNELS
from cdp_mcp.tools.registry import guarded_call
from cdp_mcp.tools.results import compact_json, policy_for, structured
from cdp_mcp.tools.spec import Handler, ToolSpec
from cdp_mcp.tools.untrusted import note_untrusted

if TYPE_CHECKING:
    from cdp_mcp.access.guard import CallGuard

__all__ = ["CATALOG_URI", "OVERVIEW_AUDIT_NAME", "OVERVIEW_URI", "PROMPTS", "RESOURCE_AUDIT_NAMES",
           "campaign_plan_prompt", "catalog_document", "customer_brief_prompt", "register_resources_and_prompts"]

CATALOG_URI = "cdp://catalog"
OVERVIEW_URI = "cdp://customers/{gcr_id}/overview"
OVERVIEW_AUDIT_NAME = "resource:customer_overview"
"""What the audit line's `tool` says for a read of the overview resource."""
SCREENING_AUDIT_NAME = "resource:screening"
CSV_AUDIT_NAME = "resource:screening_results"
RESOURCE_AUDIT_NAMES = (OVERVIEW_AUDIT_NAME, SCREENING_AUDIT_NAME, CSV_AUDIT_NAME)
"""Every name a resource read is audited and counted under, beside the tool names (a metrics label's fixed set)."""
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


def _numbered(steps: Sequence[str]) -> str:
    return "\n".join(f"{n}. {text}" for n, text in enumerate(steps, 1))


def customer_brief_prompt(served: set[str]) -> Callable[..., str] | None:
    """The `customer_brief` playbook for the served tools, or None when no served tool identifies a customer."""
    first = next((t for t in ("get_customer_overview", "get_customer_profile") if t in served), None)
    if first is None:
        return None
    card = first == "get_customer_overview"  # the card already holds value, consent and recommendations
    steps = [f"Call {first} with that identifier (gcr_id=, email=, mobile= or customer_code=, whichever it is). "
             "Use the gcr_id it returns in every later call."]
    brief = ["who they are", "their value and trend" if card else "their value"]
    if "list_purchased_products" in served:
        steps.append("Call list_purchased_products (limit 5) for what they bought lately.")
        brief.append("what they bought")
    if card or "get_marketing_consent" in served:
        if not card:
            steps.append("Call get_marketing_consent for the channels they agreed to be contacted on.")
        brief.append("which channels they agreed to be contacted on")
    if card or "get_product_recommendations" in served:
        if not card:
            steps.append("Call get_product_recommendations (limit 3) for what to recommend.")
        brief.append("two or three recommended products to mention")
    steps.append(f"Write a brief: {', '.join(brief)}. Note any section that was unavailable.")

    def customer_brief(
        customer: Annotated[str, Field(description="gcr_id, email, mobile or customer code of the customer")],
    ) -> str:
        return f"Prepare me for a conversation with the customer identified by {customer!r}.\n" + _numbered(steps)

    return customer_brief


def _audience_steps(served: set[str], channel: str, audience_file: str, customers: str) -> list[str]:
    """The screening steps with screen_audience: an audience of any size, from the CDP's export."""
    given = [f"audience_file={audience_file.strip()!r}"] if audience_file.strip() else []
    given += [f"customers (one object per customer: {customers.strip()})"] if customers.strip() else []
    source = " or ".join(given) or ("the audience the person brings: the file their CDP's segment builder "
                                    "exported, saved in the audience folder (audience_file=), or customers inline")
    follow = (" Over 100 customers it answers with a screening_id: call get_screening with it until the status is "
              "completed, then page through the rows with only='eligible'.") if "get_screening" in served else ""
    return [
        "The Customer Profile API cannot list the members of a segment: the audience comes from the CDP's segment "
        "builder (an export) or from the person.",
        f"Call screen_audience with {source}, the segment (segment_id= if it looks like an id, else segment_name=), "
        f"channel={channel!r} and recent_days= if recency matters. A large audience first asks the person to confirm "
        f"the estimate.{follow}",
        "Contact only eligible customers (in the segment and opted in on the channel); report those not found or "
        "not screened separately.",
    ]


def campaign_plan_prompt(served: set[str]) -> Callable[..., str] | None:
    """The `campaign_plan` playbook for the served tools: screen_audience when served (any audience size, from the
    CDP's export), else screen_customers (100 customers a call); None when neither is served."""
    audience = "screen_audience" in served
    if not audience and "screen_customers" not in served:
        return None
    tailor = next((t for t in ("get_customer_overview", "get_product_recommendations") if t in served), None)

    def campaign_plan(
        segment: Annotated[str, Field(description="Segment id or exact segment name")],
        channel: Annotated[str, Field(description=f"Channel to use: {', '.join(CHANNELS)}")] = "email",
        customers: Annotated[str, Field(description="Customers to consider: gcr_ids, emails or customer codes, "
                                                    "comma-separated")] = "",
        audience_file: Annotated[str, Field(description="Or the audience the CDP exported: a CSV or JSON-lines "
                                                        "file in the audience folder")] = "",
    ) -> str:
        who = f" among these customers: {customers}" if customers.strip() and not audience else ""
        if audience:
            steps = _audience_steps(served, channel, audience_file, customers)
        else:
            steps = [f"Call screen_customers (up to 100 customers a call) with the customers, the segment "
                     f"(segment_id= if it looks like an id, else segment_name=) and channel={channel!r}. It returns "
                     "one row per customer.",
                     "Keep only rows with in_segment and contactable true: customers without consent on the channel "
                     "must not be contacted. Report rows with an error separately."]
        if tailor is not None:
            steps.append(f"For two or three eligible customers, call {tailor} to tailor the message (affinities, "
                         "recommendations).")
        steps.append("Write a short plan: audience size, timing (prefer recent buyers first), message angle, and "
                     "the customers excluded and why.")
        return f"Plan a campaign on the {channel} channel for the segment {segment!r}{who}.\n" + _numbered(steps)

    return campaign_plan


PROMPTS: dict[str, tuple[str, str, Callable[[set[str]], Callable[..., str] | None]]] = {
    "customer_brief": ("Customer brief", "Prepare for a conversation with one customer.", customer_brief_prompt),
    "campaign_plan": ("Campaign plan", "Plan a campaign for a segment's audience, with consent checks.",
                      campaign_plan_prompt),
}
"""Each prompt: title, description, and the factory that writes its playbook for the served tools."""


def _register_screening_resources(server: MCPServer[Any], settings: Settings, spec: ToolSpec,
                                  guard: CallGuard) -> None:
    """A screening's whole result: JSON pages (as get_screening gives them) and CSV, under get_screening's guard."""

    async def read(handler: Handler, arguments: dict[str, Any], ctx: Context[Any, Any], name: str) -> BaseModel:
        try:
            model, _ = await guarded_call(guard, spec, handler, arguments, ctx, name=name)
        except CdpError as exc:
            raise ResourceError(clean_text(exc.for_model())) from None
        return model

    async def screening(screening_id: str, ctx: Context[Any, Any], cursor: str | None = None,
                        only: str | None = None) -> str:
        if only is not None and only not in GROUPS:
            raise ResourceError(f"only must be one of {', '.join(GROUPS)}.")
        page = await read(spec.handler, {"screening_id": screening_id, "cursor": cursor, "only": only}, ctx,
                          SCREENING_AUDIT_NAME)
        result = structured(page, redact_pii=must_redact(settings), policy=policy_for(settings))
        note_untrusted(result.untrusted)  # ResourceLabels puts them in the content's _meta
        return result.text if result.text is not None else compact_json(result.data)

    async def results_csv(screening_id: str, ctx: Context[Any, Any]) -> str:
        table = await read(screening_csv, {"screening_id": screening_id}, ctx, CSV_AUDIT_NAME)
        return table.text if isinstance(table, CsvText) else ""

    server.resource(SCREENING_URI + "{?cursor,only}", name="screening", title="Screening result",
                    mime_type=_JSON, description="A screen_audience result: summary and rows, in pages "
                                                 "(?cursor=next_cursor, ?only=eligible).")(screening)
    server.resource(CSV_URI, name="screening_results", title="Screening result as CSV", mime_type="text/csv",
                    description="Every row of a screen_audience result, as CSV.")(results_csv)


def register_resources_and_prompts(server: MCPServer[Any], settings: Settings, specs: list[ToolSpec],
                                   guard: CallGuard) -> None:
    """Register the catalog resource, the overview template (when the overview tool is served) and prompts.

    A read of the overview runs under `guard` as a call of get_customer_overview would: it is the heaviest read.
    """
    everything = clean_text(compact_json(catalog_document(specs)))

    def catalog() -> str:
        visible = visible_tools(settings, specs)  # the tools a signed-in person's scopes reach and the request keeps
        return everything if visible is None else clean_text(compact_json(catalog_document([s for s in specs
                                                                                            if s.name in visible])))

    server.resource(CATALOG_URI, name="catalog", title="Tool catalog", mime_type=_JSON,
                    description="Each tool served and the API resources (token scopes) it needs.")(catalog)
    spec = next((s for s in specs if s.name == "get_customer_overview"), None)
    if spec is not None:
        async def customer_overview(gcr_id: str, ctx: Context[Any, Any]) -> str:
            if not re.fullmatch(r"[0-9]{1,15}", gcr_id) or int(gcr_id) < 1:
                raise ResourceError("gcr_id must be a positive integer, e.g. cdp://customers/1/overview")
            try:
                card, backend = await guarded_call(guard, spec, spec.handler, {"gcr_id": int(gcr_id)}, ctx,
                                                   name=OVERVIEW_AUDIT_NAME)
            except CdpError as exc:
                raise ResourceError(clean_text(exc.for_model())) from None
            result = structured(card, redact_pii=must_redact(settings), policy=policy_for(settings), backend=backend)
            note_untrusted(result.untrusted)  # ResourceLabels puts them in the content's _meta
            return result.text if result.text is not None else compact_json(result.data)

        server.resource(OVERVIEW_URI, name="customer_overview", title="Customer overview", mime_type=_JSON,
                        description="The get_customer_overview card for a gcr_id.")(customer_overview)
    screening = next((s for s in specs if s.name == "get_screening"), None)
    if screening is not None:
        _register_screening_resources(server, settings, screening, guard)
    served = {s.name for s in specs}
    for name, (title, description, factory) in PROMPTS.items():
        prompt = factory(served)
        if prompt is not None:
            server.prompt(name=name, title=title, description=description)(prompt)
