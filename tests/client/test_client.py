"""Every resource parsed into its model for several sample customers, checked against the sandbox's own JSON.

Expectations come from the raw response of the same call (or from invariants such as paging walks that
add up to the stated total), never from hard-coded seed data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cdp_mcp.catalog import IDENTIFIERS, RESOURCES, resource
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.models import Money, PageRequest
from cdp_mcp.client.resources.activity import Activity
from cdp_mcp.client.resources.affinity import Affinity
from cdp_mcp.client.resources.attributes import AttributePage
from cdp_mcp.client.resources.campaigns import CampaignPage
from cdp_mcp.client.resources.consent import Consents
from cdp_mcp.client.resources.gcr import GcrMatch
from cdp_mcp.client.resources.profile import Profile
from cdp_mcp.client.resources.purchases import PurchasePage
from cdp_mcp.client.resources.recommendations import Recommendations
from cdp_mcp.client.resources.segments import Membership, SegmentPage
from cdp_mcp.client.resources.trends import PurchaseTrends
from tests.client.rig import ClientRig, OpenRig, Recorder

pytestmark = pytest.mark.anyio

# Each sample is asked for by a different identifier (or two together), so every header is exercised.
IDENTIFIED_BY = {
    "vip": ("email",),
    "new": ("customer_code",),
    "opted_out": ("mobile",),
    "no_email": ("gcr_id",),
    "shared_mobile_2": ("mobile", "customer_code"),  # the mobile alone is shared; with the code it is one
}


def identity_of(rig: ClientRig, label: str) -> CustomerIdentity:
    sample = rig.server.sample(label)
    return CustomerIdentity(**{name: getattr(sample, name) for name in IDENTIFIED_BY[label]})


def _data(raw: dict[str, Any]) -> dict[str, Any]:
    assert raw["status"] == "OK"
    return raw["data"]


def _dmy(day: Any, sep: str = "-") -> str:
    return day.strftime(f"%d{sep}%m{sep}%Y")


async def _walk(rig: ClientRig, name: str, identity: CustomerIdentity, size: int, query: str | None = None) -> list:
    """Follow `page.next` from the first page to the last; every page no larger than asked."""
    items, page, seen = [], PageRequest(page_size=size), 0
    while page is not None:
        result = await rig.client.fetch(name, identity, query=query, page=page)
        assert len(result.items) <= size
        items.extend(result.items)
        page, seen = result.page.next, seen + 1
        assert seen < 200
    return items


async def _walk_against_raw(rig: ClientRig, name: str, identity: CustomerIdentity,
                            size: int) -> tuple[list, list[dict[str, Any]]]:
    """The items of a page walk and the sandbox's own full list; the walk adds up to the stated total."""
    walked = await _walk(rig, name, identity, size=size)
    data = _data(await rig.raw(resource(name), identity, body={"pageSize": 100}))
    assert len(walked) == data["totalCount"] == len(data["dataList"])
    return walked, data["dataList"]


LABELS = pytest.mark.parametrize("label", list(IDENTIFIED_BY))


def test_every_catalog_resource_is_covered_here() -> None:
    covered = {"basic", "segments", "searchSegments", "isCustomerInSegment", "campaigns", "searchCampaigns",
               "recommendedProducts", "userActivity", "productPurchaseTrends", "productPurchased", "affinity",
               "userAttributes", "gcrId", "optIn"}
    assert covered == {r.name for r in RESOURCES}


@LABELS
async def test_basic_is_the_profile_card(rig: ClientRig, label: str) -> None:
    sample = rig.server.sample(label)
    identity = identity_of(rig, label)
    profile = await rig.client.fetch("basic", identity)
    raw = _data(await rig.raw(resource("basic"), identity))
    assert isinstance(profile, Profile)
    assert profile.customer_id == raw["customerId"] == str(sample.gcr_id)
    assert profile.gcr_id is None  # the documented basic carries no gcrId: tools learn it from the gcr lookup
    assert (profile.full_name, profile.status_color, profile.membership_tier) == (
        sample.full_name, raw["statusColor"], raw["membershipType"])
    assert _dmy(profile.birth_date, "/") == raw["dob"]
    assert profile.total_sales is not None and profile.total_sales.currency == "USD"
    assert profile.total_sales.amount == float(raw["totalSales"].removeprefix("$ "))
    if raw["avgBasketVal"] is None:
        assert profile.average_basket is None and profile.days_since_last_purchase is None
    else:
        assert profile.average_basket == Money(amount=raw["avgBasketVal"])  # a bare number, as documented
        assert profile.days_since_last_purchase == raw["daySinceLastPur"]
    assert (profile.total_orders, profile.total_visits, profile.age) == (
        raw["totalOrders"], raw["totalVisits"], raw["age"])
    assert profile.extra == {"optInStatus": raw["optInStatus"]}  # the further field, kept under its own name


