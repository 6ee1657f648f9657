"""Bad input is refused before any upstream call, with a message that names the arguments and an example."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from tool_results import Connect, data_of, text_of
from tool_transport import RecordingTransport

from cdp_mcp.catalog import IDENTIFIERS
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.tools.registry import all_specs
from tests.faults import ASGIApp, Fault, answer_with, fault_proxy

pytestmark = pytest.mark.anyio

BAD_IDENTITIES = {
    "missing": {},
    "malformed email": {"email": "not-an-email"},
    "malformed mobile": {"mobile": "12ab"},
    "empty string": {"customer_code": ""},
    "blank email": {"email": "   "},
}


@pytest.mark.parametrize("tool", ["get_customer_profile", "list_customer_segments", "get_customer_overview"])
@pytest.mark.parametrize("case", sorted(BAD_IDENTITIES))
async def test_bad_identifier_is_refused_before_any_request(connect: Connect, tool: str, case: str) -> None:
    transport = RecordingTransport()
    async with connect(transport=transport) as client:
        result = await client.call_tool(tool, BAD_IDENTITIES[case])
    assert result.is_error
    message = text_of(result)
    assert all(i.argument in message for i in IDENTIFIERS)
    assert "for example" in message
    assert transport.paths == []


async def test_schema_bounds_are_enforced(connect: Connect) -> None:
    async with connect() as client:
        for args in ({"gcr_id": 1, "limit": 0}, {"gcr_id": 1, "limit": 101}, {"gcr_id": 0}):
            result = await client.call_tool("list_customer_segments", args)
            assert result.is_error, args
            message = text_of(result)  # one line naming the argument, without pydantic's codes, links or values
            assert message.startswith("Invalid arguments for list_customer_segments: ") and "\n" not in message
            assert next(iter(set(args) - {"gcr_id"} or {"gcr_id"})) in message
            assert "errors.pydantic.dev" not in message and "input_value" not in message


async def test_arguments_the_sdk_accepted_keep_the_tools_own_error(connect: Connect) -> None:
    """`include` sent as a JSON string (as some hosts do) is what the SDK parses and accepts: the error that
    follows is the tool's (no such customer), never an argument error from a second, different validation."""
    async with connect() as client:
        result = await client.call_tool("get_customer_overview", {"email": "nobody-here@example.com",
                                                                  "include": '["who", "value"]'})
    assert result.is_error and "Invalid arguments" not in text_of(result)
    assert "nobody" not in text_of(result) and "No customer" in text_of(result)


