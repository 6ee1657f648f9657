"""segments, searchSegments, isCustomerInSegment as tools: the customer's segments, a search, a yes/no."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.resources.segments import IS_CUSTOMER_IN_SEGMENT, SEARCH_SEGMENTS, SEGMENTS, Membership, Segment
from cdp_mcp.tools.kinds import Argument, LeftOut, ListTool, SingleTool
from cdp_mcp.tools.origins import wired
from cdp_mcp.tools.outputs import Listing, OutputModel, Result
from cdp_mcp.tools.shaping import clean, distinct, iso

__all__ = [
    "CHECK_CUSTOMER_IN_SEGMENT",
    "LIST_CUSTOMER_SEGMENTS",
    "SEARCH_CUSTOMER_SEGMENTS",
    "SegmentCheck",
    "SegmentInfo",
    "SegmentItem",
    "SegmentMatch",
    "SegmentMatches",
    "Segments",
    "segment_item",
]


class SegmentInfo(OutputModel):
    name: Annotated[str | None, wired(wire.Segment, "name")] = None
    category: Annotated[str | None, wired(wire.Segment, "category")] = None
    joined: Annotated[str | None, wired(wire.Segment, "joined")] = None
    description: Annotated[str | None, wired(wire.Segment, "description")] = None


class SegmentItem(SegmentInfo):
    id: Annotated[str, wired(wire.Segment, "id", "name")]


class SegmentMatch(OutputModel):
    name: Annotated[str | None, wired(wire.Segment, "name")] = None
    joined: Annotated[str | None, wired(wire.Segment, "joined")] = None


class Segments(Listing):
    segments: dict[str, SegmentInfo] = Field(description="By segment id (a segment_id)")


class SegmentMatches(Listing):
    segments: dict[str, SegmentMatch] = Field(description="By segment id (a segment_id)")


class SegmentCheck(Result):
    in_segment: bool


def segment_item(s: Segment) -> SegmentItem:
    name = clean(s.name)
    return SegmentItem(id=s.id, name=name, category=distinct(s.category, name), joined=iso(s.joined_on),
                       description=distinct(s.description, name, s.id))


def _membership(data: Membership, gcr_id: int | None, _limit: int) -> Result:
    return SegmentCheck(gcr_id=gcr_id, in_segment=data.in_segment)


LIST_CUSTOMER_SEGMENTS = ListTool(
    reader=SEGMENTS, tool="list_customer_segments", title="Customer segments",
    description="Segments the customer belongs to, by id: name, category, date joined, what the segment "
    "means.",
    output=Segments, item=segment_item, pages=True,
    summary="the customer's segments",
)


SEARCH_CUSTOMER_SEGMENTS = ListTool(
    reader=SEARCH_SEGMENTS, tool="search_customer_segments", title="Search customer segments",
    description="The customer's segments whose name contains a text (case-insensitive), by id with name and "
    "date joined. Use to find a segment id by name; it cannot list a segment's members (screen_audience "
    "screens an exported audience).",
    output=SegmentMatches, item=segment_item, pages=True,
    argument=Argument("segment_name", "Text to look for in segment names, e.g. 'vip'."),
    summary="segments matching a name",
    left_out=LeftOut(("segmentDescription", "segmentType"),
                     "a search finds segment ids; `list_customer_segments` gives category and meaning"),
)


CHECK_CUSTOMER_IN_SEGMENT = SingleTool(
    reader=IS_CUSTOMER_IN_SEGMENT, tool="check_customer_in_segment", title="Is the customer in a segment",
    description="Whether the customer is in one segment, by segment id (from list_customer_segments or "
    "search_customer_segments). An unknown id answers false.",
    argument=Argument("segment_id", "Segment id, e.g. from list_customer_segments."),
    output=SegmentCheck, shape=_membership,
    summary="in the segment or not",
)
