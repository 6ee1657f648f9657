"""affinity, as the sandbox serves it: category, brand and channel charts of the customer's scores."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.contract import AFFINITY_DEFAULT_PAGE_SIZE
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest, pages

__all__ = ["AFFINITY", "affinity"]

_CHARTS = (("category", "Category affinity", "Category"), ("brand", "Brand affinity", "Brand"),
           ("channel", "Channel affinity", "Channel"))


def affinity(req: ViewRequest) -> wire.AffinityData:
    """The charts, `pageSize` of them (the first page: the vendor documents no page number for affinity)."""
    rows = req.store.query("SELECT dimension, label, score FROM affinity_scores WHERE gcr_id = ? "
                           "ORDER BY score DESC, label", (req.gcr_id,))
    charts = [wire.Chart(chartTitle=title, xAxisLabel=x, yAxisLabel="Affinity score",
                         chartData=[wire.ChartPoint(label=r[1], value=r[2]) for r in rows if r[0] == dim])
              for dim, title, x in _CHARTS]
    size = req.page.page_size
    return wire.AffinityData(customerId=req.gcr_id, totalCount=len(charts), currentPage=1, pageSize=size,
                             totalPages=pages(len(charts), size), dataList=charts[:size])


AFFINITY = SandboxResource(
    Scope.AFFINITY, affinity, default_page_size=AFFINITY_DEFAULT_PAGE_SIZE,
    contract=f"Charts {', '.join(f'`{title}`' for _, title, _ in _CHARTS)}, points highest first (0..100); "
             "`currentPage` is always 1; `pageSize` alone selects how many charts "
             f"(default {AFFINITY_DEFAULT_PAGE_SIZE})",
)
