"""Responses shaped differently from the sandbox's still reach the models; unusable shapes are clear errors.

The sandbox cannot serve these shapes (other spellings, int ids, other date and money formats, extra and
missing fields, other error codes), so these tests answer through httpx2.MockTransport.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import pytest

from cdp_mcp import wire
from cdp_mcp.catalog import RESOURCES, Envelope, resource
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.models import Money, PageRequest
from cdp_mcp.client.recognise import SYNONYMS, Item, norm
from cdp_mcp.client.resources import READERS
from cdp_mcp.errors import (
    AmbiguousCustomerError,
    AuthenticationError,
    CdpError,
    CustomerNotFoundError,
    InvalidInputError,
    RateLimitedError,
    ScopeMissingError,
    TokenRejectedError,
    UpstreamResponseError,
    UpstreamUnavailableError,
)
from tests.client.rig import ClientRig, Fetch, ok

pytestmark = pytest.mark.anyio

async def test_basic_in_other_spellings_and_formats(answer: Callable[[Any], Fetch]) -> None:
    fetch = answer({"customer_id": 1092, "GCR_ID": "7", "full_name": "Ada", "date_of_birth": "2002-02-10",
                    "membership_tier": "Gold", "total_sales": "₹1,234.50", "avg_basket_value": 23.31,
                    "email": "Not available", "mobile_no": "NA", "city": " ", "state": "null",
                    "opScore": 7, "nested": {"a": 1}, "tags": ["x"], "recency": "12"})
    profile = await fetch("basic")
    assert (profile.customer_id, profile.gcr_id, profile.full_name, profile.membership_tier) == (
        "1092", 7, "Ada", "Gold")
    assert profile.birth_date == date(2002, 2, 10)
    assert profile.total_sales == Money(amount=1234.5, currency="INR")
    assert profile.average_basket == Money(amount=23.31, currency=None)
    assert (profile.email, profile.mobile, profile.city, profile.state) == (None, None, None, None)
    assert profile.days_since_last_purchase == 12
    assert profile.extra == {"opScore": 7}


async def test_dates_in_the_apis_day_first_order(answer: Callable[[Any], Fetch]) -> None:
    profile = await answer(ok({"customerId": "1", "dob": "10/02/2002"}))("basic")
    assert profile.birth_date == date(2002, 2, 10)
    us_style = await answer(ok({"customerId": "1", "dob": "02/25/2002"}))("basic")
    assert us_style.birth_date == date(2002, 2, 25)  # 25 cannot be a month: read month-first


async def test_segments_in_other_spellings_with_a_next_key(answer: Callable[[Any], Fetch]) -> None:
    fetch = answer(ok({"customer_id": 1092, "items": [
        {"SEGMENT_ID": 5, "SEGMENT_NAME": "VIP", "segment-description": "Top spenders", "added_on": "2024-03-01"},
        {"id": "s2", "title": "Churn risk", "type": "Risk", "createdAt": "2024-03-05T10:00:00Z", "score": 0.7},
        {"unrelated": True}], "nextKey": {"k": 1}}))
    page = await fetch("segments", page=PageRequest(page_size=2))
    assert page.customer_id == "1092"
    assert [(s.id, s.name, s.category, s.joined_on) for s in page.items] == [
        ("5", "VIP", None, date(2024, 3, 1)), ("s2", "Churn risk", "Risk", date(2024, 3, 5))]
    assert page.items[0].description == "Top spenders"
    assert page.page.next == PageRequest(last_key={"k": 1}, page_size=2)


async def test_segments_as_a_bare_list_of_names(answer: Callable[[Any], Fetch]) -> None:
    page = await answer(ok(["VIP", "Churn risk"]))("segments")
    assert [(s.id, s.name) for s in page.items] == [("VIP", "VIP"), ("Churn risk", "Churn risk")]
    assert page.page.next is None


async def test_campaigns_in_other_spellings_page_by_number(answer: Callable[[Any], Fetch]) -> None:
    fetch = answer(ok({"campaigns": [{"id": 7, "name": "Spring", "medium": "Email", "state": "Active",
                                      "segment_code": "S1", "start": "01/03/2024", "end": "2024-03-31",
                                      "sent_at": "2024-03-02T09:00:00+05:30", "isOpened": "yes", "clicks": 0}],
                       "total": 45, "page_number": 1, "size": 20}))
    page = await fetch("campaigns")
    (campaign,) = page.items
    assert (campaign.id, campaign.name, campaign.channel, campaign.status, campaign.segment_id) == (
        "7", "Spring", "Email", "Active", "S1")
    assert (campaign.start_date, campaign.end_date, campaign.sent_on) == (
        date(2024, 3, 1), date(2024, 3, 31), date(2024, 3, 2))
    assert (campaign.opened, campaign.clicked) == (True, False)
    assert page.page.total == 45 and page.page.next == PageRequest(page=2)


async def test_last_page_by_total_pages_has_no_next(answer: Callable[[Any], Fetch]) -> None:
    page = await answer(ok({"dataList": [{"campaignId": "c", "campaignName": "n"}], "currentPage": 3,
                            "totalPages": 3}))("searchCampaigns", query="n", page=PageRequest(page=3))
    assert page.page.next is None


async def test_recommendations_with_other_money(answer: Callable[[Any], Fetch]) -> None:
    fetch = answer(ok({"products": [{"sku": "A1", "title": "Shoe", "price": "€ 12,50", "image": "https://i/1.png"},
                                    {"itemCode": "B2", "itemName": "Bag", "mrp": "1.234,00 EUR"}, {}],
                       "dataRecommendationSource": "ignored", "source": "similar customers"}))
    result = await fetch("recommendedProducts")
    assert [(p.product_code, p.name, p.price) for p in result.items] == [
        ("A1", "Shoe", Money(amount=12.5, currency="EUR")), ("B2", "Bag", Money(amount=1234.0, currency="EUR"))]
    assert result.items[0].image_url == "https://i/1.png" and result.source == "similar customers"


async def test_flat_activity_events_are_sorted_newest_first(answer: Callable[[Any], Fetch]) -> None:
    fetch = answer(ok({"events": [
        {"eventId": "e1", "timestamp": "2024-05-10T10:00:00Z", "eventType": "purchase", "channel": "Store",
         "value": "$ 10", "tags": ["a", "b"]},
        {"event_id": "e2", "date": "12-05-2024", "type": "view"},
        {"event_id": "undated"}]}))
    result = await fetch("userActivity")
    assert [(e.id, e.occurred_on, e.type) for e in result.items] == [
        ("e2", date(2024, 5, 12), "view"), ("e1", date(2024, 5, 10), "purchase")]
    assert result.items[1].amount == Money(amount=10.0, currency="USD")


async def test_trends_with_other_month_formats(answer: Callable[[Any], Fetch]) -> None:
    fetch = answer(ok({"currency": "₹", "title": "Trend", "trend": [
        {"month": "2024-02", "orders": "3", "value": "1,200.00"},
        {"time": "January 2024", "numberOfOrder": 1, "orderValue": 99},
        {"time": "Dec,23"}, {"time": "not a month", "orders": 1}]}))
    result = await fetch("productPurchaseTrends")
    assert [(p.month, p.orders, p.order_value) for p in result.points] == [
        ("2023-12", None, None), ("2024-01", 1, Money(amount=99.0, currency="INR")),  # unknown is not zero
        ("2024-02", 3, Money(amount=1200.0, currency="INR"))]
    nulls = await answer(ok({"dataList": [{"time": "Jan,22", "numberOfOrder": None, "orderValue": None}]}))(
        "productPurchaseTrends")
    assert [(p.month, p.orders, p.order_value) for p in nulls.points] == [("2022-01", None, None)]


async def test_purchases_in_other_spellings(answer: Callable[[Any], Fetch]) -> None:
    fetch = answer(ok({"orders": [{"orderNumber": "A-1", "sku": "P1", "name": "Shoe", "qty": "2",
                                   "amount": "$ 5", "purchase_date": "10/05/2020", "productCategory": "Footwear"}],
                       "totalCount": 1}))
    page = await fetch("productPurchased")
    (purchase,) = page.items
    assert (purchase.order_id, purchase.product_code, purchase.product_name, purchase.quantity) == (
        "A-1", "P1", "Shoe", 2)
    assert (purchase.order_value, purchase.order_date, purchase.category) == (
        Money(amount=5.0, currency="USD"), date(2020, 5, 10), "Footwear")
    assert page.page == page.page.model_copy(update={"total": 1, "next": None})


async def test_affinity_points_as_a_mapping(answer: Callable[[Any], Fetch]) -> None:
    result = await answer(ok({"charts": [{"title": "Brands", "data": {"Acme": 0.2, "Bolt": 0.9}}]}))("affinity")
    assert [(p.label, p.value) for p in result.charts[0].points] == [("Bolt", 0.9), ("Acme", 0.2)]


async def test_attributes_as_a_flat_object_or_key_value_pairs(answer: Callable[[Any], Fetch]) -> None:
    flat = await answer(ok({"customerId": 1, "loyaltyPoints": 120, "favouriteColour": "blue", "empty": ""}))(
        "userAttributes")
    assert [(a.name, a.value) for a in flat.items] == [("loyaltyPoints", 120), ("favouriteColour", "blue")]
    pairs = await answer(ok({"attributes": [{"key": "tier", "value": "Gold", "type": "string"}]}))("userAttributes")
    assert [(a.name, a.value, a.type) for a in pairs.items] == [("tier", "Gold", "string")]


async def test_gcr_and_membership_and_consents_in_other_shapes(answer: Callable[[Any], Fetch]) -> None:
    gcr = await answer({"status": "OK", "data": {"gcr_id": "42", "status": "Available"}})("gcrId")
    assert (gcr.found, gcr.gcr_id) == (True, 42)
    member = await answer(ok({"inSegment": "true"}))("isCustomerInSegment", query="5")
    assert member.in_segment is True
    consents = await answer(ok([{"channel": "Email", "optedIn": False, "categories": []},
                                {"id": 3, "name": "SMS", "consents": ["Promotional"]},
                                {"channelId": "02", "channelName": "Push", "dataItems": [
                                    {"categoryId": 5, "categoryName": "News"},
                                    {"consent_category_lvl_1": "Promotional", "consent_category_lvl_2": "Offers"}]}]))(
        "optIn")
    assert [(c.channel, c.channel_id, c.opted_in, c.categories) for c in consents.channels] == [
        ("email", None, False, []), ("sms", "3", True, ["Promotional"]),
        ("push", "02", True, ["News", "Promotional / Offers"])]


async def test_empty_lists_and_null_data_are_empty_results(answer: Callable[[Any], Fetch]) -> None:
    assert (await answer(ok({"customerId": 1, "dataList": None}))("segments")).items == []
    assert (await answer(ok(None))("campaigns")).items == []
    assert (await answer(ok({"totalCount": 0}))("productPurchased")).items == []
    assert (await answer([])("optIn")).channels == []


@pytest.mark.parametrize("data", ["", "No Record Found", "no data found.", "NA"])
async def test_an_empty_answer_worded_as_a_sentence_is_an_empty_list(answer: Callable[[Any], Fetch], data: str) -> None:
    for name in ("segments", "campaigns", "productPurchased"):
        assert (await answer(ok(data))(name)).items == []


async def test_a_profile_without_its_customer_id_is_still_the_profile(answer: Callable[[Any], Fetch]) -> None:
    profile = await answer(ok({"customerId": None, "fullName": "Ada", "totalOrders": 3}))("basic")
    assert (profile.customer_id, profile.full_name, profile.total_orders) == (None, "Ada", 3)
    assert (await answer(ok({"fullName": "no id anywhere"}))("basic")).full_name == "no id anywhere"


async def test_membership_without_status_names_the_field(answer: Callable[[Any], Fetch]) -> None:
    with pytest.raises(UpstreamResponseError, match="without `status`"):
        await answer(ok({"customerId": 1}))("isCustomerInSegment", query="5")


async def test_other_wrappings_of_one_object_and_of_attributes(answer: Callable[[Any], Fetch]) -> None:
    profile = await answer(ok([{"customerId": 5, "fullName": "Ada"}]))("basic")  # a list of exactly one profile
    assert (profile.customer_id, profile.full_name) == ("5", "Ada")
    nested = await answer(ok({"customerId": 5, "userAttributes": {"vip": True, "points": 12}}))("userAttributes")
    assert [(a.name, a.value) for a in nested.items] == [("vip", True), ("points", 12)]  # not silently dropped
    assert (await answer(ok("false"))("isCustomerInSegment", query="5")).in_segment is False


@pytest.mark.parametrize(("name", "reply"), [
    ("basic", ok([1, 2, 3])),
    ("basic", ok([{"customerId": 1}, {"customerId": 2}])),
    ("segments", ok({"customerId": 1, "foo": "bar"})),
    ("segments", ok("a string")),
    ("isCustomerInSegment", ok({"maybe": "perhaps"})),
    ("optIn", {"status": "OK", "data": {"email": True}}),
    ("gcrId", "Available"),
    ("campaigns", b"<html>gateway</html>"),
    ("affinity", ok(12)),
])
async def test_unusable_shapes_are_upstream_errors_naming_the_resource(
        answer: Callable[[Any], Fetch], name: str, reply: Any) -> None:
    query = "x" if resource(name).query_param else None
    with pytest.raises(UpstreamResponseError, match=name):
        await answer(reply)(name, query=query)


@pytest.mark.parametrize(("reply", "error"), [
    ((400, {"code": "E_MULTI", "message": "More than one customer matched"}), AmbiguousCustomerError),
    ((403, {"message": "Resource not permitted for this token"}), ScopeMissingError),
    ((403, {"error": "forbidden"}), AuthenticationError),
    ((401, {"errorCode": "INVALID_TENANT", "message": "Invalid tenant"}), AuthenticationError),
    ((401, {"message": "Token expired for this tenant"}), TokenRejectedError),  # renewed once, refused again
    ((401, {}), TokenRejectedError),
    ((404, {"status": "ERROR", "message": "No profile for these identifiers"}), CustomerNotFoundError),
    ((422, {"detail": "unprocessable"}), InvalidInputError),
    ((409, {"message": "conflict"}), AmbiguousCustomerError),
    ((429, {"message": "slow down"}), RateLimitedError),
    ((502, b"<html>bad gateway</html>"), UpstreamUnavailableError),
    ((200, {"status": "ERROR", "errorCode": "CUSTOMER_NOT_FOUND", "data": None}), CustomerNotFoundError),
    ((200, {"status": "FAILED", "message": "Rate limit exceeded, slow down"}), RateLimitedError),
    ((200, {"status": "error"}), UpstreamResponseError),
    ((302, {}), UpstreamResponseError),
])
async def test_other_error_codes_map_by_meaning(answer: Callable[[Any], Fetch], reply: Any,
                                                error: type[CdpError]) -> None:
    with pytest.raises(error) as caught:
        await answer(reply)("basic")
    assert type(caught.value) is error
    body = reply[1] if isinstance(reply[1], bytes) else json.dumps(reply[1]).encode()
    for sentence in (b"More than one", b"not permitted", b"Invalid tenant", b"No profile", b"bad gateway"):
        if sentence in body:
            assert sentence.decode() not in caught.value.for_model()  # upstream bodies are never quoted


def test_every_catalog_resource_has_a_reader() -> None:
    assert set(READERS) == {r.name for r in RESOURCES}


async def test_a_synonym_that_repeats_a_declared_spelling_is_a_fallback_for_some_object(
        rig: ClientRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """SYNONYMS holds the spellings other than the one the object read declares (that one is tried first). A
    spelling that some object declares for a meaning stays only where another object read for that meaning
    declares it otherwise, or not at all. Every reader runs on the sandbox's answers and on an empty answer, and
    each meaning asked for is recorded with the prefixes tried and the spelling its object declares."""
    asked: set[tuple[str, tuple[str, ...], bool, str | None]] = set()
    original = Item.get

    def recording(self: Item, meaning: str, *, prefixes: tuple[str, ...] | None = None, bare: bool = True) -> Any:
        tried = self._prefixes if prefixes is None else prefixes
        asked.add((meaning, tried, bare, self._declared.get(meaning)))
        return original(self, meaning, prefixes=prefixes, bare=bare)

    monkeypatch.setattr(Item, "get", recording)
    vip = CustomerIdentity(email=rig.server.sample("vip").email)
    for r in RESOURCES:
        query = {"segmentName": "a", "campaignName": "a", "segmentId": "101"}.get(r.query_param or "")
        raw = await rig.raw(r, vip, query=query)
        for data in (raw if r.envelope is Envelope.BARE_ARRAY else raw["data"], {}):
            with contextlib.suppress(UpstreamResponseError):  # an empty answer some refuse, after asking
                READERS[r.name].read(r, data, None)
    models = [m for m in vars(wire).values() if isinstance(m, type) and issubclass(m, wire.WireModel)]
    declared = {(meaning, norm(name)) for model in models for meaning, name in wire.meanings(model).items()}

    def reaches_past_a_declaration(meaning: str, spelling: str) -> bool:
        return any(candidate != own for m, prefixes, bare, own in asked if m == meaning
                   for candidate in [*(p + spelling for p in prefixes), *([spelling] if bare else [])])

    repeated = [(m, s) for m, spellings in SYNONYMS.items() for s in spellings if (m, s) in declared]
    assert repeated  # a bare `id` is an activity's declared id and a segment's fallback
    assert [(m, s) for m, s in repeated if not reaches_past_a_declaration(m, s)] == []


def test_a_meaning_without_other_spellings_is_read_by_its_declared_one() -> None:
    """A new resource's meanings need no SYNONYMS entry: the declared spelling is read, and a missing field is
    absent (not an error)."""

    class Points(wire.WireModel):
        pointsBalance: Annotated[int, wire.doc(wire.SYSTEM, "points_balance")]  # noqa: N815 - the vendor's spelling

    assert "points_balance" not in SYNONYMS
    assert Item({"pointsBalance": 120}, declared=Points).integer("points_balance") == 120
    assert Item({"points": 120}, declared=Points).integer("points_balance") is None
