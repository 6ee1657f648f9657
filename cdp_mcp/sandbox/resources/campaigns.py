"""campaigns, searchCampaigns, as the sandbox serves them: the campaigns that reached the customer."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest, day, pages

__all__ = ["CAMPAIGNS", "SEARCH_CAMPAIGNS", "campaigns"]

_CAMPAIGNS_SQL = ("FROM campaign_participation p JOIN campaigns c ON c.campaign_id = p.campaign_id "
                  "WHERE p.gcr_id = ? AND instr(lower(c.name), lower(?)) > 0")


def campaigns(req: ViewRequest) -> wire.CampaignsData:
    offset = req.page.offset(req.gcr_id)
    params = (req.gcr_id, req.query or "")
    total = req.store.scalar(f"SELECT COUNT(*) {_CAMPAIGNS_SQL}", params)  # constant SQL fragment, no input
    rows = req.store.query(
        "SELECT c.campaign_id, c.name, c.channel, c.status, c.segment_id, c.start_days_ago, c.end_days_ago, "
        f"p.sent_days_ago, p.opened, p.clicked {_CAMPAIGNS_SQL} "
        "ORDER BY p.sent_days_ago, c.campaign_id LIMIT ? OFFSET ?", (*params, req.page.page_size, offset))
    items = [wire.Campaign(campaignId=r[0], campaignName=r[1], channel=r[2], campaignStatus=r[3], segmentId=r[4],
                           startDate=day(req.today, r[5]), endDate=day(req.today, r[6]),
                           sentDate=day(req.today, r[7]), opened=bool(r[8]), clicked=bool(r[9])) for r in rows]
    size = req.page.page_size
    return wire.CampaignsData(customerId=req.gcr_id, currentPage=offset // size + 1, pageSize=size, totalCount=total,
                              totalPages=pages(total, size), dataList=items)


_TOTAL = "*`totalCount`*: the vendor shows a key beginning with `total`"
CAMPAIGNS = SandboxResource(
    Scope.CAMPAIGNS, campaigns,
    contract=_TOTAL,
)
SEARCH_CAMPAIGNS = SandboxResource(
    Scope.SEARCH_CAMPAIGNS, campaigns,
    contract="Documented \"like searchSegments\" (its fields as there, the items left open); *`totalPages`* as "
             "campaigns sends it. Search: case-insensitive substring of the campaign name",
)
