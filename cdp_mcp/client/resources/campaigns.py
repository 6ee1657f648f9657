"""campaigns, searchCampaigns: the campaigns that targeted the customer."""

from __future__ import annotations

from datetime import date

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.client.models import DomainModel, PageInfo
from cdp_mcp.client.reading import Reader, id_and_name, paged_list
from cdp_mcp.client.recognise import Item

__all__ = ["CAMPAIGNS", "SEARCH_CAMPAIGNS", "Campaign", "CampaignPage", "read_campaigns"]

CAMPAIGN = ("campaign", "camp")


class Campaign(DomainModel):
    id: str
    name: str | None = None
    channel: str | None = None
    status: str | None = None
    segment_id: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    sent_on: date | None = None
    opened: bool | None = None
    clicked: bool | None = None


class CampaignPage(DomainModel):
    customer_id: str | None = None
    items: list[Campaign]
    page: PageInfo


def _campaign(raw: dict[str, object]) -> Campaign | None:
    item = Item(raw, CAMPAIGN, declared=wire.Campaign)
    ident, name = id_and_name(item)
    if ident is None:
        return None
    return Campaign(id=ident, name=name, channel=item.text("channel"), status=item.text("status"),
                    segment_id=item.text("segment_id", prefixes=()), start_date=item.day("start"),
                    end_date=item.day("end"), sent_on=item.day("sent"), opened=item.flag("opened"),
                    clicked=item.flag("clicked"))


read_campaigns = paged_list(CampaignPage, _campaign, "campaigns", "campaignlist")

CAMPAIGNS = Reader(Scope.CAMPAIGNS, read_campaigns)
SEARCH_CAMPAIGNS = Reader(Scope.SEARCH_CAMPAIGNS, read_campaigns)
