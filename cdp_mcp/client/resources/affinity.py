"""affinity: the customer's affinity scores by category, brand and channel."""

from __future__ import annotations

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, PageRequest
from cdp_mcp.client.paging import facts_of
from cdp_mcp.client.reading import Reader, need_items
from cdp_mcp.client.recognise import Item
from cdp_mcp.client.values import as_float, as_text

__all__ = ["AFFINITY", "Affinity", "AffinityChart", "AffinityPoint", "read_affinity"]


class AffinityPoint(DomainModel):
    label: str
    value: float


class AffinityChart(DomainModel):
    title: str | None = None
    x_label: str | None = None
    y_label: str | None = None
    points: list[AffinityPoint] = Field(description="Highest value first")


class Affinity(DomainModel):
    customer_id: str | None = None
    charts: list[AffinityChart]
    total: int | None = None


def _points(chart: Item) -> list[AffinityPoint]:
    raw = chart.get("points", bare=True)
    if isinstance(raw, dict):  # {"Shoes": 0.8, "Bags": 0.3}
        pairs = [(as_text(k), as_float(v)) for k, v in raw.items()]
    else:
        elements = [e for e in (raw if isinstance(raw, list) else chart.sublist() or []) if isinstance(e, dict)]
        pairs = [(point.text("label"), point.number("score"))
                 for point in (Item(e, declared=wire.ChartPoint) for e in elements)]
    points = [AffinityPoint(label=label, value=value) for label, value in pairs if label and value is not None]
    return sorted(points, key=lambda p: p.value, reverse=True)


def read_affinity(resource: Resource, data: object, _page: PageRequest | None) -> Affinity:
    charts = []
    for element in need_items(resource, data, "charts", "affinities", "affinity"):
        chart = Item(element, declared=wire.Chart)
        charts.append(AffinityChart(title=chart.text("title"), x_label=chart.text("xlabel"),
                                    y_label=chart.text("ylabel"), points=_points(chart)))
    facts = facts_of(resource, data)
    return Affinity(customer_id=facts.text("customer"), charts=charts, total=facts.integer("total"))


AFFINITY = Reader(Scope.AFFINITY, read_affinity)
