"""segments, searchSegments, isCustomerInSegment: the customer's segments, and whether they are in one."""

from __future__ import annotations

from datetime import date

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, PageInfo, PageRequest
from cdp_mcp.client.paging import facts_of
from cdp_mcp.client.reading import Reader, id_and_name, paged_list
from cdp_mcp.client.recognise import Item
from cdp_mcp.client.values import as_bool
from cdp_mcp.errors import UpstreamResponseError

__all__ = ["IS_CUSTOMER_IN_SEGMENT", "SEARCH_SEGMENTS", "SEGMENTS", "Membership", "Segment", "SegmentPage",
           "read_membership", "read_segments"]

SEGMENT = ("segment", "seg")


class Segment(DomainModel):
    id: str
    name: str | None = None
    description: str | None = None
    category: str | None = None
    joined_on: date | None = None


class SegmentPage(DomainModel):
    customer_id: str | None = None
    items: list[Segment]
    page: PageInfo


class Membership(DomainModel):
    in_segment: bool


def _segment(raw: dict[str, object]) -> Segment | None:
    item = Item(raw, SEGMENT, declared=wire.Segment)
    ident, name = id_and_name(item)
    if ident is None:
        return None
    return Segment(id=ident, name=name, description=item.text("description"), category=item.text("category"),
                   joined_on=item.day("joined"))


read_segments = paged_list(SegmentPage, _segment, "segments", "segmentlist")


def read_membership(resource: Resource, data: object, _page: PageRequest | None) -> Membership:
    answer = facts_of(resource, data).flag("in_segment") if isinstance(data, dict) else as_bool(data)
    if answer is None:
        field = wire.meanings(wire.IsCustomerInSegmentData)["in_segment"]
        raise UpstreamResponseError(f"The API answered {resource.name} without `{field}` (the yes/no answer).")
    return Membership(in_segment=answer)


SEGMENTS = Reader(Scope.SEGMENTS, read_segments)
SEARCH_SEGMENTS = Reader(Scope.SEARCH_SEGMENTS, read_segments)
IS_CUSTOMER_IN_SEGMENT = Reader(Scope.IS_CUSTOMER_IN_SEGMENT, read_membership)
