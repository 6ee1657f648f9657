"""segments, searchSegments, isCustomerInSegment, as the sandbox serves them: the customer's segments."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest, day, last_key_after

__all__ = ["IS_CUSTOMER_IN_SEGMENT", "SEARCH_SEGMENTS", "SEGMENTS", "is_customer_in_segment", "search_segments",
           "segments"]

_SEGMENTS_SQL = ("FROM segment_members m JOIN segments s ON s.segment_id = m.segment_id WHERE m.gcr_id = ? "
                 "AND instr(lower(s.name), lower(?)) > 0")


def _segment_rows(req: ViewRequest, offset: int) -> tuple[int, list[wire.Segment]]:
    params = (req.gcr_id, req.query or "")
    total = req.store.scalar(f"SELECT COUNT(*) {_SEGMENTS_SQL}", params)  # constant SQL fragment, no input
    rows = req.store.query(
        f"SELECT s.segment_id, s.name, s.description, s.segment_type, m.added_days_ago {_SEGMENTS_SQL} "
        "ORDER BY m.added_days_ago, s.segment_id LIMIT ? OFFSET ?", (*params, req.page.page_size, offset))
    return total, [wire.Segment(segmentId=r[0], segmentName=r[1], segmentDescription=r[2], segmentType=r[3],
                                addedDate=day(req.today, r[4])) for r in rows]


def segments(req: ViewRequest) -> wire.SegmentsData:
    offset = req.page.offset(req.gcr_id)
    total, items = _segment_rows(req, offset)
    return wire.SegmentsData(customerId=req.gcr_id, pageSize=req.page.page_size, totalCount=total, dataList=items,
                             lastKey=last_key_after(req, offset, len(items), total))


def search_segments(req: ViewRequest) -> wire.SearchSegmentsData:
    offset = req.page.offset(req.gcr_id)
    total, items = _segment_rows(req, offset)
    return wire.SearchSegmentsData(customerId=req.gcr_id, currentPage=offset // req.page.page_size + 1,
                                   pageSize=req.page.page_size, totalCount=total, dataList=items)


def is_customer_in_segment(req: ViewRequest) -> wire.IsCustomerInSegmentData:
    found = req.store.scalar("SELECT 1 FROM segment_members WHERE gcr_id = ? AND segment_id = ?",
                             (req.gcr_id, (req.query or "").strip()))
    return wire.IsCustomerInSegmentData(status=found is not None)


SEGMENTS = SandboxResource(
    Scope.SEGMENTS, segments,
    contract="*`lastKey`* is the next page's key, `null` on the last page",
)
SEARCH_SEGMENTS = SandboxResource(
    Scope.SEARCH_SEGMENTS, search_segments,
    contract="Match: case-insensitive substring of the segment name, among the customer's segments",
)
IS_CUSTOMER_IN_SEGMENT = SandboxResource(
    Scope.IS_CUSTOMER_IN_SEGMENT, is_customer_in_segment,
    contract="`status` is `true` or `false`; an unknown segment id is `false`",
)
