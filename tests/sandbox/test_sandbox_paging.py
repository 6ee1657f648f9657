"""Paging in all three styles: pages that are consistent, non-overlapping, and cover the whole list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from cdp_mcp.catalog import RESOURCES, Paging
from cdp_mcp.sandbox.contract import MAX_PAGE

if TYPE_CHECKING:
    from tests.sandbox.conftest import Api

pytestmark = pytest.mark.anyio


def _busiest(api: Api, table: str) -> dict[str, str]:
    """The customer with the most rows in `table` (found in the store, not hard-coded)."""
    gcr = api.server.sandbox.store.scalar(
        f"SELECT gcr_id FROM {table} GROUP BY gcr_id ORDER BY COUNT(*) DESC, gcr_id LIMIT 1")  # noqa: S608
    return {"gcrId": str(gcr)}


def _key(item: dict[str, Any]) -> tuple:
    return tuple(sorted(item.items()))


async def _all(api: Api, token: str, name: str, ids: dict[str, str], **kwargs: Any) -> list[dict[str, Any]]:
    return (await api.data(name, token, ids, body={"pageSize": 100}, **kwargs))["dataList"]


@pytest.mark.parametrize(("name", "table", "query"), [
    ("campaigns", "campaign_participation", None),
    ("searchCampaigns", "campaign_participation", "e"),
    ("searchSegments", "segment_members", "e"),
    ("productPurchased", "orders", None),
])
async def test_page_style_pages_partition_the_list(api: Api, token: str, name: str, table: str, query) -> None:
    ids = _busiest(api, table)
    everything = await _all(api, token, name, ids, query=query)
    size = 2
    assert len(everything) > size * 2
    pages = []
    for page in range(1, len(everything) // size + 2):
        data = await api.data(name, token, ids, query=query, body={"page": page, "pageSize": size})
        assert (data["currentPage"], data["pageSize"], data["totalCount"]) == (page, size, len(everything))
        pages.append(data["dataList"])
    assert all(len(p) == size for p in pages[:-1]) and len(pages[-1]) <= size
    assert [item for p in pages for item in p] == everything
    beyond = await api.data(name, token, ids, query=query, body={"page": len(pages) + 1, "pageSize": size})
    assert beyond["dataList"] == []


@pytest.mark.parametrize(("name", "table"), [("segments", "segment_members"), ("productPurchased", "orders"),
                                             ("userAttributes", "custom_attributes")])
async def test_last_key_pages_follow_each_other(api: Api, token: str, name: str, table: str) -> None:
    ids = _busiest(api, table)
    everything = await _all(api, token, name, ids)
    size = 3
    seen: list[dict[str, Any]] = []
    body: dict[str, Any] = {"pageSize": size}
    for _ in range(len(everything)):
        data = await api.data(name, token, ids, body=body)
        assert data["totalCount"] == len(everything)
        seen.extend(data["dataList"])
        if data["lastKey"] is None:
            break
        body = {"pageSize": size, "lastKey": data["lastKey"]}
    assert seen == everything
    assert len({_key(item) for item in seen}) == len(seen)  # no overlap, no repeat


async def test_page_size_style_takes_the_first_items(api: Api, token: str) -> None:
    styles = {r.name: r.paging for r in RESOURCES}
    assert (styles["affinity"], styles["userAttributes"]) == (Paging.PAGE_SIZE, Paging.POINTER)
    ids = _busiest(api, "custom_attributes")
    charts = await api.data("affinity", token, ids, body={"pageSize": 1})
    full = await api.data("affinity", token, ids)
    assert charts["dataList"] == full["dataList"][:1] and charts["totalCount"] == len(full["dataList"]) == 3
    assert (charts["currentPage"], charts["totalPages"], full["totalPages"]) == (1, 3, 1)
    attributes = await api.data("userAttributes", token, ids, body={"pageSize": 2})
    every = await api.data("userAttributes", token, ids)
    assert attributes["dataList"] == every["dataList"][:2]
    assert attributes["totalCount"] == every["totalCount"] == len(every["dataList"])
    assert every["lastKey"] is None and attributes["lastKey"] is not None  # the pointer to the last record sent


@pytest.mark.parametrize(("name", "body"), [
    ("campaigns", {"page": 0}),
    ("campaigns", {"pageSize": 0}),
    ("campaigns", {"pageSize": 101}),
    ("campaigns", {"page": "2"}),
    ("affinity", {"pageSize": -1}),
    ("segments", {"lastKey": "abc"}),
    ("segments", {"lastKey": {"HK_CUSTOMER_CODE": "1_1", "RK_DATE_KEY": -1}}),
    ("productPurchased", {"lastKey": {"RK_DATE_KEY": 3}}),
    ("campaigns", {"page": 10**18}),  # past any offset SQLite can bind: refused, not a 500
    ("productPurchased", {"page": MAX_PAGE + 1}),
    ("segments", {"lastKey": {"HK_CUSTOMER_CODE": "1_1", "RK_DATE_KEY": 10**20}}),
])
async def test_malformed_paging_is_refused(api: Api, token: str, name: str, body: dict[str, Any]) -> None:
    response = await api.call(name, token, {"gcrId": "1"}, body=body)
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == "INVALID_PAGING"


async def test_last_key_of_another_customer_is_refused(api: Api, token: str) -> None:
    first = await api.data("productPurchased", token, {"gcrId": "1"}, body={"pageSize": 1})
    assert first["lastKey"] is not None
    response = await api.call("productPurchased", token, {"gcrId": "2"}, body={"lastKey": first["lastKey"]})
    assert response.status_code == 400 and response.json()["errorCode"] == "INVALID_PAGING"


@pytest.mark.parametrize("r", [r for r in RESOURCES if r.query_param], ids=lambda r: r.name)
async def test_missing_query_parameter_is_refused(api: Api, token: str, r) -> None:
    for query in (None, ""):
        response = await api.call(r.name, token, {"gcrId": "1"}, query=query)
        assert response.status_code == 400 and response.json()["errorCode"] == "QUERY_REQUIRED"
        assert r.query_param in response.json()["message"]


async def test_the_last_allowed_page_is_an_empty_page(api: Api, token: str) -> None:
    for name in ("campaigns", "productPurchased"):
        data = await api.data(name, token, {"gcrId": "1"}, body={"page": MAX_PAGE, "pageSize": 100})
        assert (data["dataList"], data["currentPage"]) == ([], MAX_PAGE)


async def test_both_paging_styles_of_a_last_key_resource_give_the_same_sequence(api: Api, token: str) -> None:
    ids = _busiest(api, "orders")
    size = 4
    by_key: list[dict[str, Any]] = []
    by_page: list[dict[str, Any]] = []
    body: dict[str, Any] = {"pageSize": size}
    page = 1
    while True:
        keyed = await api.data("productPurchased", token, ids, body=body)
        numbered = await api.data("productPurchased", token, ids, body={"page": page, "pageSize": size})
        assert keyed["currentPage"] == numbered["currentPage"] == page  # a lastKey page knows its number
        by_key += keyed["dataList"]
        by_page += numbered["dataList"]
        if keyed["lastKey"] is None:
            break
        body, page = {"pageSize": size, "lastKey": keyed["lastKey"]}, page + 1
    assert by_key == by_page and len(by_key) == keyed["totalCount"] > size
