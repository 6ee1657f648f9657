"""Failure semantics through a fault-injecting proxy on loopback: what the model sees, and what was sent upstream.

The MCP server talks to the sandbox through `tests.faults.fault_proxy` (real HTTP both ways); each test breaks one
route the way review and fault injection found real gateways and tenants break, then asserts the tool result a
model gets and how many requests reached the upstream.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from tool_results import Connect, data_of, text_of

from cdp_mcp.broker.store import FileTokenStore, namespace_for
from cdp_mcp.catalog import TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, resource
from cdp_mcp.sandbox.server import SandboxThread
from tests.faults import Fault, FaultProxy, fault_proxy

pytestmark = pytest.mark.anyio

BASIC = resource("basic").route
VIP = {"gcr_id": 1}  # a gcr_id: no gcr lookup beside the call, so the counts are the call's own


def error(status: int, payload: dict[str, Any]) -> Fault:
    return Fault(status=status, body=json.dumps(payload).encode())


@pytest.fixture
async def proxy(sandbox_server: SandboxThread) -> AsyncIterator[FaultProxy]:
    sandbox_server.reset()
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as running:
        yield running


async def creations_counted(proxy: FaultProxy, state_dir: Path, server: SandboxThread) -> int:
    """The creations the broker's persisted ledger counts for the proxy's tenant namespace."""
    state = await FileTokenStore(state_dir).load(namespace_for(proxy.url, server.tenant_hash))
    return state.ledger.used(server.clock.now())


async def test_a_trickling_body_is_cut_at_the_request_deadline(connect: Connect, proxy: FaultProxy,
                                                               tmp_path: Path) -> None:
    proxy.fail(BASIC, Fault(trickle=True))  # 8 bytes every 0.5 s, for ever
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path, connect_timeout=0.5, read_timeout=1,
                       max_retries=3) as client:
        started = time.monotonic()
        result = await client.call_tool("get_customer_profile", VIP)
        elapsed = time.monotonic() - started
    assert result.is_error and "did not complete its answer to basic within 1.5 s" in text_of(result)
    assert elapsed < 5  # not the 39 s of a per-read timeout
    assert proxy.seen["basic"] == 1  # a slow answer is not asked for again
    with anyio.fail_after(5):
        while proxy.hung_up < 1:  # the request was abandoned, not left running
            await anyio.sleep(0.05)


async def test_the_call_deadline_cancels_the_calls_upstream_work(connect: Connect, proxy: FaultProxy,
                                                                 tmp_path: Path) -> None:
    proxy.fail(BASIC, Fault(trickle=True))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path, read_timeout=30, call_timeout=1.5) as client:
        started = time.monotonic()
        result = await client.call_tool("get_customer_overview", VIP)
        elapsed = time.monotonic() - started
        assert result.is_error and "did not finish within 1.5 s (CDP_CALL_TIMEOUT)" in text_of(result)
        assert "cancelled" in text_of(result) and elapsed < 5
        with anyio.fail_after(5):
            while proxy.hung_up < 1:
                await anyio.sleep(0.05)
        assert not (await client.call_tool("get_marketing_consent", VIP)).is_error  # the server is fine after


async def test_a_gateway_502_on_create_is_never_repeated_and_counted_as_spent(
        connect: Connect, proxy: FaultProxy, sandbox_server: SandboxThread, tmp_path: Path) -> None:
    proxy.fail(TOKEN_CREATE_PATH, Fault(status=502, body=b"<html><body>502 Bad Gateway</body></html>",
                                        headers={"content-type": "text/html"}, times=2))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path, max_retries=3) as client:
        first = await client.call_tool("get_customer_profile", VIP)
        assert first.is_error and "HTTP 502" in text_of(first) and "not repeated" in text_of(first)
        assert "Bad Gateway" not in text_of(first)  # the gateway's page is not quoted
        assert (proxy.seen["create"], proxy.seen["basic"]) == (1, 0)  # one creation request for one call
        second = await client.call_tool("get_customer_profile", VIP)
        assert second.is_error and proxy.seen["create"] == 2
        third = data_of(await client.call_tool("get_customer_profile", VIP))
    assert third["gcr_id"] == 1 and (proxy.seen["create"], proxy.seen["basic"]) == (3, 1)
    assert await creations_counted(proxy, tmp_path, sandbox_server) == 3  # the unconfirmed two count too


async def test_a_persistent_401_says_retrying_will_not_help(connect: Connect, proxy: FaultProxy,
                                                            tmp_path: Path) -> None:
    proxy.fail(BASIC, error(401, {"status": "ERROR", "message": "Unauthorized"}))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
        result = await client.call_tool("get_customer_profile", VIP)
    text = text_of(result)
    assert result.is_error and "again right after it was renewed" in text and "will not help" in text
    assert "retry the call" not in text.lower()
    assert proxy.seen["basic"] == 2 and proxy.seen["create"] == 1  # one renewal, one retry, nothing more
    assert proxy.seen["update"] <= 1


async def test_a_401_on_create_says_the_credentials_were_refused(connect: Connect, proxy: FaultProxy,
                                                                 tmp_path: Path) -> None:
    proxy.fail(TOKEN_CREATE_PATH, error(401, {"status": "ERROR", "message": "Token expired"}))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path, max_retries=3) as client:
        result = await client.call_tool("get_customer_profile", VIP)
    assert result.is_error and "refused the tenant credentials" in text_of(result)
    assert "CDP_TENANT_HASH" in text_of(result)
    assert (proxy.seen["create"], proxy.seen["basic"]) == (1, 0)


async def test_a_quota_429_worded_unlike_the_sandbox_is_the_quota_not_a_rate_limit(
        connect: Connect, proxy: FaultProxy, tmp_path: Path) -> None:
    refusal = b'{"error": "LIMIT_EXCEEDED", "message": "Too many tokens created today"}'
    proxy.fail(TOKEN_CREATE_PATH, Fault(status=429, body=refusal,
                                        headers={"content-type": "application/json", "Retry-After": "1"}))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path, max_retries=3) as client:
        first = await client.call_tool("get_customer_profile", VIP)
        second = await client.call_tool("get_customer_profile", VIP)
    for result in (first, second):
        assert result.is_error and "allowance of token creations is spent" in text_of(result)
        assert "possible again at" in text_of(result)
    assert (proxy.seen["create"], proxy.seen["basic"]) == (1, 0)  # not retried, then not asked again


@pytest.mark.parametrize("status", [401, 403])
async def test_a_401_or_403_on_create_that_speaks_of_the_daily_limit_is_the_quota_not_the_credentials(
        connect: Connect, proxy: FaultProxy, tmp_path: Path, status: int) -> None:
    refusal = {"status": "ERROR", "errorCode": "UNAUTHORIZED", "message": "Daily token creation limit reached"}
    proxy.fail(TOKEN_CREATE_PATH, error(status, refusal))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path, max_retries=3) as client:
        first = await client.call_tool("get_customer_profile", VIP)
        second = await client.call_tool("get_customer_profile", VIP)
    for result in (first, second):
        text = text_of(result)
        assert result.is_error and "allowance of token creations is spent" in text, text
        assert "possible again at" in text and "CDP_TENANT_HASH" not in text and "credentials" not in text
    assert (proxy.seen["create"], proxy.seen["basic"]) == (1, 0)  # not retried, then not asked again


def token_answer(shape: Callable[[str], Any], content_type: str = "application/json") -> Fault:
    """The sandbox's own token answer (so the token works) with the token moved to where `shape(token)` puts it."""

    def reshape(body: bytes) -> bytes:
        out = shape(json.loads(body)["data"]["token"])
        return out.encode() if isinstance(out, str) else json.dumps(out).encode()

    return Fault(reshape=reshape, headers={"content-type": content_type})


