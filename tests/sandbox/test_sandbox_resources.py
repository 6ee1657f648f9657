"""Every resource for a sample customer, through plain HTTP, checked against the sandbox's own store."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import anyio
import pytest

from cdp_mcp.catalog import RESOURCES, Envelope, Paging
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.seed_data import CHANNELS
from cdp_mcp.wire import wire_model

if TYPE_CHECKING:
    from tests.sandbox.conftest import Api

pytestmark = pytest.mark.anyio

_QUERY = {"segmentName": "a", "campaignName": "a", "segmentId": "101"}


def _ddmmyyyy(text: str) -> date:
    return datetime.strptime(text, "%d-%m-%Y").date()


@pytest.mark.parametrize("r", RESOURCES, ids=lambda r: r.name)
async def test_every_resource_answers_for_a_sample_in_its_envelope(api: Api, token: str, r) -> None:
    vip = api.server.sample("vip")
    body = api.ids(vip, "email") if r.identity_in_body else None
    headers = None if r.identity_in_body else api.ids(vip, "gcr_id")
    response = await api.call(r.name, token, headers, query=_QUERY.get(r.query_param or ""), body=body)

    assert response.status_code == 200, response.text
    payload = response.json()
    model = wire_model(r)  # extra fields forbidden: the response is exactly what CONTRACT.md and OpenAPI say
    if r.envelope is Envelope.BARE_ARRAY:
        assert isinstance(payload, list) and payload
        for item in payload:
            model.model_validate(item)
    elif r.envelope is Envelope.GCR_LIST:
        assert set(payload) == {"status", "data"} and payload["status"] == "OK"
        assert payload["data"] == [{"status": "Available", "gcrId": vip.gcr_id}]
        model.model_validate(payload["data"][0])
    else:
        assert set(payload) == {"status", "message", "data"}
        assert (payload["status"], payload["message"]) == ("OK", "")
        model.model_validate(payload["data"])


async def test_basic_profile_matches_the_store(api: Api, token: str) -> None:
    sample = api.server.sample("regular")
    data = await api.data("basic", token, api.ids(sample, "customer_code"))
    store = api.server.sandbox.store
    orders, sales, last = store.query("SELECT COUNT(*), SUM(total), MIN(days_ago) FROM orders WHERE gcr_id = ?",
                                      (sample.gcr_id,))[0]

    assert data["customerId"] == str(sample.gcr_id)  # a string here, as in the vendor's example
    assert data["fullName"] == sample.full_name
    assert data["totalOrders"] == orders
    assert re.fullmatch(r"\$ \d+(\.\d{1,2})?", data["totalSales"])
    assert float(data["totalSales"].removeprefix("$ ")) == pytest.approx(sales, abs=0.005)
    assert data["avgBasketVal"] == pytest.approx(sales / orders, abs=0.005)  # a number, as documented
    assert data["daySinceLastPur"] == last
    born = datetime.strptime(data["dob"], "%d/%m/%Y").date()
    today = api.server.clock.now().date()
    assert data["age"] == today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    assert data["membershipType"] in {"Bronze", "Silver", "Gold", "Platinum"}
    assert data["statusColor"] == "green"  # bought 12 days ago, first order long before


VENDOR_BASIC = ["customerId", "profileImageUrl", "salutation", "fullName", "gender", "age", "dob", "statusColor",
                "membershipType", "city", "state", "residenceAddress", "totalSales", "totalOrders", "avgBasketVal",
                "totalVisits", "daySinceLastPur", "totalWebSessions"]
"""The fields the vendor lists for basic, in its order (shared/reference/b2b-api.md), written out by hand."""


async def test_basic_sends_the_documented_fields_and_one_further_field_of_our_choice(api: Api, token: str) -> None:
    """No identifier, contact detail or other undocumented field (what a real tenant may not send) beyond the one
    further field CONTRACT.md names: the vendor says more follow, one beginning with `op`."""
    data = await api.data("basic", token, api.ids(api.server.sample("vip"), "gcr_id"))
    assert list(data) == [*VENDOR_BASIC, "optInStatus"]
    assert data["optInStatus"] == "Opted in"
    opted_out = await api.data("basic", token, api.ids(api.server.sample("opted_out"), "gcr_id"))
    assert opted_out["optInStatus"] == "Opted out"
    assert not {"gcrId", "emailAddress", "mobileNumber", "customerCodeExternal"} & set(data)


@pytest.mark.parametrize(("label", "color"), [("vip", "green"), ("lapsed", "red"), ("new", "blue"),
                                              ("shared_mobile_2", "red")])
async def test_status_color_takes_the_documented_values(api: Api, token: str, label: str, color: str) -> None:
    data = await api.data("basic", token, api.ids(api.server.sample(label), "gcr_id"))
    assert data["statusColor"] == color


async def test_customer_without_orders_has_no_average_basket_nor_recency(api: Api, token: str) -> None:
    never = api.server.sample("shared_mobile_2")  # ordered nothing by design
    data = await api.data("basic", token, api.ids(never, "gcr_id"))
    purchase = (data["totalOrders"], data["totalSales"], data["avgBasketVal"], data["daySinceLastPur"])
    assert purchase == (0, "$ 0", None, None)  # unknown is not zero


async def test_segments_and_membership_agree_with_the_store(api: Api, token: str) -> None:
    sample = api.server.sample("vip")
    ids = api.ids(sample, "gcr_id")
    members = {r[0] for r in api.server.sandbox.store.query(
        "SELECT segment_id FROM segment_members WHERE gcr_id = ?", (sample.gcr_id,))}
    all_segments = {r[0] for r in api.server.sandbox.store.query("SELECT segment_id FROM segments")}
    data = await api.data("segments", token, ids)

    assert {s["segmentId"] for s in data["dataList"]} == members
    assert data["totalCount"] == len(members) and data["lastKey"] is None
    for segment_id in sorted(all_segments):
        status = await api.data("isCustomerInSegment", token, ids, query=segment_id)
        assert status == {"status": segment_id in members}
    assert await api.data("isCustomerInSegment", token, ids, query="no-such-segment") == {"status": False}


async def test_search_matches_case_insensitive_substrings_of_names(api: Api, token: str) -> None:
    sample = api.server.sample("vip")
    ids = api.ids(sample, "gcr_id")
    segments = (await api.data("segments", token, ids))["dataList"]
    campaigns = (await api.data("campaigns", token, ids, body={"pageSize": 100}))["dataList"]
    word = segments[0]["segmentName"].split()[0]
    found = await api.data("searchSegments", token, ids, query=word.upper(), body={"pageSize": 100})
    assert {s["segmentId"] for s in found["dataList"]} == {
        s["segmentId"] for s in segments if word.lower() in s["segmentName"].lower()}
    assert found["totalCount"] == len(found["dataList"]) >= 1

    name = campaigns[0]["campaignName"]
    found = await api.data("searchCampaigns", token, ids, query=name[2:8].lower())
    assert name in {c["campaignName"] for c in found["dataList"]}
    assert all(name[2:8].lower() in c["campaignName"].lower() for c in found["dataList"])
    nothing = await api.data("searchCampaigns", token, ids, query="zzz-no-such-campaign")
    assert (nothing["totalCount"], nothing["dataList"]) == (0, [])


async def test_campaigns_reach_only_consenting_members_of_their_segment(api: Api, token: str) -> None:
    sample = api.server.sample("vip")
    ids = api.ids(sample, "gcr_id")
    data = await api.data("campaigns", token, ids, body={"pageSize": 100})
    segments = {s["segmentId"] for s in (await api.data("segments", token, ids))["dataList"]}
    consent = {c["displayName"]: bool(c["dataItems"]) for c in await api.data("optIn", token, ids)}
    today = api.server.clock.now().date()
    assert data["dataList"]
    for campaign in data["dataList"]:
        assert campaign["segmentId"] in segments
        assert consent[campaign["channel"]]
        start, sent, end = (_ddmmyyyy(campaign[k]) for k in ("startDate", "sentDate", "endDate"))
        assert start <= sent <= min(end, today)  # sent while the campaign ran, never in the future


async def test_recommendations_follow_affinity_and_skip_bought_products(api: Api, token: str) -> None:
    sample = api.server.sample("vip")
    ids = api.ids(sample, "gcr_id")
    data = await api.data("recommendedProducts", token, ids)
    bought = {p["productCode"] for p in (await api.data("productPurchased", token, ids))["dataList"]}
    chart = (await api.data("affinity", token, ids))["dataList"][0]["chartData"]
    top = {point["label"] for point in chart[:2]}
    store = api.server.sandbox.store
    assert data["dataList"] and data["totalCount"] == len(data["dataList"])
    assert data["dataSource"].startswith("affinity")
    for product in data["dataList"]:
        assert product["productCode"] not in bought
        (category,) = store.query("SELECT category FROM products WHERE code = ?", (product["productCode"],))[0]
        assert category in top
        assert isinstance(product["retailPrice"], float)


async def test_user_activity_is_by_day_newest_first_within_90_days(api: Api, token: str) -> None:
    data = await api.data("userActivity", token, api.ids(api.server.sample("vip"), "gcr_id"))
    today = api.server.clock.now().date()
    days = [_ddmmyyyy(day["date"]) for day in data["activity"]]
    assert days == sorted(days, reverse=True) and len(set(days)) == len(days)
    assert all(today - timedelta(days=90) < d <= today for d in days)
    events = [e for day in data["activity"] for e in day["activityList"]]
    assert any(e["id"].startswith("transaction_") and e["amount"] > 0 for e in events)


async def test_purchase_trends_bucket_the_last_three_months(api: Api, token: str) -> None:
    sample = api.server.sample("regular")
    data = await api.data("productPurchaseTrends", token, api.ids(sample, "gcr_id"))
    today = api.server.clock.now().date()
    assert (data["currency"], data["title"]) == ("$", "Purchase trend (Last 3 months)")
    months = [today.replace(day=1)]
    for _ in range(2):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    assert [p["time"] for p in data["dataList"]] == [m.strftime("%b,%y") for m in months]
    assert sum(p["numberOfOrder"] for p in data["dataList"]) >= 1  # this sample bought 12 days ago
    rows = api.server.sandbox.store.query("SELECT days_ago, total FROM orders WHERE gcr_id = ?", (sample.gcr_id,))
    for point in data["dataList"]:
        month = datetime.strptime(point["time"], "%b,%y")
        inside = [t for d, t in rows if (today - timedelta(days=d)).strftime("%Y%m") == month.strftime("%Y%m")]
        assert point["numberOfOrder"] == len(inside)
        assert point["orderValue"] == pytest.approx(sum(inside), abs=0.01)


async def test_affinity_charts_are_sorted_and_attributes_typed(api: Api, token: str) -> None:
    ids = api.ids(api.server.sample("vip"), "gcr_id")
    charts = (await api.data("affinity", token, ids))["dataList"]
    assert [c["chartTitle"] for c in charts] == ["Category affinity", "Brand affinity", "Channel affinity"]
    for chart in charts:
        values = [p["value"] for p in chart["chartData"]]
        assert values == sorted(values, reverse=True)
    attributes = (await api.data("userAttributes", token, ids))["dataList"]
    kinds = {"integer": int, "float": float, "boolean": bool, "string": str}
    assert attributes and all(isinstance(a["attributeValue"], kinds[a["dataType"]]) for a in attributes)


async def test_opt_in_is_a_bare_array_of_channels(api: Api, token: str) -> None:
    ids = api.ids(api.server.sample("opted_out"), "gcr_id")
    channels = await api.data("optIn", token, ids)
    assert [(c["id"], c["displayName"]) for c in channels] == [(c.channel_id, c.name) for c in CHANNELS]
    assert all(c["dataItems"] == [] for c in channels)  # this sample opted out of everything
    vip = await api.data("optIn", token, api.ids(api.server.sample("vip"), "gcr_id"))
    items = [i for c in vip for i in c["dataItems"]]
    assert items and all(set(i) == {"consent_category_lvl_1", "consent_category_lvl_2"} for i in items)


async def test_gcr_resolves_body_identifiers_and_answers_minus_one_for_no_match(api: Api, token: str) -> None:
    sample = api.server.sample("no_email")
    found = await api.call("gcrId", token, body=api.ids(sample, "mobile", "customer_code"))
    assert found.json() == {"status": "OK", "data": [{"status": "Available", "gcrId": sample.gcr_id}]}
    missing = await api.call("gcrId", token, body={"email_address": "nobody@nowhere.example"})
    assert missing.status_code == 200
    assert missing.json() == {"status": "OK", "data": [{"status": "Not available", "gcrId": -1}]}
    ambiguous = await api.call("gcrId", token, body=api.ids(api.server.sample("ambiguous"), "email"))
    assert ambiguous.status_code == 409 and ambiguous.json()["errorCode"] == "MULTIPLE_CUSTOMERS"


async def test_missing_body_and_empty_object_are_accepted(api: Api, token: str) -> None:
    ids = api.ids(api.server.sample("vip"), "gcr_id")
    one_per_style = {r.paging: r for r in reversed(RESOURCES) if not r.query_param and not r.identity_in_body}
    assert set(one_per_style) == set(Paging)
    for r in one_per_style.values():
        without = await api.call(r.name, token, ids, content=b"")
        blank = await api.call(r.name, token, ids, content=b"  \n")
        empty = await api.call(r.name, token, ids, body={})
        assert without.status_code == blank.status_code == empty.status_code == 200, r.name
        assert without.json() == blank.json() == empty.json()


async def test_openapi_describes_every_route(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    for r in RESOURCES:
        operation = doc["paths"][r.route]["post"]
        assert operation["operationId"] == r.name
        if r.query_param:
            assert r.query_param in {p["name"] for p in operation["parameters"]}
    schemas = doc["components"]["schemas"]
    assert "ErrorEnvelope" in schemas
    references = set(re.findall(r"#/components/schemas/(\w+)", response.text))
    assert references and references <= set(schemas)


async def test_body_that_is_not_a_json_object_is_a_bad_request(api: Api, token: str) -> None:
    ids = api.ids(api.server.sample("vip"), "gcr_id")
    for content in (b"{not json", b"[1, 2]", b'"text"'):
        response = await api.call("campaigns", token, ids, content=content)
        assert response.status_code == 400 and response.json()["errorCode"] == "BAD_REQUEST"


async def test_concurrent_requests_read_consistent_data(api: Api, token: str) -> None:
    samples = [s for s in api.server.samples if s.gcr_id is not None]
    expected = {s.gcr_id: (await api.data("productPurchased", token, api.ids(s, "gcr_id")))["totalCount"]
                for s in samples}
    seen: list[tuple[int, int]] = []

    async def one(gcr_id: int) -> None:
        data = await api.data("productPurchased", token, {"gcrId": str(gcr_id)})
        seen.append((gcr_id, data["totalCount"]))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            for gcr_id in expected:
                tg.start_soon(one, gcr_id)
    assert len(seen) == 4 * len(expected)
    assert all(total == expected[gcr_id] for gcr_id, total in seen)


async def test_every_sample_answers_every_resource_in_the_published_shape(api: Api, token: str) -> None:
    for sample in api.server.samples:
        if sample.gcr_id is None:
            continue
        for r in RESOURCES:
            if r.identity_in_body:
                continue
            response = await api.call(r.name, token, api.ids(sample, "gcr_id"), query=_QUERY.get(r.query_param or ""))
            assert response.status_code == 200, (sample.label, r.name, response.text)
            payload = response.json()
            for item in payload if isinstance(payload, list) else [payload["data"]]:
                wire_model(r).model_validate(item)


async def test_context_path_is_configurable(start_sandbox_server, api_factory) -> None:
    server = start_sandbox_server(context_path="custom/", customers=MIN_CUSTOMERS)
    assert server.base_url.endswith(f":{server.port}/custom")
    api = api_factory(server)
    token = await api.token(["basic"])
    assert (await api.data("basic", token, {"gcrId": "1"}))["customerId"] == "1"
