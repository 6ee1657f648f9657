"""The paging styles the API mixes: the request body for a page, and the request for the next one.

`page` style pages are numbered; `lastKey` style pages carry the next key in the response (copied back
verbatim; a tenant that pages such a resource by number instead is followed by number); `pointer` style pages
(userAttributes) carry a pointer to the last record, copied back the same way, and end where none is given;
`pageSize` style resources return the first N items only, so there is never a next page.
"""

from __future__ import annotations

from typing import Any

from cdp_mcp.catalog import Paging, PagingKey, Resource
from cdp_mcp.client.models import PageInfo, PageRequest
from cdp_mcp.client.recognise import Item
from cdp_mcp.errors import InvalidInputError
from cdp_mcp.wire import wire_model

__all__ = ["facts_of", "next_page", "page_info", "paging_body"]

_ACCEPTS: dict[Paging, frozenset[str]] = {
    Paging.NONE: frozenset(),
    Paging.PAGE: frozenset({"page", "page_size"}),
    Paging.LAST_KEY: frozenset({"last_key", "page", "page_size"}),
    Paging.PAGE_SIZE: frozenset({"page_size"}),
    Paging.POINTER: frozenset({"last_key", "page_size"}),
}
_WIRE = {"page": PagingKey.PAGE.value, "page_size": PagingKey.PAGE_SIZE.value, "last_key": PagingKey.LAST_KEY.value}


def paging_body(resource: Resource, page: PageRequest | None) -> dict[str, Any] | None:
    """The JSON paging body for `page`, or None when nothing is asked.

    Raises:
        InvalidInputError: `page` sets a key the resource's paging style does not take.
    """
    if page is None:
        return None
    given = {name: value for name, value in page.model_dump().items() if value is not None}
    refused = sorted(set(given) - _ACCEPTS[resource.paging])
    if refused:
        style = "no paging" if resource.paging is Paging.NONE else f"{resource.paging.value} paging"
        raise InvalidInputError(f"{resource.name} takes {style}; it cannot use {', '.join(refused)}.",
                                hint="Pass the next-page request returned by the previous result unchanged.")
    return {_WIRE[name]: value for name, value in given.items()} or None


def next_page(resource: Resource, data: object, request: PageRequest | None, count: int) -> PageRequest | None:
    """The request for the page after this one, or None on the last page (or for unpaged styles)."""
    facts = facts_of(resource, data)
    asked = request or PageRequest()
    if resource.paging in (Paging.LAST_KEY, Paging.POINTER):
        key = facts.get("last_key")
        if isinstance(key, dict) and key:
            return PageRequest(last_key=key, page_size=asked.page_size)
        if key is not None or asked.last_key is not None:
            return None  # a key we cannot send back, or a key-paged walk that ended
    if resource.paging not in (Paging.PAGE, Paging.LAST_KEY) or count == 0:
        return None  # unpaged, pageSize alone, or a pointer-paged answer without a pointer: no page numbers
    current = facts.integer("current_page") or asked.page or 1
    size = facts.integer("page_size") or asked.page_size
    total, pages = facts.integer("total"), facts.integer("total_pages")
    if pages is not None:
        more = current < pages
    elif total is not None and size:
        more = current * size < total
    elif total is not None:
        more = False
    else:
        more = size is not None and count >= size
    return PageRequest(page=current + 1, page_size=asked.page_size) if more else None


def page_info(resource: Resource, data: object, request: PageRequest | None, count: int) -> PageInfo:
    """Total (when stated) and the next page request."""
    return PageInfo(total=facts_of(resource, data).integer("total"), next=next_page(resource, data, request, count))


def facts_of(resource: Resource, data: object) -> Item:
    """The `data` object of a response (totals, ids, paging facts), read against the resource's declaration."""
    return Item(data if isinstance(data, dict) else {}, declared=wire_model(resource))