TOKEN_SHAPES: dict[str, tuple[Callable[[str], Any], str]] = {
    "data is the token": (lambda t: {"status": "OK", "message": "", "data": t}, "application/json"),
    "another key": (lambda t: {"status": "OK", "data": {"authorizationToken": t, "expiresIn": 3600}},
                    "application/json"),
    "jwt": (lambda t: {"status": "OK", "message": "Token generated", "data": {"jwt": t, "tokenType": "Bearer"}},
            "application/json"),
    "token object": (lambda t: {"status": "OK", "data": {"token": {"value": t, "validity": 600}}}, "application/json"),
    "a key of its own": (lambda t: {"status": "success", "result": {"accessKey": t, "createdAt": "2026-11-28"}},
                         "application/json"),
    "JSON string": (json.dumps, "application/json"),
    "plain text": (lambda t: t + "\n", "text/plain; charset=utf-8"),
}


@pytest.mark.parametrize("shape", sorted(TOKEN_SHAPES))
async def test_a_token_answer_in_another_shape_is_read_once_and_used(
        connect: Connect, proxy: FaultProxy, tmp_path: Path, shape: str) -> None:
    proxy.fail(TOKEN_CREATE_PATH, token_answer(*TOKEN_SHAPES[shape]))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
        for _ in range(3):
            assert data_of(await client.call_tool("get_customer_profile", VIP))["gcr_id"] == 1
    assert (proxy.seen["create"], proxy.seen["basic"]) == (1, 3)


