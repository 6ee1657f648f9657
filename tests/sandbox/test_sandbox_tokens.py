"""Tokens: scope, validity and expiry on the movable clock, update, the daily creation limit, credentials."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import anyio
import pytest

from cdp_mcp.catalog import TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Header, resource
from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS

if TYPE_CHECKING:
    from tests.sandbox.conftest import Api

pytestmark = pytest.mark.anyio


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["status"], body["errorCode"]) == ("ERROR", code) and body["message"]
    return body


def _vip(api: Api) -> dict[str, str]:
    return api.ids(api.server.sample("vip"), "gcr_id")


async def test_create_returns_a_scoped_token_with_its_expiry(api: Api) -> None:
    now = api.server.clock.now()
    response = await api.create(["segments", "basic"], validity=30)
    assert response.status_code == 200
    payload = response.json()
    assert (payload["status"], payload["message"]) == ("OK", "")
    data = payload["data"]
    assert data["resources"] == ["basic", "segments"]  # catalog order
    assert (data["validity"], data["validityUnit"]) == (30, "minutes")
    assert datetime.fromisoformat(data["expiresAt"]) == now + timedelta(minutes=30)
    assert len(data["token"]) >= 32


async def test_resources_alias_is_accepted(api: Api) -> None:
    response = await api.create(["basic"], key="resources")
    assert response.status_code == 200 and response.json()["data"]["resources"] == ["basic"]


async def test_token_only_grants_the_resources_it_names(api: Api) -> None:
    token = await api.token(["basic"])
    assert (await api.call("basic", token, _vip(api))).status_code == 200
    body = _assert_error(await api.call("segments", token, _vip(api)), 403, "SCOPE_MISSING")
    assert body["data"] == {"resource": "segments"}


async def test_token_expires_on_the_clock_without_sleeping(api: Api) -> None:
    clock = api.server.clock
    assert isinstance(clock, ManualClock)
    token = await api.token(["basic"], validity=10)
    clock.advance(minutes=9, seconds=59)
    assert (await api.call("basic", token, _vip(api))).status_code == 200
    clock.advance(seconds=1)
    _assert_error(await api.call("basic", token, _vip(api)), 401, "TOKEN_EXPIRED")


async def test_validity_unit_seconds(start_sandbox_server, api_factory) -> None:
    server = start_sandbox_server(validity_unit="seconds", customers=MIN_CUSTOMERS)
    api = api_factory(server)
    response = await api.create(["basic"], validity=30)
    assert response.json()["data"]["validityUnit"] == "seconds"
    token = response.json()["data"]["token"]
    server.clock.advance(29)
    assert (await api.call("basic", token, {"gcrId": "1"})).status_code == 200
    server.clock.advance(1)
    _assert_error(await api.call("basic", token, {"gcrId": "1"}), 401, "TOKEN_EXPIRED")


async def test_update_extends_a_live_token_and_keeps_its_string(api: Api) -> None:
    clock = api.server.clock
    token = await api.token(["basic"], validity=10)
    clock.advance(minutes=8)
    response = await api.update(token, validity=10)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["token"] == token and data["resources"] == ["basic"]
    assert datetime.fromisoformat(data["expiresAt"]) == clock.now() + timedelta(minutes=10)
    clock.advance(minutes=9)  # 17 minutes after creation: alive only thanks to the update
    assert (await api.call("basic", token, _vip(api))).status_code == 200
    counts = await api.server.sandbox.token_counts()
    assert (counts["created_today"], counts["updated_today"]) == (1, 1)


async def test_update_replaces_the_resources(api: Api) -> None:
    token = await api.token(["basic"])
    response = await api.update(token, ["segments", "optIn"])
    assert response.json()["data"]["resources"] == ["segments", "optIn"]
    assert (await api.call("segments", token, _vip(api))).status_code == 200
    _assert_error(await api.call("basic", token, _vip(api)), 403, "SCOPE_MISSING")


async def test_update_refuses_dead_and_unknown_tokens(api: Api) -> None:
    token = await api.token(["basic"], validity=1)
    api.server.clock.advance(minutes=2)
    _assert_error(await api.update(token, validity=10), 401, "TOKEN_EXPIRED")
    _assert_error(await api.update("not-a-token"), 401, "TOKEN_INVALID")
    _assert_error(await api.client.post(TOKEN_UPDATE_PATH, headers=api.tenant, json={}), 401, "TOKEN_REQUIRED")


async def test_daily_creation_limit_refuses_create_but_not_update(start_sandbox_server, api_factory) -> None:
    server = start_sandbox_server(token_daily_limit=2, customers=MIN_CUSTOMERS)
    api = api_factory(server)
    first = await api.token(["basic"])
    await api.token(["basic"])
    refused = await api.create(["basic"])
    body = _assert_error(refused, 429, "TOKEN_LIMIT_REACHED")
    now = server.clock.now()
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    assert int(refused.headers["Retry-After"]) == int((midnight - now).total_seconds())
    assert body["data"] == {"limit": 2, "resetAt": midnight.isoformat().replace("+00:00", "Z")}
    assert (await api.update(first, ["basic", "segments"])).status_code == 200
    assert (await server.sandbox.token_counts())["created_today"] == 2
    server.clock.set(midnight)  # a new UTC day
    assert (await api.create(["basic"])).status_code == 200


async def test_bad_token_requests(api: Api) -> None:
    _assert_error(await api.create(["basic", "nope"]), 400, "UNKNOWN_RESOURCE")
    _assert_error(await api.create([]), 400, "UNKNOWN_RESOURCE")
    _assert_error(await api.client.post(TOKEN_CREATE_PATH, headers=api.tenant), 400, "UNKNOWN_RESOURCE")
    for validity in (0, 1441, "ten", True):
        response = await api.client.post(TOKEN_CREATE_PATH, headers=api.tenant,
                                         json={"resource": ["basic"], "validity": validity})
        _assert_error(response, 400, "INVALID_VALIDITY")
    _assert_error(await api.client.post(TOKEN_CREATE_PATH, headers=api.tenant, content=b"{oops"), 400, "BAD_REQUEST")
    _assert_error(await api.client.post(TOKEN_CREATE_PATH, headers=api.tenant, json=["basic"]), 400, "BAD_REQUEST")


async def test_tenant_credentials(api: Api) -> None:
    _assert_error(await api.create(["basic"], headers={}), 401, "TENANT_REQUIRED")
    wrong = await api.create(["basic"], headers={Header.TENANT_HASH: "x" * 32})
    _assert_error(wrong, 403, "TENANT_UNKNOWN")
    token = await api.token(["basic"])
    response = await api.call("basic", token, _vip(api), headers={Header.TENANT_HASH: "x" * 32})
    _assert_error(response, 403, "TENANT_UNKNOWN")


async def test_access_token_required_and_known(api: Api) -> None:
    response = await api.client.post(resource("basic").route, headers={**api.tenant, **_vip(api)})
    _assert_error(response, 401, "TOKEN_REQUIRED")
    _assert_error(await api.call("basic", "forged-token", _vip(api)), 401, "TOKEN_INVALID")


async def test_oauth_secret_guards_token_calls(start_sandbox_server, api_factory) -> None:
    secret = "0123456789abcdef"
    server = start_sandbox_server(oauth_key_secret=secret, customers=MIN_CUSTOMERS)
    api = api_factory(server)
    _assert_error(await api.create(["basic"]), 403, "OAUTH_SECRET_INVALID")
    wrong = await api.create(["basic"], headers={**api.tenant, Header.OAUTH_KEY_SECRET: "f" * 16})
    body = _assert_error(wrong, 403, "OAUTH_SECRET_INVALID")
    assert secret not in str(body)
    good = await api.create(["basic"], headers={**api.tenant, Header.OAUTH_KEY_SECRET: secret})
    assert good.status_code == 200
    token = good.json()["data"]["token"]
    assert (await api.call("basic", token, {"gcrId": "1"})).status_code == 200


async def test_errors_never_echo_credentials(api: Api) -> None:
    token = await api.token(["basic"], validity=1)
    api.server.clock.advance(minutes=5)
    for response in (await api.call("basic", token, _vip(api)), await api.call("segments", token, _vip(api)),
                     await api.update(token)):
        assert token not in response.text and api.server.tenant_hash not in response.text
    assert api.server.tenant_hash not in repr(api.server.options)


async def test_update_without_validity_renews_for_the_tokens_own_validity(api: Api) -> None:
    clock = api.server.clock
    token = await api.token(["basic"], validity=120)
    clock.advance(minutes=100)
    data = (await api.update(token, ["basic", "segments"])).json()["data"]
    assert data["validity"] == 120  # not shortened to the create default by an update that only re-scopes
    assert datetime.fromisoformat(data["expiresAt"]) == clock.now() + timedelta(minutes=120)


async def test_odd_validity_values_are_refused_not_crashed_on(api: Api) -> None:
    for validity in ("\u00b2", "1e3", 10.0, [10], "99999999999999999999"):
        response = await api.client.post(TOKEN_CREATE_PATH, headers=api.tenant,
                                         json={"resource": ["basic"], "validity": validity})
        _assert_error(response, 400, "INVALID_VALIDITY")
    response = await api.client.post(TOKEN_CREATE_PATH, headers=api.tenant, json={"resource": ["basic"],
                                                                                "validity": " 15 "})
    assert response.json()["data"]["validity"] == 15  # a digit string is tolerated


async def test_live_tokens_counts_only_unexpired_ones(api: Api) -> None:
    await api.token(["basic"], validity=5)
    await api.token(["basic"], validity=50)
    assert (await api.server.sandbox.token_counts())["live_tokens"] == 2
    api.server.clock.advance(minutes=10)
    counts = await api.server.sandbox.token_counts()
    assert (counts["live_tokens"], counts["created_today"]) == (1, 2)


async def test_concurrent_creations_cannot_overrun_the_daily_limit(start_sandbox_server, api_factory) -> None:
    limit = 7
    server = start_sandbox_server(token_daily_limit=limit, customers=MIN_CUSTOMERS)
    api = api_factory(server)
    statuses: list[int] = []
    tokens: list[str] = []

    async def create() -> None:
        response = await api.create(["basic"])
        statuses.append(response.status_code)
        if response.status_code == 200:
            tokens.append(response.json()["data"]["token"])

    async def read(gcr_id: int) -> None:
        token = tokens[gcr_id % len(tokens)]
        data = await api.data("basic", token, {"gcrId": str(gcr_id)})
        assert data["customerId"] == str(gcr_id)

    async with anyio.create_task_group() as tg:  # 40 racing creations over separate connections
        for _ in range(40):
            tg.start_soon(create)
    assert sorted(statuses) == [200] * limit + [429] * (40 - limit)
    assert len(set(tokens)) == limit
    async with anyio.create_task_group() as tg:  # then reads and updates interleaved on every token
        for n in range(100):
            tg.start_soon(read, 1 + n % 10)
            if n % 10 == 0:
                tg.start_soon(api.update, tokens[n % limit])
    counts = await server.sandbox.token_counts()
    assert (counts["created_today"], counts["updated_today"], counts["live_tokens"]) == (limit, 10, limit)
