"""campaigns, searchCampaigns as tools: the campaigns that targeted the customer, and a search."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.resources.campaigns import CAMPAIGNS, SEARCH_CAMPAIGNS, Campaign
from cdp_mcp.tools.kinds import Argument, LeftOut, ListTool
from cdp_mcp.tools.origins import wired
from cdp_mcp.tools.outputs import Listing, OutputModel
from cdp_mcp.tools.shaping import clean, iso, lower

__all__ = [
    "LIST_CUSTOMER_CAMPAIGNS",
    "SEARCH_CUSTOMER_CAMPAIGNS",
    "CampaignInfo",
    "CampaignItem",
    "CampaignMatch",
    "CampaignMatches",
    "Campaigns",
    "campaign_item",
]


class CampaignMatch(OutputModel):
    name: Annotated[str | None, wired(wire.Campaign, "name")] = None
    channel: Annotated[str | None, wired(wire.Campaign, "channel")] = None
    sent: Annotated[str | None, wired(wire.Campaign, "sent")] = None
    opened: bool | None = None
    clicked: bool | None = None


class CampaignInfo(CampaignMatch):
    status: Annotated[str | None, wired(wire.Campaign, "status")] = None
    segment_id: Annotated[str | None, wired(wire.Campaign, "segment_id")] = None
    start_date: Annotated[str | None, wired(wire.Campaign, "start")] = None
    end_date: Annotated[str | None, wired(wire.Campaign, "end")] = None


class CampaignItem(CampaignInfo):
    id: Annotated[str, wired(wire.Campaign, "id", "name")]


class Campaigns(Listing):
    campaigns: dict[str, CampaignInfo] = Field(description="By campaign id")


class CampaignMatches(Listing):
    campaigns: dict[str, CampaignMatch] = Field(description="By campaign id")


def campaign_item(c: Campaign) -> CampaignItem:
    """Channel in lower case, as consent and screen_customers spell it, so a model can compare them."""
    return CampaignItem(id=c.id, name=clean(c.name), channel=lower(c.channel), status=clean(c.status),
                        segment_id=clean(c.segment_id), sent=iso(c.sent_on), start_date=iso(c.start_date),
                        end_date=iso(c.end_date), opened=c.opened or None, clicked=c.clicked or None)


LIST_CUSTOMER_CAMPAIGNS = ListTool(
    reader=CAMPAIGNS, tool="list_customer_campaigns", title="Customer campaigns",
    description="Campaigns that targeted the customer, by id: name, channel, status, segment, dates, sent, "
    "opened/clicked.",
    output=Campaigns, item=campaign_item, pages=True,
    summary="campaigns that targeted the customer",
)


SEARCH_CUSTOMER_CAMPAIGNS = ListTool(
    reader=SEARCH_CAMPAIGNS, tool="search_customer_campaigns", title="Search customer campaigns",
    description="The customer's campaigns whose name contains a text (case-insensitive), by id: name, channel, "
    "when sent, opened/clicked.",
    output=CampaignMatches, item=campaign_item, pages=True,
    argument=Argument("campaign_name", "Text to look for in campaign names, e.g. 'spring'."),
    summary="campaigns matching a name",
    left_out=LeftOut(("campaignStatus", "segmentId", "startDate", "endDate"),
                     "a search finds campaigns; `list_customer_campaigns` gives status, segment and dates"),
)