async def test_an_update_answered_ok_without_a_token_extends_the_same_token(
        connect: Connect, start_sandbox_server: Any, tmp_path: Path) -> None:
    server = start_sandbox_server()
    life = 600 * 60  # CDP_TOKEN_VALIDITY, in minutes
    async with fault_proxy(server.base_url, server.options.context_path) as running:
        running.fail(TOKEN_UPDATE_PATH, Fault(reshape=lambda _: b'{"status": "OK", "message": "Token extended"}'))
        async with connect(b2b_api_url=running.url, state_dir=tmp_path, server=server) as client:
            assert not (await client.call_tool("get_customer_profile", VIP)).is_error
            server.clock.advance(seconds=0.85 * life)  # past the extension point: the call extends the token
            assert not (await client.call_tool("get_customer_profile", VIP)).is_error
            server.clock.advance(seconds=0.5 * life)  # past the first expiry, within the extended life
            assert not (await client.call_tool("get_customer_profile", VIP)).is_error
    assert running.seen["create"] == 1 and running.seen["update"] >= 1 and running.seen["basic"] == 3


UNREADABLE = {
    "no token": Fault(body=b'{"status": "OK", "message": "Token created", "data": {"created": true}}'),
    "two candidates": Fault(body=json.dumps({"status": "OK", "data": {"primary": "a" * 40, "secondary": "b" * 40}})
                            .encode()),
    "a web page": Fault(body=b"<!doctype html><html><body>Welcome</body></html>",
                        headers={"content-type": "text/html"}),
}


@pytest.mark.parametrize("answer", sorted(UNREADABLE))
async def test_an_unreadable_successful_creation_stops_creation_for_that_scope(
        connect: Connect, proxy: FaultProxy, sandbox_server: SandboxThread, tmp_path: Path, answer: str) -> None:
    proxy.fail(TOKEN_CREATE_PATH, UNREADABLE[answer])
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
        results = [await client.call_tool("get_customer_profile", VIP) for _ in range(3)]
        consent = await client.call_tool("get_marketing_consent", VIP)  # another scope: one creation of its own
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as restarted:
        after_restart = await restarted.call_tool("get_customer_profile", VIP)
    for result in [*results, after_restart]:
        text = text_of(result)
        assert result.is_error and "could not read" in text and "stopped until" in text, text
        assert "basic" in text and "daily allowance" in text
    assert consent.is_error and "optIn" in text_of(consent)
    assert (proxy.seen["create"], proxy.seen["basic"]) == (2, 0)  # one per scope, never again
    assert await creations_counted(proxy, tmp_path, sandbox_server) == 2  # each may have been made: counted

    proxy.fail(TOKEN_CREATE_PATH)  # the tenant's answers as documented again, and a cdp-mcp that reads them:
    store, namespace = FileTokenStore(tmp_path), namespace_for(proxy.url, sandbox_server.tenant_hash)
    async with store.locked(namespace):
        state = await store.load(namespace)
        state.stopped = {key: replace(stop, version="0.0.1") for key, stop in state.stopped.items()}
        await store.save(namespace, state)
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as upgraded:
        assert data_of(await upgraded.call_tool("get_customer_profile", VIP))["gcr_id"] == 1
    assert proxy.seen["create"] == 3


async def test_a_gcr_id_with_another_persons_email_is_a_conflict_whatever_the_tenant_calls_it(
        connect: Connect, proxy: FaultProxy, sandbox_server: SandboxThread, tmp_path: Path) -> None:
    """A gcr_id names exactly one customer: "several customers" for it and an email means they name different
    people, even from a tenant that answers every such refusal as MULTIPLE_CUSTOMERS."""
    generic = {"status": "ERROR", "errorCode": "MULTIPLE_CUSTOMERS", "message": "Multiple customers found",
               "data": {"matches": 2}}
    proxy.fail(BASIC, error(409, generic))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
        mixed = await client.call_tool("get_customer_profile",
                                       {"gcr_id": 1, "email": sandbox_server.sample("regular").email})
        shared = await client.call_tool("get_customer_profile", {"email": sandbox_server.sample("household_1").email})
    assert mixed.is_error and "(gcr_id, email) name different customers" in text_of(mixed), text_of(mixed)
    assert shared.is_error and "match 2 customers" in text_of(shared)  # one identifier: ambiguous, as before


