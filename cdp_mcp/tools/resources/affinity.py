"""affinity as the get_customer_affinity tool: the top labels of each chart, with their scores."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.resources.affinity import AFFINITY, Affinity, AffinityChart
from cdp_mcp.tools.kinds import LeftOut, SingleTool
from cdp_mcp.tools.origins import wired
from cdp_mcp.tools.outputs import Number, OutputModel, Result, unique
from cdp_mcp.tools.shaping import clean, distinct

__all__ = ["GET_CUSTOMER_AFFINITY", "AffinityOut", "AffinityTop", "affinity", "affinity_chart"]


class AffinityTop(OutputModel):
    """One affinity chart, shaped: its top labels with their scores and how many labels it has."""

    title: Annotated[str | None, wired(wire.Chart, "title")] = None
    measure: Annotated[str | None, wired(wire.Chart, "ylabel")] = None
    top: dict[str, float]
    total: int


class AffinityOut(Result):
    measure: Annotated[str | None, wired(wire.Chart, "ylabel")] = None
    measures: Annotated[dict[str, str] | None, wired(wire.Chart, "ylabel")] = Field(
        None, description="Chart -> measure, when they differ")
    charts: dict[str, dict[str, Number]] = Field(description="Chart -> label -> score")
    not_shown: dict[str, int] | None = Field(None, description="Chart -> labels beyond the limit")


def affinity_chart(c: AffinityChart, limit: int) -> AffinityTop:
    points = sorted(unique(c.points, key=lambda p: p.label), key=lambda p: -p.value)
    title = clean(c.title)
    return AffinityTop(title=title, measure=distinct(c.y_label, title),
                       top={p.label: round(p.value, 3) for p in points[:limit]}, total=len(points))


def affinity(a: Affinity, gcr_id: int | None, limit: int) -> AffinityOut:
    """One `{label: score}` map per chart title (top `limit`), the measure said once when the charts share it."""
    charts = [affinity_chart(c, limit) for c in a.charts]
    titles = [c.title or f"chart {i + 1}" for i, c in enumerate(charts)]
    measures = {t: c.measure for t, c in zip(titles, charts, strict=True) if c.measure}
    shared = set(measures.values())
    return AffinityOut(
        gcr_id=gcr_id, measure=next(iter(shared)) if len(shared) == 1 else None,
        measures=measures if len(shared) > 1 else None,
        charts={t: c.top for t, c in zip(titles, charts, strict=True)},
        not_shown={t: c.total - len(c.top) for t, c in zip(titles, charts, strict=True) if c.total > len(c.top)}
        or None)


GET_CUSTOMER_AFFINITY = SingleTool(
    reader=AFFINITY, tool="get_customer_affinity", title="Customer affinities",
    description="Affinity scores by category, brand and channel: each chart's top labels, highest first (limit "
    "per chart), and how many more it has.",
    output=AffinityOut, shape=affinity, limited=True,
    summary="top categories, brands, channels",
    left_out=LeftOut(("totalCount", "xAxisLabel"),
                     "the number of charts (all are shown), and the axis label the chart's title names"),
)
