"""recommendedProducts, as the sandbox serves it: products of the customer's strongest categories."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest

__all__ = ["RECOMMENDED_PRODUCTS", "recommended_products"]

def recommended_products(req: ViewRequest) -> wire.RecommendedProductsData:
    """Products of the customer's two strongest category affinities that they have not bought yet."""
    top = [r[0] for r in req.store.query("SELECT label FROM affinity_scores WHERE gcr_id = ? AND dimension = "
                                         "'category' ORDER BY score DESC, label LIMIT 2", (req.gcr_id,))]
    top += [""] * (2 - len(top))
    rows = req.store.query(
        "SELECT product_id, code, name, description, image_url, price FROM products WHERE category IN (?, ?) "
        "AND product_id NOT IN (SELECT l.product_id FROM orders o JOIN order_lines l ON l.order_id = o.order_id "
        "WHERE o.gcr_id = ?) ORDER BY category = ? DESC, (product_id * 37 + ?) % 101, product_id LIMIT 10",
        (top[0], top[1], req.gcr_id, top[0], req.gcr_id))
    items = [wire.Product(productKey=r[0], productCode=r[1], productName=r[2], productDescription=r[3],
                          productImgUrl=r[4], retailPrice=r[5]) for r in rows]
    return wire.RecommendedProductsData(customerId=req.gcr_id, totalCount=len(items), dataList=items,
                                        dataSource="affinity+purchases")


RECOMMENDED_PRODUCTS = SandboxResource(
    Scope.RECOMMENDED_PRODUCTS, recommended_products,
    contract="`productKey` is an integer. At most 10 products: those of the customer's two strongest category "
             "affinities not bought yet. *`dataSource`* is `\"affinity+purchases\"`: the one more key beginning with "
             "`data` the vendor mentions",
)