async def test_missing_required_fields_spoil_only_what_needs_them(connect: Connect, proxy: FaultProxy,
                                                                  tmp_path: Path) -> None:
    """A profile without customerId is still the profile; a membership answer without `status` is an error that
    names the field, in its row only."""
    card = {"customerId": None, "fullName": "Ada Lovelace", "membershipType": "Gold", "city": "London",
            "age": 36, "totalSales": "$ 120.5", "totalOrders": 4}
    proxy.fail(BASIC, error(200, {"status": "OK", "message": "", "data": card}))
    proxy.fail(resource("isCustomerInSegment").route, error(200, {"status": "OK", "message": "", "data": {}}))
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
        overview = data_of(await client.call_tool("get_customer_overview", {**VIP, "include": ["who", "value"]}))
        screened = data_of(await client.call_tool("screen_customers", {"customers": [VIP], "segment_id": "101",
                                                                       "channel": "email"}))
    assert overview["who"] == {"name": "Ada Lovelace", "tier": "Gold", "city": "London", "age_band": "30-39"}
    assert overview["value"]["orders"] == 4 and "unavailable" not in overview
    (row,) = screened["rows"]
    assert "without `status`" in row["error"] and "in_segment" not in row
    assert "contactable" in row and row["gcr_id"] == 1  # the rest of the row still answers


async def test_a_gcr_id_the_profile_states_names_the_customer_in_every_tool_that_reads_it(
        connect: Connect, proxy: FaultProxy, tmp_path: Path) -> None:
    """A tenant whose basic carries gcrId (the vendor lists more fields than it names): the card, the overview and
    the screening row all name the customer by it, one rule for all, even where the gcr lookup is not granted."""
    card = {"customerId": "C-77", "gcrId": 77, "fullName": "Ada Lovelace", "totalOrders": 4}
    proxy.fail(BASIC, error(200, {"status": "OK", "message": "", "data": card}))
    who = {"email": "ada.lovelace@example.com"}
    granted = ["basic", "optIn", "isCustomerInSegment"]  # no gcrId: the lookup cannot name anyone
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path, resources=granted) as client:
        profile = data_of(await client.call_tool("get_customer_profile", who))
        overview = data_of(await client.call_tool("get_customer_overview", {**who, "include": ["who"]}))
        screened = data_of(await client.call_tool("screen_customers", {"customers": [who], "segment_id": "101",
                                                                       "channel": "email"}))
    assert profile["gcr_id"] == overview["gcr_id"] == screened["rows"][0]["gcr_id"] == 77
    assert proxy.seen["gcr"] == 0


async def test_a_pointer_paged_answer_without_its_pointer_is_paged_here_from_then_on(
        connect: Connect, proxy: FaultProxy, tmp_path: Path) -> None:
    """userAttributes pages by a pointer to the last record. A tenant that leaves the pointer out although more
    attributes exist is paged here instead (the list asked for again and cut), never cut short."""
    async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
        every = data_of(await client.call_tool("get_customer_attributes", {**VIP, "limit": 100}))["attributes"]
        assert len(every) > 2
        typed = {bool: "boolean", int: "integer", float: "float", str: "string"}
        first = [{"attributeName": name, "attributeValue": value, "dataType": typed[type(value)]}
                 for name, value in list(every.items())[:2]]
        page = {"customerId": 1, "totalCount": len(every), "pageSize": 2, "dataList": first}  # no lastKey
        proxy.fail(resource("userAttributes").route,
                   Fault(body=json.dumps({"status": "OK", "message": "", "data": page}).encode(), times=1))
        walked: dict[str, Any] = {}
        cursor: str | None = None
        while True:
            result = data_of(await client.call_tool("get_customer_attributes",
                                                    {**VIP, "limit": 2, **({"cursor": cursor} if cursor else {})}))
            assert not walked.keys() & result["attributes"].keys()
            walked |= result["attributes"]
            cursor = result.get("next_cursor")
            if cursor is None:
                break
    assert walked == every and list(walked) == list(every)
