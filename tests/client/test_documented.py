"""Responses built from the vendor's documented fields and example values (the reference's table) reach the models.

The sandbox answers in the documented shape with its own data; these are the vendor's own examples, typed as the
vendor shows them (`avgBasketVal` 100, `productKey` 1, the trends `customerId` "1092", affinity's paging fields),
answered through httpx2.MockTransport because no sandbox serves them. They also pin what the declaration
(`cdp_mcp.wire`) says is documented, against the reference's lists of fields.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from cdp_mcp import wire
from cdp_mcp.client.models import Money, PageRequest
from tests.client.rig import Fetch, ok

pytestmark = pytest.mark.anyio

BASIC = {  # every field the vendor lists for basic, with its example value
    "customerId": "1092", "profileImageUrl": "https://img.example.com/1092.png", "salutation": "Ms.",
    "fullName": "Ada Lovelace", "gender": "Female", "age": 20, "dob": "10/02/2002", "statusColor": "red",
    "membershipType": "Gold", "city": "London", "state": "Greater London", "residenceAddress": "12 Byron Street",
    "totalSales": "$ 55.9", "totalOrders": 3, "avgBasketVal": 100, "totalVisits": 7, "daySinceLastPur": 12,
    "totalWebSessions": 5,
}


def _documented(model: type[wire.WireModel]) -> set[str]:
    return {name for name, marker in wire.fields(model).items() if marker.documented}


def test_the_declarations_mark_exactly_the_documented_fields() -> None:
    """Written from the reference's resource table; a field the sandbox chose is never marked documented."""
    assert _documented(wire.BasicData) == set(BASIC)
    assert set(wire.BasicData.model_fields) - set(BASIC) == {"optInStatus"}  # one of the unnamed further fields
    assert _documented(wire.Product) == {"productKey", "productCode", "productName", "productDescription",
                                         "productImgUrl", "retailPrice"}
    assert _documented(wire.RecommendedProductsData) == {"customerId", "totalCount", "dataList"}
    assert _documented(wire.ProductPurchaseTrendsData) == {"customerId", "currency", "title", "dataList"}
    assert _documented(wire.TrendPoint) == {"time", "numberOfOrder", "orderValue"}
    assert _documented(wire.AffinityData) == {"customerId", "totalCount", "currentPage", "pageSize", "totalPages",
                                              "dataList"}
    assert _documented(wire.Chart) == {"chartTitle", "xAxisLabel", "yAxisLabel", "chartData"}
    assert _documented(wire.SearchSegmentsData) == {"customerId", "currentPage", "pageSize", "totalCount",
                                                    "dataList"}
    assert _documented(wire.ProductPurchasedData) == {"customerId", "totalCount", "currentPage", "pageSize",
                                                      "totalPages"}
    assert _documented(wire.IsCustomerInSegmentData) == {"status"}
    assert _documented(wire.CampaignsData) == {"customerId", "currentPage"}  # then "total...", an item list
    assert _documented(wire.SearchCampaignsData) == _documented(wire.SearchSegmentsData)  # "like searchSegments"
    assert _documented(wire.Campaign) == set()
    assert _documented(wire.GcrIdData) == {"gcrId", "status"}  # status shown as "Not available", gcrId as -1
    assert _documented(wire.OptInData) == {"id", "displayName", "iconName", "dataItems"}
    assert _documented(wire.UserActivityData) == {"activity"} and _documented(wire.ActivityItem) == {"id"}
    assert _documented(wire.UserAttributesData) == set() and _documented(wire.Segment) == set()


EXAMPLE_TYPES = {  # the reference's table of documented example values, as JSON types
    (wire.BasicData, "customerId"): "string", (wire.BasicData, "age"): "integer", (wire.BasicData, "dob"): "string",
    (wire.BasicData, "totalSales"): "string", (wire.BasicData, "totalOrders"): "integer",
    (wire.BasicData, "totalVisits"): "integer", (wire.BasicData, "daySinceLastPur"): "integer",
    (wire.BasicData, "totalWebSessions"): "integer", (wire.BasicData, "avgBasketVal"): "number",
    (wire.Product, "productKey"): "integer", (wire.Product, "retailPrice"): "number",
    (wire.ProductPurchaseTrendsData, "customerId"): "string", (wire.TrendPoint, "numberOfOrder"): "integer",
    (wire.TrendPoint, "orderValue"): "number", (wire.GcrIdData, "gcrId"): "integer",
    (wire.GcrIdData, "status"): "string", (wire.IsCustomerInSegmentData, "status"): "boolean",
}


