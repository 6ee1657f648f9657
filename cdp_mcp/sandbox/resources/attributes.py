"""userAttributes, as the sandbox serves it: the customer's custom attributes by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.contract import ATTRIBUTES_DEFAULT_PAGE_SIZE
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest, last_key_after

__all__ = ["USER_ATTRIBUTES", "user_attributes"]

_CAST: dict[str, Callable[[str], Any]] = {"integer": int, "float": float, "boolean": lambda v: v == "true",
                                          "string": str}


def user_attributes(req: ViewRequest) -> wire.UserAttributesData:
    """Attributes by name, `pageSize` at a time; `lastKey` points at the last record sent (null on the last page)."""
    offset = req.page.offset(req.gcr_id)
    total = req.store.scalar("SELECT COUNT(*) FROM custom_attributes WHERE gcr_id = ?", (req.gcr_id,))
    rows = req.store.query("SELECT name, value, data_type FROM custom_attributes WHERE gcr_id = ? ORDER BY name "
                           "LIMIT ? OFFSET ?", (req.gcr_id, req.page.page_size, offset))
    items = [wire.Attribute(attributeName=n, attributeValue=_CAST[t](v), dataType=t) for n, v, t in rows]
    return wire.UserAttributesData(customerId=req.gcr_id, totalCount=total, pageSize=req.page.page_size,
                                   dataList=items, lastKey=last_key_after(req, offset, len(items), total))


USER_ATTRIBUTES = SandboxResource(
    Scope.USER_ATTRIBUTES, user_attributes,
                                  default_page_size=ATTRIBUTES_DEFAULT_PAGE_SIZE,
    contract="Attributes by name; *`attributeValue`* typed by *`dataType`* (`string`, `integer`, `float`, "
             "`boolean`); *`lastKey`* is the pointer to the last record the vendor mentions (`null` on the last page)",
)
