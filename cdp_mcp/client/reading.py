"""How a resource's answer is read: the typed `Reader` a resource module declares, and the helpers readers share.

A `Reader[T]` binds a catalog resource to the function that turns its unwrapped `data` into the domain model `T`,
so `CdpClient.fetch(reader, ...)` returns a `T` that mypy knows. Readers are thin: they read the documented shape
(`cdp_mcp.wire`) first and recognise other spellings only where a field is missing (`recognise.py`); values
come from `values.py`, the next page from `paging.py`. A missing field is absent from the model, never
invented. A reader raises `UpstreamResponseError` (via `need_dict`/`need_items`) when the shape is not usable,
naming what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope, resource
from cdp_mcp.client.models import PageRequest
from cdp_mcp.client.paging import facts_of, page_info
from cdp_mcp.client.recognise import Item, find_items
from cdp_mcp.errors import UpstreamResponseError

__all__ = [
    "PRODUCT",
    "Read",
    "Reader",
    "customer_of",
    "id_and_name",
    "need_dict",
    "need_items",
    "paged_list",
]

Model_co = TypeVar("Model_co", covariant=True)
Row = TypeVar("Row")

PRODUCT = ("product", "item", "sku")
"""The prefixes of a product's fields (`productName`, `itemCode`, `skuPrice`): recommendations and purchases."""


class Read(Protocol[Model_co]):
    """Unwrapped `data` of `resource` (JSON, of no type until read) and the page asked for -> the domain model."""

    def __call__(self, resource: Resource, data: object, page: PageRequest | None, /) -> Model_co: ...


@dataclass(frozen=True, slots=True)
class Reader(Generic[Model_co]):
    """A catalog resource and how its answer is read into its model: the typed handle tools pass to the client."""

    scope: Scope
    read: Read[Model_co]

    @property
    def resource(self) -> Resource:
        return resource(self.scope)

    def __repr__(self) -> str:
        return f"Reader({self.scope.value})"


def need_dict(resource: Resource, data: object) -> dict[str, object]:
    """`data` when it is an object (or a list of exactly one), else an upstream error naming the resource."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise UpstreamResponseError(f"The API answered {resource.name} with data that is not an object.")
    return data


def need_items(resource: Resource, data: object, *keys: str) -> list[dict[str, object]]:
    """The item list in `data` (the declared one first, see `find_items`), else an upstream error naming the
    resource."""
    items = find_items(data, *keys, declared=wire.wire_model(resource))
    if items is None:
        raise UpstreamResponseError(f"The API answered {resource.name} without a list of items cdp-mcp can find.")
    return items


def customer_of(resource: Resource, data: object) -> str | None:
    """The customer id the answer states, as text (`customerId` is a string in some answers, a number in others)."""
    return facts_of(resource, data).text("customer")


def id_and_name(item: Item) -> tuple[str | None, str | None]:
    """An item's id, falling back to its name (a list of bare names is still a list of things)."""
    name = item.text("name")
    return item.text("id") or name, name


Page = TypeVar("Page")


def paged_list(model: Callable[..., Page], read_item: Callable[[dict[str, object]], Row | None], *keys: str
               ) -> Read[Page]:
    """A reader of a paged list: items read one by one (unreadable ones dropped), the total and the next page.

    `model` takes `customer_id`, `items` and `page` (a `SegmentPage`, say); `keys` are the item list's other
    plausible names."""

    def read(resource: Resource, data: object, page: PageRequest | None) -> Page:
        raw = need_items(resource, data, *keys)
        items = [row for row in map(read_item, raw) if row is not None]
        return model(customer_id=customer_of(resource, data), items=items,
                     page=page_info(resource, data, page, len(raw)))

    return read
