"""The per-resource tools against the loopback sandbox; expectations come from the sandbox's store."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from mcp import Client
from tool_results import data_of, text_of

from cdp_mcp.catalog import TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.settings import Settings
from tests.faults import Fault, answer_with, fault_proxy

pytestmark = pytest.mark.anyio


def rows(server: SandboxThread, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return server.sandbox.store.query(sql, params)


def order_lines(data: dict[str, Any]) -> list[str]:
    """A purchases page as "date order product-code" lines: orders are keyed by id, their products by code."""
    return [f"{order['date']} {order_id} {code}" for order_id, order in data["orders"].items()
            for code in order["products"]]


async def page_through(client: Client, tool: str, args: dict[str, Any], field: str) -> list[Any]:
    """Every entry of a listing, following next_cursor; checks totals and `remaining` on the way.

    `field` names the result's map (its keys are collected) or, for purchases, "orders" (their lines) or
    "order_ids" (each page's orders, whole); purchases count orders.
    """
    seen: list[Any] = []
    counted = 0
    cursor: str | None = None
    total: int | None = None
    for _ in range(100):
        data = data_of(await client.call_tool(tool, args | ({"cursor": cursor} if cursor else {})))
        total = data["total"] if total is None else total
        assert data["total"] == total
        if field == "orders":
            seen.extend(order_lines(data))
        elif field == "order_ids":
            seen.append(data["orders"])
        else:
            seen.extend(data[field])
        counted += len(data["orders"] if field in ("orders", "order_ids") else data[field])
        assert data.get("remaining", 0) == total - counted
        cursor = data.get("next_cursor")
        if cursor is None:
            break
    assert counted == total
    return seen


@pytest.mark.parametrize("label", ["vip", "regular", "lapsed", "new", "no_email"])
async def test_profile_by_each_identifier_names_the_customer(client: Client, sandbox_server: SandboxThread,
                                                             label: str) -> None:
    sample = sandbox_server.sample(label)
    last_order = rows(sandbox_server, "SELECT MIN(days_ago) FROM orders WHERE gcr_id = ?", sample.gcr_id)[0][0]
    consents = rows(sandbox_server, "SELECT COUNT(*) FROM channel_consents WHERE gcr_id = ? AND opted_in",
                    sample.gcr_id)[0][0]
    for args in ({"gcr_id": sample.gcr_id}, {"mobile": sample.mobile}, {"customer_code": sample.customer_code},
                 *([{"email": sample.email}] if sample.email else [])):
        data = data_of(await client.call_tool("get_customer_profile", args))
        assert data["gcr_id"] == sample.gcr_id  # from the gcr lookup: the documented profile does not carry it
        assert data["name"].endswith(sample.full_name)
        assert "customer_id" not in data  # the sandbox's customerId is the gcr_id (CONTRACT.md): said once
        assert data["status_color"] in ("red", "green", "blue")
        assert data.get("days_since_last_purchase") == last_order
        assert data["currency"] == "USD" and data["total_sales"] > 0 and data["orders"] > 0
        assert all(value not in ("", " ") for value in data.values())
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", key) for key in [*data, *data["more"]])  # our spelling
        assert data["more"] == {"opt_in_status": "Opted in" if consents else "Opted out"}  # a further field


async def test_segments_page_through_all_without_overlap(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    member_of = rows(sandbox_server, "SELECT segment_id FROM segment_members WHERE gcr_id = ?", vip.gcr_id)
    expected = {r[0] for r in member_of}
    ids = await page_through(client, "list_customer_segments", {"email": vip.email, "limit": 2}, "segments")
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert len(expected) > 2  # paging really happened


async def test_search_segments_filters_by_name_and_pages(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    names = rows(sandbox_server, "SELECT s.segment_id, s.name FROM segments s JOIN segment_members m "
                                 "ON m.segment_id = s.segment_id WHERE m.gcr_id = ?", vip.gcr_id)
    text = "e"
    expected = {sid for sid, name in names if text in name.lower()}
    args = {"gcr_id": vip.gcr_id, "segment_name": text, "limit": 2}
    ids = await page_through(client, "search_customer_segments", args, "segments")
    assert set(ids) == expected and len(ids) == len(expected)


async def test_check_in_segment_true_for_member_false_otherwise(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    member = rows(sandbox_server, "SELECT segment_id FROM segment_members WHERE gcr_id = ? LIMIT 1", vip.gcr_id)[0][0]
    other = rows(sandbox_server, "SELECT segment_id FROM segments WHERE segment_id NOT IN "
                                 "(SELECT segment_id FROM segment_members WHERE gcr_id = ?) LIMIT 1", vip.gcr_id)[0][0]
    yes = data_of(await client.call_tool("check_customer_in_segment", {"email": vip.email, "segment_id": member}))
    no = data_of(await client.call_tool("check_customer_in_segment", {"email": vip.email, "segment_id": other}))
    assert (yes["in_segment"], no["in_segment"]) == (True, False)
    assert yes["gcr_id"] == vip.gcr_id  # resolved from the email


async def test_campaigns_and_search(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    mine = rows(sandbox_server, "SELECT c.campaign_id, c.name FROM campaigns c JOIN campaign_participation p "
                                "ON p.campaign_id = c.campaign_id WHERE p.gcr_id = ?", vip.gcr_id)
    ids = await page_through(client, "list_customer_campaigns", {"gcr_id": vip.gcr_id, "limit": 3}, "campaigns")
    assert sorted(ids) == sorted(cid for cid, _ in mine)
    word = mine[0][1].split()[0].lower()
    found = await page_through(client, "search_customer_campaigns",
                               {"gcr_id": vip.gcr_id, "campaign_name": word, "limit": 1}, "campaigns")
    assert sorted(found) == sorted(cid for cid, name in mine if word in name.lower())


async def test_purchases_page_through_every_line(client: Client, sandbox_server: SandboxThread) -> None:
    regular = sandbox_server.sample("regular")
    lines = rows(sandbox_server, "SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.order_id = l.order_id "
                                 "WHERE o.gcr_id = ?", regular.gcr_id)[0][0]
    args = {"gcr_id": regular.gcr_id, "limit": 7}
    items = await page_through(client, "list_purchased_products", args, "orders")
    assert len(set(items)) == len(items) == lines
    dates = [line.split()[0] for line in items]
    assert dates == sorted(dates, reverse=True)  # newest first across pages


async def test_purchases_count_and_page_whole_orders(client: Client, sandbox_server: SandboxThread) -> None:
    """Results are grouped by order: `limit`, `total` and `remaining` count orders, and no order is split."""
    orders = {f"ORD-{order}": round(amount, 2) for order, amount in rows(
        sandbox_server, "SELECT o.order_id, SUM(l.amount) FROM orders o JOIN order_lines l ON l.order_id = o.order_id "
                        "WHERE o.gcr_id = ? GROUP BY o.order_id", sandbox_server.sample("vip").gcr_id)}
    lines = rows(sandbox_server, "SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.order_id = l.order_id "
                                 "WHERE o.gcr_id = ?", sandbox_server.sample("vip").gcr_id)[0][0]
    assert lines > len(orders) > 3  # some orders have several lines
    for limit in (1, 2, 3):
        pages = await page_through(client, "list_purchased_products",
                                   {"gcr_id": sandbox_server.sample("vip").gcr_id, "limit": limit}, "order_ids")
        seen = [order for page in pages for order in page]
        assert all(len(page) <= limit for page in pages) and len(seen) == len(set(seen)) == len(orders), limit
        amounts = {order: round(sum(line.get("amount", 0) for line in value["products"].values()), 2)
                   for page in pages for order, value in page.items()}
        assert amounts == orders  # every order whole, on one page


async def test_attributes_page_by_offset(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    names = {r[0] for r in rows(sandbox_server, "SELECT name FROM custom_attributes WHERE gcr_id = ?", vip.gcr_id)}
    found = await page_through(client, "get_customer_attributes", {"gcr_id": vip.gcr_id, "limit": 2}, "attributes")
    assert set(found) == names and len(found) == len(names)


async def test_limit_only_lists_are_capped_and_state_total(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    recs = data_of(await client.call_tool("get_product_recommendations", {"gcr_id": vip.gcr_id, "limit": 2}))
    assert len(recs["products"]) == 2 and recs["total"] >= 2 and "next_cursor" not in recs
    assert all(product["name"] and product["price"] > 0 for product in recs["products"].values())
    activity = data_of(await client.call_tool("get_customer_activity", {"gcr_id": vip.gcr_id, "limit": 4}))
    dates = [event["date"] for event in activity["events"]]
    assert len(dates) <= 4 and activity["total"] >= len(dates) and dates == sorted(dates, reverse=True)


async def test_affinity_top_labels_per_chart(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    per_dimension = sorted(r[0] for r in rows(
        sandbox_server, "SELECT COUNT(*) FROM affinity_scores WHERE gcr_id = ? GROUP BY dimension", vip.gcr_id))
    data = data_of(await client.call_tool("get_customer_affinity", {"gcr_id": vip.gcr_id, "limit": 2}))
    shown = {title: len(scores) + data.get("not_shown", {}).get(title, 0) for title, scores in data["charts"].items()}
    assert sorted(shown.values()) == per_dimension
    for title, chart in data["charts"].items():
        scores = list(chart.values())
        assert len(scores) == min(2, shown[title]) and scores == sorted(scores, reverse=True)
    assert data["measure"]


async def test_purchase_trends_sum_up(client: Client, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    data = data_of(await client.call_tool("get_purchase_trends", {"customer_code": vip.customer_code}))
    months = list(data["months"])
    assert len(months) == 3 and months == sorted(months) and all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months)
    assert data["total"]["orders"] == sum(m["orders"] for m in data["months"].values())
    assert data["total"]["sales"] == pytest.approx(sum(m["sales"] for m in data["months"].values()))
    assert data["gcr_id"] == vip.gcr_id


async def test_consent_and_resolve(client: Client, sandbox_server: SandboxThread) -> None:
    contactable = {}
    for label in ("vip", "opted_out"):
        sample = sandbox_server.sample(label)
        opted = rows(sandbox_server, "SELECT COUNT(*) FROM channel_consents WHERE gcr_id = ? AND opted_in = 1",
                     sample.gcr_id)[0][0]
        data = data_of(await client.call_tool("get_marketing_consent", {"email": sample.email}))
        assert len(data["contactable_on"]) == opted
        assert sorted(data["contactable_on"] + data["not_contactable_on"]) == ["email", "push", "sms", "whatsapp"]
        assert set(data.get("categories", {})) == set(data["contactable_on"])
        assert data["gcr_id"] == sample.gcr_id
        contactable[label] = data["contactable_on"]
    assert contactable["vip"] and contactable["opted_out"] == []
    found = data_of(await client.call_tool("resolve_customer", {"email": sandbox_server.sample("new").email}))
    assert found == {"gcr_id": sandbox_server.sample("new").gcr_id}
    assert data_of(await client.call_tool("resolve_customer", {"email": "nobody@example.invalid"})) == {"found": False}


async def test_ambiguous_email_says_what_to_add(client: Client, sandbox_server: SandboxThread) -> None:
    ambiguous = sandbox_server.sample("ambiguous")
    result = await client.call_tool("get_customer_profile", {"email": ambiguous.email})
    assert result.is_error and result.structured_content is None
    message = text_of(result)
    assert "2 customers" in message and "mobile" in message and "gcr_id" in message
    first = sandbox_server.sample("household_1")
    args = {"email": ambiguous.email, "mobile": first.mobile}
    narrowed = data_of(await client.call_tool("get_customer_profile", args))
    assert narrowed["gcr_id"] == first.gcr_id


async def test_distinct_events_on_one_day_are_all_listed(client: Client, sandbox_server: SandboxThread) -> None:
    """Two email opens on one day are two events: the page holds `limit` of them and the counts add up."""
    for label in ("vip", "regular"):
        sample = sandbox_server.sample(label)
        data = data_of(await client.call_tool("get_customer_activity", {"gcr_id": sample.gcr_id, "limit": 30}))
        assert len(data["events"]) == min(30, data["total"])
        assert len(data["events"]) + data.get("remaining", 0) == data["total"]


async def test_amounts_name_their_currency_once_and_products_are_keyed_alike(
    connect: Any, sandbox_server: SandboxThread,
) -> None:
    """A fresh session: every result with amounts says its currency once, right after gcr_id; results without
    amounts say none; products are keyed by their code wherever they appear, channels are lower case."""
    vip = sandbox_server.sample("vip")
    async with connect() as fresh:
        card = data_of(await fresh.call_tool("get_customer_overview", {"gcr_id": vip.gcr_id}))
        results = {tool: data_of(await fresh.call_tool(tool, {"gcr_id": vip.gcr_id})) for tool in (
            "get_product_recommendations", "list_purchased_products", "get_customer_activity",
            "list_customer_campaigns", "get_purchase_trends", "get_customer_profile")}
    campaigns = results.pop("list_customer_campaigns")
    for data in (card, *results.values()):
        assert list(data)[:2] == ["gcr_id", "currency"] and data["currency"] == "USD"
        assert json.dumps(data).count('"currency"') == 1
    assert "currency" not in campaigns
    products = {**card["recommendations"], **results["get_product_recommendations"]["products"]}
    products |= {code: line for order in results["list_purchased_products"]["orders"].values()
                 for code, line in order["products"].items()}
    assert products and all(re.fullmatch(r"SKU-\d+", code) and p["name"] for code, p in products.items())
    channels = [c["channel"] for c in campaigns["campaigns"].values() if "channel" in c]
    channels += [e["channel"] for e in results["get_customer_activity"]["events"] if "channel" in e]
    assert channels and all(c == c.lower() for c in channels)


async def test_a_configured_currency_applies_to_bare_amounts_from_the_first_call(
    connect: Any, sandbox_server: SandboxThread,
) -> None:
    """CDP_CURRENCY: a price-only call in a fresh session already states the tenant's currency."""
    vip = sandbox_server.sample("vip")
    async with connect(currency="EUR") as fresh:
        first = data_of(await fresh.call_tool("get_product_recommendations", {"gcr_id": vip.gcr_id}))
    assert first["currency"] == "EUR" and all(p["price"] > 0 for p in first["products"].values())


async def test_resolve_with_only_a_gcr_id_never_says_an_existing_customer_is_missing(
    connect: Any, sandbox_server: SandboxThread,
) -> None:
    """The gcr lookup documents no gcrId key, so a bare gcr_id is checked through basic (or left unverified)."""
    vip = sandbox_server.sample("vip")
    async with connect() as client:
        found = data_of(await client.call_tool("resolve_customer", {"gcr_id": vip.gcr_id}))
        missing = data_of(await client.call_tool("resolve_customer", {"gcr_id": 987_654}))
    assert found == {"gcr_id": vip.gcr_id}  # found is said only when false
    assert missing == {"found": False}
    async with connect(resources=["gcrId", "optIn"]) as without_basic:
        given = data_of(await without_basic.call_tool("resolve_customer", {"gcr_id": vip.gcr_id}))
    assert given == {"gcr_id": vip.gcr_id, "verified": False}


@pytest.mark.parametrize("given_as", ["base URL", "create endpoint", "update endpoint", "create endpoint/"])
async def test_token_calls_go_to_the_token_api_url_when_it_differs(
    connect: Any, sandbox_server: SandboxThread, tmp_path: Any, given_as: str,
) -> None:
    """The customer success manager may hand over the full create endpoint: it is recognised as the base URL."""
    sandbox_server.reset()
    endpoint = {"base URL": "", "create endpoint": TOKEN_CREATE_PATH, "update endpoint": TOKEN_UPDATE_PATH,
                "create endpoint/": TOKEN_CREATE_PATH + "/"}[given_as]
    async with (fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as token_host,
                connect(token_api_url=token_host.url + endpoint, state_dir=tmp_path) as client):
        data = data_of(await client.call_tool("get_customer_profile", {"gcr_id": 1}))
    assert data["gcr_id"] == 1
    assert token_host.seen == {"create": 1}  # the data call went to CDP_B2B_API_URL, the token call here
    with pytest.raises(ConfigurationError, match="CDP_TOKEN_API_URL needs CDP_B2B_API_URL"):
        Settings.load(_env_file=None, b2b_api_url=None, token_api_url=token_host.url)


def long_purchase_history(lines: int) -> list[dict[str, Any]]:
    """A heavy buyer's purchase lines, newest first: orders of one to three lines, never split here."""
    out: list[dict[str, Any]] = []
    order = 0
    while len(out) < lines:
        order += 1
        for line in range(order % 3 + 1):
            day = 28 - order % 28
            out.append({"orderId": f"ORD-{10_000 - order}", "productCode": f"SKU-{order}-{line}", "productName": "Tea",
                        "category": "Grocery", "quantity": 1, "orderValue": 2.5, "orderDate": f"{day:02d}-10-2026"})
    return out[:lines]


def lastkey_paged(app: Any, history: list[dict[str, Any]]) -> Any:
    """A tenant that answers productPurchased itself, from `history`, in lastKey pages of the size asked."""

    async def tenant(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/productPurchased"):
            await app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        asked = json.loads(body or b"{}")
        size, start = asked.get("pageSize", 100), (asked.get("lastKey") or {}).get("RK_DATE_KEY", 0)
        end = min(start + size, len(history))
        data = {"customerId": 1, "totalCount": len(history), "currentPage": start // size + 1, "pageSize": size,
                "totalPages": -(-len(history) // size), "dataList": history[start:end],
                "lastKey": {"HK_CUSTOMER_CODE": "1_1", "RK_DATE_KEY": end} if end < len(history) else None}
        await answer_with(Fault(body=json.dumps({"status": "OK", "message": "", "data": data}).encode()), send)

    return tenant


async def test_a_long_purchase_history_is_read_across_upstream_pages_without_splitting_an_order(
        connect: Any, sandbox_server: SandboxThread, tmp_path: Any) -> None:
    history = long_purchase_history(250)  # three upstream pages of 100 lines
    orders = {line["orderId"] for line in history[:-1]}  # the last order is cut by the history's end: still one
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as proxy:
        proxy.app = lastkey_paged(proxy.app, history)
        async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
            pages, cursor = [], None
            while True:
                data = data_of(await client.call_tool("list_purchased_products", {
                    "gcr_id": 1, "limit": 45, **({"cursor": cursor} if cursor else {})}))
                pages.append(data)
                cursor = data.get("next_cursor")
                if cursor is None:
                    break
    shown = [order for page in pages for order in page["orders"]]
    assert len(shown) == len(set(shown)) == len(orders | {history[-1]["orderId"]})
    assert [len(page["orders"]) for page in pages][:-1] == [45] * (len(pages) - 1)
    lines = sum(len(order["products"]) for page in pages for order in page["orders"].values())
    assert lines == len(history)  # every line once: no order split, none lost
    assert "total" not in pages[0] and pages[-1]["total"] == len(shown) and "remaining" not in pages[-1]
    assert proxy.seen["productPurchased"] <= 2 * len(pages) + 2  # a page of 45 orders reads one or two pages
