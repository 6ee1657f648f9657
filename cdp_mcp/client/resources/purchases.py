"""productPurchased: what the customer bought, line by line."""

from __future__ import annotations

from datetime import date

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.client.models import DomainModel, Money, PageInfo
from cdp_mcp.client.reading import PRODUCT, Reader, paged_list
from cdp_mcp.client.recognise import Item

__all__ = ["PRODUCT_PURCHASED", "Purchase", "PurchasePage", "read_purchases"]

ORDER = ("order", "transaction", "purchase")


class Purchase(DomainModel):
    order_id: str | None = None
    product_code: str | None = None
    product_name: str | None = None
    category: str | None = None
    quantity: int | None = None
    order_value: Money | None = None
    order_date: date | None = None


class PurchasePage(DomainModel):
    customer_id: str | None = None
    items: list[Purchase]
    page: PageInfo


def _purchase(raw: dict[str, object]) -> Purchase | None:
    item = Item(raw, ORDER, declared=wire.Purchase)
    purchase = Purchase(
        order_id=item.text("id", bare=False) or item.text("order_ref"),
        product_code=item.text("product_code", prefixes=()),
        product_name=item.text("name", prefixes=PRODUCT), category=item.text("category", prefixes=PRODUCT),
        quantity=item.integer("quantity", prefixes=()), order_value=item.money("amount"), order_date=item.day("date"),
    )
    return purchase if purchase.model_dump(exclude_none=True) else None


read_purchases = paged_list(PurchasePage, _purchase, "purchases", "orders", "products")

PRODUCT_PURCHASED = Reader(Scope.PRODUCT_PURCHASED, read_purchases)