@LABELS
async def test_segments_walk_by_last_key_adds_up_to_the_full_list(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    walked, raw = await _walk_against_raw(rig, "segments", identity, size=2)
    assert [s.id for s in walked] == [str(item["segmentId"]) for item in raw]
    assert len(walked) == len({s.id for s in walked})
    for segment, item in zip(walked, raw, strict=True):
        assert (segment.name, segment.description, segment.category, _dmy(segment.joined_on)) == (
            item["segmentName"], item["segmentDescription"], item["segmentType"], item["addedDate"])


@LABELS
async def test_search_segments_and_membership_agree_with_segments(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    mine = (await rig.client.fetch("segments", identity)).items
    if not mine:
        pytest.skip("this customer has no segment")
    text = mine[0].name.split()[0][1:4].lower()  # a fragment of a word: no surrounding spaces
    found = await _walk(rig, "searchSegments", identity, size=2, query=text)
    assert {s.id for s in found} == {s.id for s in mine if text in s.name.lower()}
    inside = await rig.client.fetch("isCustomerInSegment", identity, query=mine[0].id)
    outside = await rig.client.fetch("isCustomerInSegment", identity, query="999999")
    assert isinstance(inside, Membership) and (inside.in_segment, outside.in_segment) == (True, False)


@LABELS
async def test_campaigns_pages_and_search(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    walked, raw = await _walk_against_raw(rig, "campaigns", identity, size=2)
    for campaign, item in zip(walked, raw, strict=True):
        assert (campaign.id, campaign.name, campaign.channel, campaign.status, campaign.segment_id) == (
            item["campaignId"], item["campaignName"], item["channel"], item["campaignStatus"], str(item["segmentId"]))
        assert (campaign.opened, campaign.clicked, _dmy(campaign.sent_on)) == (
            item["opened"], item["clicked"], item["sentDate"])
        assert campaign.start_date <= campaign.end_date
    if walked:
        text = walked[0].name.split()[0].upper()
        page = await rig.client.fetch("searchCampaigns", identity, query=text)
        assert isinstance(page, CampaignPage)
        assert {c.id for c in page.items} == {c.id for c in walked if text.lower() in c.name.lower()}


@LABELS
async def test_recommended_products(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    result = await rig.client.fetch("recommendedProducts", identity)
    data = _data(await rig.raw(resource("recommendedProducts"), identity))
    assert isinstance(result, Recommendations)
    assert (result.total, result.source) == (data["totalCount"], data["dataSource"])
    assert [(p.product_code, p.product_key, p.name, p.image_url, p.price.amount) for p in result.items] == [
        (i["productCode"], str(i["productKey"]), i["productName"], i["productImgUrl"], i["retailPrice"])
        for i in data["dataList"]]


@LABELS
async def test_user_activity_is_flattened_newest_first(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    result = await rig.client.fetch("userActivity", identity)
    data = _data(await rig.raw(resource("userActivity"), identity))
    assert isinstance(result, Activity)
    expected = sorted((day["date"], e["id"]) for day in data["activity"] for e in day["activityList"])
    assert sorted((_dmy(e.occurred_on), e.id) for e in result.items) == expected
    days = [e.occurred_on for e in result.items]
    assert days == sorted(days, reverse=True)
    amounts = {e["id"]: e["amount"] for day in data["activity"] for e in day["activityList"]}
    assert all((e.amount.amount if e.amount else None) == amounts[e.id] for e in result.items)


@LABELS
async def test_purchase_trends_are_three_consecutive_months(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    result = await rig.client.fetch("productPurchaseTrends", identity)
    data = _data(await rig.raw(resource("productPurchaseTrends"), identity))
    assert isinstance(result, PurchaseTrends) and result.title == data["title"]
    expected = [(datetime.strptime(p["time"], "%b,%y").strftime("%Y-%m"), p["numberOfOrder"], p["orderValue"])
                for p in data["dataList"]]
    assert [(p.month, p.orders, p.order_value.amount) for p in result.points] == sorted(expected)
    assert len(result.points) == 3 and all(p.order_value.currency == "USD" for p in result.points)


@LABELS
async def test_products_purchased_walk_adds_up_to_the_total(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    walked, raw = await _walk_against_raw(rig, "productPurchased", identity, size=5)
    for purchase, item in zip(walked, raw, strict=True):
        assert (purchase.order_id, purchase.product_code, purchase.quantity, purchase.order_value.amount,
                _dmy(purchase.order_date)) == (item["orderId"], item["productCode"], item["quantity"],
                                               item["orderValue"], item["orderDate"])
    first = await rig.client.fetch("productPurchased", identity, page=PageRequest(page_size=5))
    assert isinstance(first, PurchasePage) and first.page.total == len(raw)


@LABELS
async def test_affinity_charts_sorted_by_score(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    result = await rig.client.fetch("affinity", identity)
    data = _data(await rig.raw(resource("affinity"), identity))
    assert isinstance(result, Affinity)
    assert [c.title for c in result.charts] == [c["chartTitle"] for c in data["dataList"]]
    for chart, raw_chart in zip(result.charts, data["dataList"], strict=True):
        assert {(p.label, p.value) for p in chart.points} == {(d["label"], d["value"]) for d in raw_chart["chartData"]}
        assert [p.value for p in chart.points] == sorted((p.value for p in chart.points), reverse=True)
    one = await rig.client.fetch("affinity", identity, page=PageRequest(page_size=1))
    assert len(one.charts) == 1 and one.total == data["totalCount"]


@LABELS
async def test_user_attributes_keep_typed_values(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    result = await rig.client.fetch("userAttributes", identity)
    data = _data(await rig.raw(resource("userAttributes"), identity))
    assert isinstance(result, AttributePage) and result.page.total == data["totalCount"]
    assert [(a.name, a.value, a.type) for a in result.items] == [
        (i["attributeName"], i["attributeValue"], i["dataType"]) for i in data["dataList"]]
    assert result.page.next is None  # pageSize-only paging never has a next page


@LABELS
async def test_user_attributes_walk_by_the_pointer_to_the_last_record(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    walked, raw = await _walk_against_raw(rig, "userAttributes", identity, size=2)
    assert [(a.name, a.value) for a in walked] == [(i["attributeName"], i["attributeValue"]) for i in raw]


@LABELS
async def test_gcr_resolves_to_the_samples_golden_record(rig: ClientRig, label: str) -> None:
    result = await rig.client.fetch("gcrId", identity_of(rig, label))
    assert result == GcrMatch(found=True, gcr_id=rig.server.sample(label).gcr_id)


async def test_gcr_without_a_match_is_not_found_rather_than_an_error(rig: ClientRig) -> None:
    result = await rig.client.fetch("gcrId", CustomerIdentity(email="nobody.at.all@example.org"))
    assert result == GcrMatch(found=False, gcr_id=None)


@LABELS
async def test_opt_in_channels(rig: ClientRig, label: str) -> None:
    identity = identity_of(rig, label)
    result = await rig.client.fetch("optIn", identity)
    raw = await rig.raw(resource("optIn"), identity)
    assert isinstance(result, Consents)
    assert [(c.channel, c.channel_id, c.opted_in) for c in result.channels] == [
        (r["displayName"].lower(), r["id"], bool(r["dataItems"])) for r in raw]
    for channel, item in zip(result.channels, raw, strict=True):
        assert channel.categories == [d["consent_category_lvl_1"] for d in item["dataItems"]]
    if label == "opted_out":
        assert not any(c.opted_in for c in result.channels)


async def test_pages_of_a_page_style_resource_do_not_overlap(rig: ClientRig) -> None:
    identity = identity_of(rig, "vip")
    first = await rig.client.fetch("campaigns", identity, page=PageRequest(page=1, page_size=1))
    assert isinstance(first, CampaignPage) and first.page.total is not None and first.page.total > 1
    assert first.page.next == PageRequest(page=2, page_size=1)
    second = await rig.client.fetch("campaigns", identity, page=first.page.next)
    assert {c.id for c in first.items}.isdisjoint({c.id for c in second.items})


async def test_a_segments_page_is_a_segment_page(rig: ClientRig) -> None:
    page = await rig.client.fetch(resource("segments"), identity_of(rig, "vip"), page=PageRequest(page_size=1))
    assert isinstance(page, SegmentPage) and page.page.next is not None and page.page.next.last_key


_IDENTIFIER_HEADERS = {i.header for i in IDENTIFIERS}


def _identifiers(request: Any) -> tuple[dict[str, str], bytes]:
    return {k: v for k, v in request.headers.items() if k in _IDENTIFIER_HEADERS}, request.content


async def test_the_rig_sends_identifiers_as_the_client_does(sandbox_server: Any, open_rig: OpenRig) -> None:
    """`rig.raw`, the source of truth these tests compare with, asks exactly as the client asks: identifiers as
    headers, and for the gcr lookup also as its documented body keys (never gcrId in a body)."""
    vip = sandbox_server.sample("vip")
    recorder = Recorder()
    async with open_rig(sandbox_server, transport=recorder) as rig:
        for who in (CustomerIdentity(gcr_id=vip.gcr_id), CustomerIdentity(email=vip.email),
                    CustomerIdentity(gcr_id=vip.gcr_id, mobile=vip.mobile, customer_code=vip.customer_code)):
            for spec in (resource("gcrId"), resource("basic")):
                await rig.client.fetch(spec.name, who)
                client = _identifiers(recorder.requests[-1])
                await rig.raw(spec, who)
                assert _identifiers(recorder.requests[-1]) == client, (spec.name, who.present())
