"""The composite tools: get_customer_overview (one card from six resources) and screen_customers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cdp_mcp.catalog import Scope
from cdp_mcp.tools.overview import OVERVIEW_RESOURCES, Overview, overview
from cdp_mcp.tools.params import (
    CHANNEL,
    IDENTITY_PARAMS,
    MAX_LIMIT,
    SECTIONS,
    SEGMENT_ID,
    SEGMENT_NAME,
    CustomerRef,
    Section,
)
from cdp_mcp.tools.screening import Screening, screen
from cdp_mcp.tools.spec import Param, ToolSpec
from cdp_mcp.views import CARD_URI, SCREENING_URI

__all__ = ["composite_specs"]

_INCLUDE = Param(
    "include",
    Annotated[list[Section] | None, Field(
        description="Sections to return; default all.", min_length=1, max_length=len(SECTIONS),
    )],
    None,
)
_CUSTOMERS = Param(
    "customers",
    Annotated[list[CustomerRef], Field(
        description="Customers to screen, each by at least one identifier",
        min_length=1, max_length=MAX_LIMIT,
    )],
)


def composite_specs() -> list[ToolSpec]:
    """The composites, after the per-resource tools in tools/list."""
    return [
        ToolSpec(
            name="get_customer_overview", title="Customer overview",
            description=(
                "One compact card about a customer: who (name, tier, city, age band), value (sales, orders, "
                "average basket, days since last purchase, 3-month trend), segments, consent per channel, top "
                "affinities, top 3 recommendations. Use first to prepare a conversation; sections that cannot be "
                "fetched are listed under unavailable."
            ),
            resources=OVERVIEW_RESOURCES[:1], optional_resources=(*OVERVIEW_RESOURCES[1:], Scope.GCR_ID),
            params=(*IDENTITY_PARAMS, _INCLUDE), output=Overview, handler=overview, view=CARD_URI,
            summary="one card: who, value (with trend), segments, consent, top affinities, top 3 recommendations",
        ),
        ToolSpec(
            name="screen_customers", title="Screen customers for a campaign",
            description=(
                "For up to 100 customers: is each in the segment, contactable on the channel (consent), and how "
                "many days since their last purchase. One row per customer (errors per row) plus summary counts. "
                "Use to build a contactable audience."
            ),
            resources=(Scope.BASIC, Scope.OPT_IN, Scope.IS_CUSTOMER_IN_SEGMENT),
            optional_resources=(Scope.SEARCH_SEGMENTS, Scope.SEGMENTS, Scope.GCR_ID),
            optional_note="searchSegments by name, segments to name a segment given by id",
            params=(_CUSTOMERS, SEGMENT_ID, SEGMENT_NAME, CHANNEL), output=Screening, handler=screen,
            customer=False, view=SCREENING_URI,
            summary="per customer: in segment (by `segment_id` or `segment_name`), contactable on the channel, "
                    "last-purchase recency",
        ),
    ]