async def test_cursor_misuse_is_refused_with_a_hint(connect: Connect, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    async with connect() as client:
        first = data_of(await client.call_tool("list_customer_segments", {"gcr_id": vip.gcr_id, "limit": 1}))
        cursor = first["next_cursor"]
        other = await client.call_tool("list_customer_campaigns", {"gcr_id": vip.gcr_id, "cursor": cursor})
        assert other.is_error and "list_customer_segments" in text_of(other)
        for broken in ("not a cursor!", cursor[:-4], "eyJ0IjoxfQ"):
            result = await client.call_tool("list_customer_segments", {"gcr_id": vip.gcr_id, "cursor": broken})
            assert result.is_error and "omit cursor" in text_of(result), broken
        search = data_of(await client.call_tool("search_customer_segments",
                                                {"gcr_id": vip.gcr_id, "segment_name": "e", "limit": 1}))
        swapped = await client.call_tool("search_customer_segments", {"gcr_id": vip.gcr_id, "segment_name": "a",
                                                                      "cursor": search["next_cursor"]})
        assert swapped.is_error and "search text" in text_of(swapped)


def _opened(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


async def test_a_cursor_is_sealed_and_shows_no_customer_or_paging_key(connect: Connect,
                                                                      sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    async with connect() as client:
        first = data_of(await client.call_tool("list_purchased_products", {"gcr_id": vip.gcr_id, "limit": 1}))
    raw = _opened(first["next_cursor"])
    with pytest.raises(ValueError):
        json.loads(raw)
    for clear in (b"HK_CUSTOMER_CODE", b"RK_DATE_KEY", b"last", b"list_purchased_products",
                  f"{vip.gcr_id}_".encode(), b'"g"', b'"o"'):
        assert clear not in raw, clear


async def test_a_tampered_cursor_is_refused_before_any_list_is_asked_for(connect: Connect,
                                                                         sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    transport = RecordingTransport()
    async with connect(transport=transport) as client:
        cursor = data_of(await client.call_tool("list_customer_segments", {"gcr_id": vip.gcr_id,
                                                                            "limit": 1}))["next_cursor"]
        raw = bytearray(_opened(cursor))
        for position in (0, len(raw) // 2, len(raw) - 1):
            changed = bytearray(raw)
            changed[position] ^= 0x01
            forged = base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
            transport.paths.clear()
            result = await client.call_tool("list_customer_segments", {"gcr_id": vip.gcr_id, "cursor": forged})
            text = text_of(result)
            assert result.is_error and "cursor is not valid" in text and "omit cursor" in text, text
            assert not [p for p in transport.paths if p.endswith("/segments")]


async def test_replicas_with_one_cursor_key_take_each_others_cursors(connect: Connect, sandbox_server: SandboxThread,
                                                                     tmp_path: Path) -> None:
    """CDP_MCP_CURSOR_KEY for replicas; without it a key kept in the state directory, so a restart keeps cursors."""
    vip = sandbox_server.sample("vip")
    first_page = {"gcr_id": vip.gcr_id, "limit": 1}
    key = "replicas-share-this-cursor-key-0123"
    async with connect(mcp_cursor_key=key, state_dir=tmp_path / "a") as one:
        cursor = data_of(await one.call_tool("list_customer_segments", first_page))["next_cursor"]
    async with connect(mcp_cursor_key=key, state_dir=tmp_path / "b") as other:
        assert not (await other.call_tool("list_customer_segments", {**first_page, "cursor": cursor})).is_error
    async with connect(mcp_cursor_key=key[::-1], state_dir=tmp_path / "b") as foreign:
        refused = await foreign.call_tool("list_customer_segments", {**first_page, "cursor": cursor})
        assert refused.is_error and "CDP_MCP_CURSOR_KEY" in text_of(refused)
    async with connect(state_dir=tmp_path / "c") as before:
        kept = data_of(await before.call_tool("list_customer_segments", first_page))["next_cursor"]
    assert (tmp_path / "c" / "cursor.key").stat().st_mode & 0o077 == 0
    async with connect(state_dir=tmp_path / "c") as restarted:
        assert not (await restarted.call_tool("list_customer_segments", {**first_page, "cursor": kept})).is_error


async def test_a_cursor_passed_back_for_another_customer_names_the_cursor_argument(
    connect: Connect, sandbox_server: SandboxThread,
) -> None:
    vip, regular = sandbox_server.sample("vip"), sandbox_server.sample("regular")
    transport = RecordingTransport()
    routes = {"list_purchased_products": "productPurchased", "list_customer_segments": "segments",
              "list_customer_campaigns": "campaigns"}
    async with connect(transport=transport) as client:
        for tool, route in routes.items():
            first = data_of(await client.call_tool(tool, {"gcr_id": vip.gcr_id, "limit": 1}))
            cursor = first["next_cursor"]
            for other in ({"gcr_id": regular.gcr_id}, {"email": regular.email}):
                transport.paths.clear()
                refused = await client.call_tool(tool, {**other, "cursor": cursor})
                message = text_of(refused)
                assert refused.is_error and "another customer" in message and "omit cursor" in message, (tool, other)
                assert "productPurchased" not in message and "segments request" not in message
                assert not [p for p in transport.paths if p.endswith(f"/{route}")]  # refused before the list call
            same = data_of(await client.call_tool(tool, {"email": vip.email, "cursor": cursor}))  # same customer
            paging = {"total", "remaining", "next_cursor"}
            page_1, page_2 = ({k: v for k, v in page.items() if k not in paging} for page in (first, same))
            assert same["gcr_id"] == vip.gcr_id and page_2 != page_1  # the next page, not the first again


async def test_a_cursor_the_api_refuses_for_a_customer_that_could_not_be_checked_names_the_cursor_argument(
    connect: Connect, sandbox_server: SandboxThread,
) -> None:
    """Without gcrId the customer of an email is unknown, so the API judges the page: its refusal names `cursor`."""
    vip, regular = sandbox_server.sample("vip"), sandbox_server.sample("regular")
    async with connect(resources=["segments"]) as client:
        first = data_of(await client.call_tool("list_customer_segments", {"gcr_id": vip.gcr_id, "limit": 1}))
        refused = await client.call_tool("list_customer_segments", {"email": regular.email,
                                                                    "cursor": first["next_cursor"]})
    message = text_of(refused)
    assert refused.is_error and "refused the segments request" in message and "omit cursor" in message


WRONG_TYPES = {  # never customer 1, nor a mobile with a trailing 0
    "gcr_id true": ({"gcr_id": True}, "gcr_id", "true or false"),
    "gcr_id false": ({"gcr_id": False}, "gcr_id", "true or false"),
    "mobile as a float": ({"mobile": 5550100001.0}, "mobile", "decimal point"),
    "customer_code as a float": ({"customer_code": 100001.0}, "customer_code", "decimal point"),
    "customer_code in exponent form": ({"customer_code": 1e5}, "customer_code", "decimal point"),
    "mobile true": ({"mobile": True}, "mobile", "true or false"),
    "email true": ({"email": True}, "email", "true or false"),
}
REQUIRED = {"search_customer_segments": {"segment_name": "a"}, "check_customer_in_segment": {"segment_id": "101"},
            "search_customer_campaigns": {"campaign_name": "a"}}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
async def test_booleans_and_fractional_numbers_are_argument_errors_in_every_tool(connect: Connect, case: str) -> None:
    args, argument, says = WRONG_TYPES[case]
    transport = RecordingTransport()
    async with connect(transport=transport) as client:
        for spec in all_specs():
            if not spec.customer:
                continue
            result = await client.call_tool(spec.name, {**args, **REQUIRED.get(spec.name, {})})
            text = text_of(result)
            assert result.is_error and text.startswith(f"Invalid arguments for {spec.name}: {argument}: "), text
            assert says in text and "input_value" not in text
        row = await client.call_tool("screen_customers", {"customers": [{"gcr_id": 2}, args], "segment_id": "101",
                                                          "channel": "sms"})
        assert row.is_error and f"customers.1.{argument}: " in text_of(row) and says in text_of(row), text_of(row)
    assert transport.paths == []


@pytest.mark.parametrize(("argument", "value"), [("limit", True), ("segment_id", 101.0), ("segment_id", True),
                                                 ("segment_name", False)])
async def test_other_arguments_take_no_booleans_or_fractions_either(connect: Connect, argument: str,
                                                                    value: object) -> None:
    tool = "list_customer_segments" if argument == "limit" else "screen_customers"
    args = {"gcr_id": 1} if argument == "limit" else {"customers": [{"gcr_id": 1}], "channel": "sms"}
    async with connect() as client:
        result = await client.call_tool(tool, {**args, argument: value})
    assert result.is_error and f"Invalid arguments for {tool}: {argument}: " in text_of(result), text_of(result)


async def test_screen_needs_exactly_one_segment_argument(connect: Connect) -> None:
    async with connect() as client:
        for extra in ({}, {"segment_id": "101", "segment_name": "High Value"}):
            args = {"customers": [{"gcr_id": 1}], "channel": "sms", **extra}
            result = await client.call_tool("screen_customers", args)
            assert result.is_error and "segment_id" in text_of(result)
        too_many = await client.call_tool("screen_customers", {"customers": [{"gcr_id": 1}] * 101,
                                                               "segment_id": "101", "channel": "sms"})
        assert too_many.is_error


async def test_digits_sent_as_json_numbers_are_taken_as_text(connect: Connect, sandbox_server: SandboxThread) -> None:
    """Models and clients (the MCP Inspector CLI among them) send a mobile or a code as a number: not an error."""
    vip = sandbox_server.sample("vip")
    member = sandbox_server.sandbox.store.scalar(
        "SELECT segment_id FROM segment_members WHERE gcr_id = ? AND segment_id GLOB '[0-9]*'", (vip.gcr_id,))
    assert vip.mobile and vip.customer_code and vip.mobile.isdigit() and vip.customer_code.isdigit()
    async with connect() as client:
        for args in ({"mobile": int(vip.mobile)}, {"customer_code": int(vip.customer_code)}):
            assert data_of(await client.call_tool("get_customer_profile", args))["gcr_id"] == vip.gcr_id
        check = data_of(await client.call_tool("check_customer_in_segment",
                                               {"gcr_id": vip.gcr_id, "segment_id": int(member)}))
        assert check == {"gcr_id": vip.gcr_id, "in_segment": True}  # the id reached the API as its text
        screen = data_of(await client.call_tool("screen_customers", {
            "customers": [{"customer_code": int(vip.customer_code)}], "segment_id": int(member), "channel": "email"}))
        assert screen["rows"][0]["gcr_id"] == vip.gcr_id and screen["rows"][0]["in_segment"] is True


_CONTACTS = {i.header: i.argument for i in IDENTIFIERS if i.argument in ("email", "mobile")}
_AS_NORMALISED = {"email": re.compile(r"[^A-Z\s]+@[^A-Z\s]+"), "mobile": re.compile(r"\+?[0-9]+")}


def matching_as_sent(app: ASGIApp) -> ASGIApp:
    """A tenant that compares emails and mobiles exactly as sent, in headers and in the gcr body (no lower-casing, no
    cleaning of a mobile's spaces and dashes): the sandbox normalises, so it could not tell whether the client does.
    Anything not yet normalised matches nobody."""
    nobody = Fault(status=404, body=json.dumps({"status": "ERROR", "errorCode": "CUSTOMER_NOT_FOUND",
                                                "message": "No customer matches", "data": None}).encode())

    async def peer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        sent = [(_CONTACTS[k.decode()], v.decode()) for k, v in scope["headers"] if k.decode() in _CONTACTS]
        fields = json.loads(body) if body.startswith(b"{") else {}
        sent += [(_CONTACTS[k], str(v)) for k, v in fields.items() if k in _CONTACTS]
        if not all(_AS_NORMALISED[kind].fullmatch(value) for kind, value in sent):
            await answer_with(nobody, send)
            return
        replayed = [{"type": "http.request", "body": body, "more_body": False}]
        await app(scope, lambda: _next(replayed, receive), send)

    return peer


async def _next(queue: list[dict[str, Any]], receive: Any) -> dict[str, Any]:
    return queue.pop(0) if queue else await receive()


async def test_emails_and_mobiles_are_sent_normalised_to_a_tenant_that_matches_them_as_sent(
        connect: Connect, sandbox_server: SandboxThread, tmp_path: Path) -> None:
    vip = sandbox_server.sample("vip")
    assert vip.email and vip.mobile and len(vip.mobile) == 10
    shouted, spaced = f"  {vip.email.upper()} ", f"({vip.mobile[:3]}) {vip.mobile[3:6]}-{vip.mobile[6:]}"
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as proxy:
        proxy.app = matching_as_sent(proxy.app)
        async with connect(b2b_api_url=proxy.url, state_dir=tmp_path) as client:
            for args in ({"email": shouted}, {"mobile": spaced}, {"email": shouted, "mobile": spaced}):
                assert data_of(await client.call_tool("get_customer_profile", args))["gcr_id"] == vip.gcr_id, args
                assert data_of(await client.call_tool("resolve_customer", args)) == {"gcr_id": vip.gcr_id}, args
    assert proxy.seen["gcr"] >= 3 and proxy.seen["basic"] == 3