@pytest.mark.parametrize(("model", "name"), sorted(EXAMPLE_TYPES, key=lambda key: (key[0].__name__, key[1])))
def test_the_declarations_send_the_documented_example_types(model: type[wire.WireModel], name: str) -> None:
    """`isCustomerInSegment`'s status is a boolean, `basic`'s age an integer...: what the sandbox sends (its
    OpenAPI document and live answers are checked against these declarations) is typed as the vendor shows it."""
    schema = model.model_json_schema()["properties"][name]
    types = {branch.get("type") for branch in schema.get("anyOf", [schema])} - {"null"}  # null: a stated absence
    assert types == {EXAMPLE_TYPES[model, name]}


def test_the_declarations_take_the_documented_types() -> None:
    """The vendor's example values validate as they are typed in its docs (a number stays a number)."""
    assert wire.BasicData.model_validate({**BASIC, "optInStatus": "Opted in"}).avgBasketVal == 100  # + our choice
    product = {"productKey": 1, "productCode": "P-1", "productName": "Shoe", "productDescription": "A shoe",
               "productImgUrl": "https://img.example.com/p1.png", "retailPrice": 23.31}
    assert wire.Product.model_validate(product).productKey == 1
    trends = {"customerId": "1092", "currency": "$", "title": "Purchase trend (Last 3 months)",
              "dataList": [{"time": "Jan,22", "numberOfOrder": 2, "orderValue": 40.5}]}
    assert wire.ProductPurchaseTrendsData.model_validate(trends).customerId == "1092"


async def test_basic_with_the_documented_example_values(answer: Callable[[Any], Fetch]) -> None:
    profile = await answer(ok(BASIC))("basic")
    assert (profile.customer_id, profile.full_name, profile.salutation, profile.age) == ("1092", "Ada Lovelace",
                                                                                       "Ms.", 20)
    assert profile.birth_date == date(2002, 2, 10)  # day first, as the API writes dates elsewhere
    assert (profile.status_color, profile.membership_tier, profile.address) == ("red", "Gold", "12 Byron Street")
    assert profile.total_sales == Money(amount=55.9, currency="USD")
    assert profile.average_basket == Money(amount=100.0)  # a bare number: its currency comes from the tenant
    assert (profile.total_orders, profile.total_visits, profile.days_since_last_purchase,
            profile.total_web_sessions) == (3, 7, 12, 5)
    assert profile.image_url == BASIC["profileImageUrl"] and profile.extra == {}


async def test_basic_keeps_the_undocumented_fields_a_tenant_adds(answer: Callable[[Any], Fetch]) -> None:
    profile = await answer(ok({**BASIC, "optInStatus": "Email", "emailAddress": "ada@example.com"}))("basic")
    assert profile.email == "ada@example.com"  # recognised by meaning
    assert profile.extra == {"optInStatus": "Email"}  # the rest kept under its own name


async def test_recommendations_with_integer_keys_and_numeric_prices(answer: Callable[[Any], Fetch]) -> None:
    items = [{"productKey": key, "productCode": f"P-{key}", "productName": name, "productDescription": name,
              "productImgUrl": f"https://img.example.com/{key}.png", "retailPrice": price}
             for key, name, price in ((1, "Shoe", 23.31), (2, "Bag", 10))]
    result = await answer(ok({"customerId": 1092, "totalCount": 2, "dataList": items, "dataSource": "x"}))(
        "recommendedProducts")
    assert [(p.product_key, p.product_code, p.name, p.price) for p in result.items] == [
        ("1", "P-1", "Shoe", Money(amount=23.31)), ("2", "P-2", "Bag", Money(amount=10.0))]
    assert (result.customer_id, result.total) == ("1092", 2)


