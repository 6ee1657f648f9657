"""The token create/update calls: against the sandbox, and tolerant of the open response shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from cdp_mcp.catalog import TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Header
from cdp_mcp.client.calls import TextBody
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.resources.segments import SegmentPage
from cdp_mcp.client.token_api import TokenApiClient, parse_issued_token
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.errors import ScopeMissingError, TokenExpiredError, UpstreamResponseError
from cdp_mcp.settings import Settings
from tests.client.rig import ClientRig, FixedToken

pytestmark = pytest.mark.anyio

BASE = "https://cdp.example.test/rcdpapi"


async def test_create_states_the_servers_expiry(rig: ClientRig) -> None:
    issued = await rig.api.create_token(frozenset({"segments", "basic"}))
    assert issued.resources == {"basic", "segments"}
    assert issued.expires_at == rig.server.clock.now() + timedelta(seconds=rig.settings.tokens.validity_seconds)
    assert issued.validity_seconds == rig.settings.tokens.validity_seconds


async def test_update_extends_and_rescopes_the_same_token(rig: ClientRig) -> None:
    created = await rig.api.create_token(frozenset({"basic"}))
    client = CdpClient(rig.http, rig.settings, FixedToken(created.token), retry=rig.timer.policy(max_retries=0))
    who = CustomerIdentity(gcr_id=rig.server.sample("vip").gcr_id)
    with pytest.raises(ScopeMissingError):
        await client.fetch("segments", who)
    rig.server.clock.advance(minutes=5)
    updated = await rig.api.update_token(created.token, frozenset({"basic", "segments"}))
    assert updated.token == created.token  # the sandbox keeps the token; the client just passes on what it got
    assert updated.expires_at is not None and created.expires_at is not None
    assert updated.expires_at - created.expires_at == timedelta(minutes=5)
    assert isinstance(await client.fetch("segments", who), SegmentPage)


async def test_updating_a_dead_token_is_token_expired(rig: ClientRig) -> None:
    created = await rig.api.create_token(frozenset({"basic"}))
    rig.server.clock.advance(seconds=rig.settings.tokens.validity_seconds + 1)
    with pytest.raises(TokenExpiredError):
        await rig.api.update_token(created.token, frozenset({"basic"}))


def _api(tmp_path: Path, seen: list[httpx2.Request], reply: dict[str, Any], **settings: Any) -> TokenApiClient:
    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=reply)

    config = Settings(_env_file=None, b2b_api_url=BASE, tenant_hash="t" * 32,  # type: ignore[call-arg]
                      state_dir=tmp_path, **settings)
    return TokenApiClient(make_http_client(config, base_url=BASE, transport=httpx2.MockTransport(handle)), config)


async def test_requests_carry_sorted_resources_validity_and_credentials(tmp_path: Path) -> None:
    seen: list[httpx2.Request] = []
    plain = _api(tmp_path, seen, {"token": "T"}, token_validity=30)
    await plain.create_token(frozenset({"segments", "basic"}))
    with_oauth = _api(tmp_path, seen, {"token": "T"}, oauth_key_secret="0123456789abcdef")
    await with_oauth.update_token("T", frozenset({"optIn"}))
    create, update = seen
    assert create.url.path.endswith(TOKEN_CREATE_PATH) and update.url.path.endswith(TOKEN_UPDATE_PATH)
    assert json.loads(create.content) == {"resource": ["basic", "segments"], "validity": 30}
    assert json.loads(update.content) == {"resource": ["optIn"], "validity": 600, "token": "T"}
    assert create.headers[Header.TENANT_HASH] == "t" * 32 and Header.OAUTH_KEY_SECRET not in create.headers
    assert update.headers[Header.OAUTH_KEY_SECRET] == "0123456789abcdef"
    assert create.method == "POST" and not create.url.query


@pytest.mark.parametrize("payload", [
    {"status": "OK", "data": {"token": "T1"}},
    {"token": "T1"},
    {"status": "OK", "data": {"access_token": "T1"}},
    {"access_token": "T1", "token_type": "bearer"},
])
def test_the_token_is_found_where_the_docs_allow(payload: dict[str, Any]) -> None:
    issued = parse_issued_token(payload, frozenset({"basic"}), default_unit="minutes", what="token create")
    assert issued.token == "T1" and issued.expires_at is None and issued.validity_seconds is None


@pytest.mark.parametrize(("extra", "expires_at", "validity"), [
    ({"expiresAt": "2026-11-28T09:10:00Z"}, datetime(2026, 11, 28, 9, 10, tzinfo=UTC), None),
    ({"expires_at": 1_795_000_000}, datetime.fromtimestamp(1_795_000_000, UTC), None),
    ({"expiry": "2026-11-28T09:10:00"}, datetime(2026, 11, 28, 9, 10, tzinfo=UTC), None),
    ({"expiresIn": 3600}, None, 3600),
    ({"expires_in": "90"}, None, 90),
    ({"validity": 10, "validityUnit": "seconds"}, None, 10),
    ({"validity": 10}, None, 600),  # the configured unit (minutes) when the response names none
    ({"validity": 2, "unit": "hours"}, None, 7200),
    ({"validity": 5, "validityUnit": "fortnights"}, None, None),
])
def test_a_stated_expiry_is_passed_on(extra: dict[str, Any], expires_at: datetime | None,
                                      validity: int | None) -> None:
    issued = parse_issued_token({"status": "OK", "data": {"token": "T", **extra}}, frozenset({"basic"}),
                                default_unit="minutes", what="token create")
    assert (issued.expires_at, issued.validity_seconds) == (expires_at, validity)


LONG = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize("payload", [
    {"status": "OK", "data": LONG},
    {"status": "OK", "data": {"jwt": LONG, "tokenType": "Bearer", "expiresAt": "2026-11-28T09:10:00.000000Z"}},
    {"status": "OK", "data": {"b2b_token": LONG, "refresh_token": "r" * 40}},
    {"status": "OK", "data": {"token": {"value": LONG, "expiresIn": 600}}},
    {"result": {"accessKey": LONG, "requestId": "9c41e2f0-7ab3-4c2d-9e1f-0a1b2c3d4e5f"}},
    LONG,
    TextBody(LONG + "\r\n", "text/plain"),
    TextBody(LONG, ""),
])
def test_the_token_is_read_where_a_tenant_may_put_it(payload: Any) -> None:
    issued = parse_issued_token(payload, frozenset({"basic"}), default_unit="minutes", what="token create")
    assert issued.token == LONG


@pytest.mark.parametrize("payload", [
    {"status": "OK", "data": {}}, {"token": ""}, {"token": 42}, [], "T",
    {"status": "OK", "data": {"first": LONG, "second": LONG[::-1]}},  # two candidates: never a guess between them
    {"status": "OK", "data": {"link": "https://cdp.example.test/token/" + LONG}},
    {"status": "OK", "data": {"createdAt": "2026-11-28T09:10:00.000000+00:00", "requestId": LONG}},
    TextBody("<html><body>" + LONG + "</body></html>", "text/html"),
    TextBody("Token created", "text/plain"),
])
def test_a_response_without_a_token_is_an_upstream_error(payload: Any) -> None:
    with pytest.raises(UpstreamResponseError, match="token create"):
        parse_issued_token(payload, frozenset({"basic"}), default_unit="minutes", what="token create")


@pytest.mark.parametrize("payload", [{"status": "OK", "message": "Token updated"}, TextBody("", ""),
                                     TextBody("OK", "text/plain")])
def test_an_update_answered_without_a_token_is_the_same_token_extended(payload: Any) -> None:
    issued = parse_issued_token(payload, frozenset({"basic"}), default_unit="minutes", what="token update",
                                current="the-token")
    assert issued.token == "the-token" and issued.expires_at is None
