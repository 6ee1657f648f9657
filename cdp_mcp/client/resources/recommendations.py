"""recommendedProducts: the products recommended for the customer."""

from __future__ import annotations

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, Money, PageInfo, PageRequest
from cdp_mcp.client.paging import facts_of
from cdp_mcp.client.reading import PRODUCT, Reader, need_items
from cdp_mcp.client.recognise import Item

__all__ = ["RECOMMENDED_PRODUCTS", "Recommendations", "RecommendedProduct", "read_recommendations"]


class RecommendedProduct(DomainModel):
    product_code: str | None = None
    product_key: str | None = None
    name: str | None = None
    description: str | None = None
    image_url: str | None = None
    price: Money | None = None


class Recommendations(DomainModel):
    customer_id: str | None = None
    items: list[RecommendedProduct]
    total: int | None = None
    source: str | None = Field(None, description="What the recommendations derive from, when the API says")

    @property
    def page(self) -> PageInfo:
        """The API does not page recommendations: the total it stated, and no next page."""
        return PageInfo(total=self.total)


def read_recommendations(resource: Resource, data: object, _page: PageRequest | None) -> Recommendations:
    raw = need_items(resource, data, "products", "recommendations", "recommendedproducts")
    items = []
    for element in raw:
        item = Item(element, PRODUCT, declared=wire.Product)
        code, key, name = item.text("code"), item.text("key", bare=False), item.text("name")
        description, image_url, price = item.text("description"), item.text("image"), item.money("price")
        if any(value is not None for value in (code, key, name, description, image_url, price)):  # else left out
            items.append(RecommendedProduct(product_code=code, product_key=key, name=name, description=description,
                                            image_url=image_url, price=price))
    facts = facts_of(resource, data)
    return Recommendations(customer_id=facts.text("customer"), items=items, total=facts.integer("total"),
                           source=facts.text("source"))


RECOMMENDED_PRODUCTS = Reader(Scope.RECOMMENDED_PRODUCTS, read_recommendations)
