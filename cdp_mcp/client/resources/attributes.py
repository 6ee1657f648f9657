"""userAttributes: the tenant's custom attributes of the customer."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, PageInfo, PageRequest
from cdp_mcp.client.paging import page_info
from cdp_mcp.client.reading import Reader, customer_of
from cdp_mcp.client.recognise import Item, find_items, norm
from cdp_mcp.client.values import as_text, is_placeholder, is_scalar
from cdp_mcp.errors import UpstreamResponseError

__all__ = ["USER_ATTRIBUTES", "Attribute", "AttributePage", "read_attributes"]

ATTRIBUTE = ("attribute", "attr", "field", "property")
_ATTRIBUTE_KEYS = ("attributes", "customattributes", "attributelist", "userattributes")
_LIST_META = frozenset({"customerid", "totalcount", "pagesize", "currentpage", "totalpages", "lastkey", "total"})


class Attribute(DomainModel):
    name: str
    value: str | int | float | bool | None = None
    type: str | None = None


class AttributePage(DomainModel):
    customer_id: str | None = None
    items: list[Attribute]
    page: PageInfo


def _attribute(raw: dict[str, object]) -> Attribute | None:
    item = Item(raw, ATTRIBUTE, declared=wire.Attribute)
    name = item.text("attr_name")
    if name is None:
        return None
    value = item.get("value")
    return Attribute(name=name, value=value if is_scalar(value) else as_text(value), type=item.text("data_type"))


def read_attributes(resource: Resource, data: object, page: PageRequest | None) -> AttributePage:
    raw = find_items(data, *_ATTRIBUTE_KEYS, declared=wire.UserAttributesData)
    if raw is not None and (raw or not isinstance(data, dict)):
        items = [a for a in map(_attribute, raw) if a is not None]
    elif isinstance(data, dict):  # a flat object of name -> value, at the top or under an attributes key
        flat = next((v for k, v in data.items() if norm(k) in _ATTRIBUTE_KEYS and isinstance(v, dict)), data)
        items = [Attribute(name=str(k), value=v) for k, v in flat.items()
                 if norm(k) not in _LIST_META and is_scalar(v) and not is_placeholder(v)]
    else:
        raise UpstreamResponseError(f"The API answered {resource.name} without attributes cdp-mcp can find.")
    return AttributePage(customer_id=customer_of(resource, data), items=items,
                         page=page_info(resource, data, page, len(items)))


USER_ATTRIBUTES = Reader(Scope.USER_ATTRIBUTES, read_attributes)
