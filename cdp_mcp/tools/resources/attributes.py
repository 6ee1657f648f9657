"""userAttributes as the get_customer_attributes tool: the tenant's custom attributes, name -> value."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.resources.attributes import USER_ATTRIBUTES, Attribute
from cdp_mcp.tools.kinds import LeftOut, ListTool
from cdp_mcp.tools.origins import wired
from cdp_mcp.tools.outputs import Listing, OutputModel, Withholds, unique
from cdp_mcp.tools.shaping import clean

__all__ = ["GET_CUSTOMER_ATTRIBUTES", "AttributeItem", "Attributes", "attribute_item"]


class AttributeItem(OutputModel):
    name: Annotated[str, wired(wire.Attribute, "attr_name")]
    value: Annotated[str | int | float | bool | None, wired(wire.Attribute, "value")] = None


class Attributes(Listing, Withholds):
    attributes: Annotated[dict[str, str | int | float | bool | None], wired(wire.Attribute, "value")] = Field(
        description="By attribute name")

    @classmethod
    def publish(cls, rows: list[Any]) -> Any:
        return {r.name: r.value for r in unique(rows, key=lambda r: r.name)}


def attribute_item(a: Attribute) -> AttributeItem:
    value = clean(a.value) if isinstance(a.value, str) else a.value
    return AttributeItem(name=a.name, value=value)


GET_CUSTOMER_ATTRIBUTES = ListTool(
    reader=USER_ATTRIBUTES, tool="get_customer_attributes", title="Custom attributes",
    description="The tenant's custom attributes of the customer, name -> value.",
    output=Attributes, item=attribute_item, pages=True,
    summary="the tenant's custom attributes",
    left_out=LeftOut(("dataType",), "the JSON type of each value says it"),
)
