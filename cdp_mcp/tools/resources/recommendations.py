"""recommendedProducts as the get_product_recommendations tool: products to recommend, best first."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.models import Listed
from cdp_mcp.client.resources import recommendations as domain
from cdp_mcp.client.resources.recommendations import RECOMMENDED_PRODUCTS, RecommendedProduct
from cdp_mcp.tools.kinds import LeftOut, ListTool
from cdp_mcp.tools.origins import OURS, wired
from cdp_mcp.tools.outputs import Listing, Number, OutputModel, Priced, currency_of
from cdp_mcp.tools.shaping import clean, money

__all__ = ["GET_PRODUCT_RECOMMENDATIONS", "Product", "Recommendation", "Recommendations", "recommendation"]


class Product(OutputModel):
    name: Annotated[str | None, wired(wire.Product, "name")] = None
    price: Number | None = None


class Recommendation(Product):
    code: Annotated[str | None, wired(wire.Product, "code", "key", "name")] = Field(
        None, description="Product code, or the product's key when it has none")
    currency: Annotated[str | None, OURS] = None


class Recommendations(Listing, Priced):
    amount_keys: ClassVar[frozenset[str]] = frozenset({"price"})
    rows_key: ClassVar[str] = "code"

    products: dict[str, Product] = Field(description="By product code")
    source: Annotated[str | None, wired(wire.RecommendedProductsData, "source")] = None


def recommendation(r: RecommendedProduct) -> Recommendation:
    name = clean(r.name)
    return Recommendation(code=clean(r.product_code) or clean(r.product_key) or name, name=name,
                          price=money(r.price), currency=currency_of(r.price))


def _source(data: Listed[RecommendedProduct]) -> dict[str, object]:
    """What the recommendations derive from, when the API says (beside the rows)."""
    source = data.source if isinstance(data, domain.Recommendations) else None
    return {"source": clean(source)}


GET_PRODUCT_RECOMMENDATIONS = ListTool(
    reader=RECOMMENDED_PRODUCTS, tool="get_product_recommendations",
    title="Product recommendations",
    description="Products recommended for the customer (code, name, price), best first.",
    output=Recommendations, item=recommendation, pages=False, extra=_source,
    summary="products to recommend",
    left_out=LeftOut(("productKey", "productDescription", "productImgUrl"),
                     "the internal key (products go by code), catalogue copy and image URLs: a recommendation is a "
                     "code, a name and a price"),
)