async def test_trends_with_a_string_customer_id_and_a_month_of_unknown_figures(
        answer: Callable[[Any], Fetch]) -> None:
    data = {"customerId": "1092", "currency": "$", "title": "Purchase trend (Last 3 months)", "dataList": [
        {"time": "Jan,22", "numberOfOrder": 2, "orderValue": 40.5},
        {"time": "Feb,22", "numberOfOrder": None, "orderValue": None},
        {"time": "Mar,22", "numberOfOrder": 0, "orderValue": 0}]}
    result = await answer(ok(data))("productPurchaseTrends")
    assert result.customer_id == "1092" and result.title == data["title"]
    assert [(p.month, p.orders, p.order_value) for p in result.points] == [
        ("2022-01", 2, Money(amount=40.5, currency="USD")), ("2022-02", None, None),  # unknown, not 0
        ("2022-03", 0, Money(amount=0.0, currency="USD"))]  # a stated 0 stays 0


async def test_affinity_with_its_documented_paging_fields(answer: Callable[[Any], Fetch]) -> None:
    data = {"customerId": 1092, "totalCount": 3, "currentPage": 1, "pageSize": 1, "totalPages": 3, "dataList": [
        {"chartTitle": "Category affinity", "xAxisLabel": "Category", "yAxisLabel": "Score",
         "chartData": [{"label": "Shoes", "value": 40}, {"label": "Bags", "value": 80}]}]}
    result = await answer(ok(data))("affinity")
    assert result.total == 3 and result.customer_id == "1092"
    (chart,) = result.charts
    assert (chart.title, chart.x_label, chart.y_label) == ("Category affinity", "Category", "Score")
    assert [(p.label, p.value) for p in chart.points] == [("Bags", 80.0), ("Shoes", 40.0)]


async def test_the_documented_gcr_miss_and_opt_in_array(answer: Callable[[Any], Fetch]) -> None:
    miss = await answer({"status": "OK", "data": [{"status": "Not available", "gcrId": -1}]})("gcrId")
    assert (miss.found, miss.gcr_id) == (False, None)
    consent = await answer([
        {"id": "01", "displayName": "Email", "iconName": "mail.svg",
         "dataItems": [{"consent_category_lvl_1": "Promotional", "consent_category_lvl_2": "All"}]},
        {"id": "03", "displayName": "SMS", "iconName": "sms.svg", "dataItems": []}])("optIn")
    assert [(c.channel, c.channel_id, c.opted_in, c.categories) for c in consent.channels] == [
        ("email", "01", True, ["Promotional"]), ("sms", "03", False, [])]
    member = await answer(ok({"status": True}))("isCustomerInSegment", query="101")
    assert member.in_segment is True
    outside = await answer(ok({"status": False}))("isCustomerInSegment", query="101")
    assert outside.in_segment is False  # the boolean inside data, never the envelope's "OK"


async def test_user_attributes_follow_the_pointer_to_the_last_record(answer: Callable[[Any], Fetch]) -> None:
    pointer = {"HK_CUSTOMER_CODE": "1_1092", "RK_DATE_KEY": 2}
    page = await answer(ok({"customerId": 1092, "totalCount": 3, "pageSize": 2, "lastKey": pointer, "dataList": [
        {"attributeName": "points", "attributeValue": 120, "dataType": "integer"},
        {"attributeName": "vip", "attributeValue": True, "dataType": "boolean"}]}))("userAttributes")
    assert [(a.name, a.value) for a in page.items] == [("points", 120), ("vip", True)]
    assert page.page.total == 3 and page.page.next is not None and page.page.next.last_key == pointer
    unpointed = await answer(ok({"customerId": 1092, "totalCount": 3, "pageSize": 2, "dataList": [
        {"attributeName": "points", "attributeValue": 120, "dataType": "integer"},
        {"attributeName": "vip", "attributeValue": True, "dataType": "boolean"}]}))("userAttributes",
                                                                                  page=PageRequest(page_size=2))
    assert len(unpointed.items) == 2 and unpointed.page.total == 3
    assert unpointed.page.next is None  # one more exists, but no pointer was given: no page numbers invented


def test_each_declared_meaning_is_read_from_one_field() -> None:
    """Two fields of one declaration meaning the same would leave the client reading only one of them."""
    models = [m for m in vars(wire).values() if isinstance(m, type) and issubclass(m, wire.WireModel)
              and m is not wire.WireModel]
    for model in models:
        read = [marker.meaning for marker in wire.fields(model).values() if marker.meaning is not None]
        assert len(read) == len(set(read)) == len(wire.meanings(model)), model.__name__
