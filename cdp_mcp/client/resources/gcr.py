"""gcrId: the customer's Golden Customer Record id, resolved from their identifiers."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, PageRequest
from cdp_mcp.client.reading import Reader, need_items
from cdp_mcp.client.recognise import Item
from cdp_mcp.errors import AmbiguousCustomerError

__all__ = ["GCR_ID", "GcrMatch", "read_gcr"]


class GcrMatch(DomainModel):
    """The resolved Golden Customer Record; `found` is False for the API's -1 / "Not available"."""

    found: bool
    gcr_id: int | None = None


def read_gcr(resource: Resource, data: object, _page: PageRequest | None) -> GcrMatch:
    found: set[int] = set()
    for element in need_items(resource, data):
        item = Item(element, declared=wire.GcrIdData)
        gcr_id = item.integer("gcr_id")
        if gcr_id is not None and gcr_id > 0 and item.flag("status") is not False:
            found.add(gcr_id)
    if len(found) > 1:
        raise AmbiguousCustomerError(f"The identifiers given match {len(found)} golden records on {resource.name}.",
                                     matches=len(found))
    return GcrMatch(found=bool(found), gcr_id=next(iter(found), None))


GCR_ID = Reader(Scope.GCR_ID, read_gcr)
