"""Safe retries: connection failures, 5xx and 429 are retried with capped, jittered backoff inside a budget.

Faults are injected in front of the real sandbox: an ASGI wrapper answers the first N requests of a route
itself (served through httpx2.ASGITransport), and a transport wrapper raises connection errors before
handing requests to the real loopback transport. The retry policy's sleep and clock are fakes: no waiting.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from cdp_mcp.catalog import TOKEN_CREATE_PATH, resource
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.resources.profile import Profile
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.errors import OutcomeUnknownError, RateLimitedError, TokenQuotaError, UpstreamUnavailableError
from tests.client.rig import ClientRig, OpenRig
from tests.faults import Fault, FaultInjector

pytestmark = pytest.mark.anyio

BASIC = resource("basic").route


class Flaky(httpx2.AsyncBaseTransport):
    """Raises the given connection errors for the first requests to `path`, then uses the real transport."""

    def __init__(self, path: str, errors: list[type[httpx2.TransportError]]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.path, self.errors, self.attempts = path, list(errors), 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith(self.path):
            self.attempts += 1
            if self.errors:
                raise self.errors.pop(0)("injected", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def vip(rig: ClientRig) -> CustomerIdentity:
    return CustomerIdentity(gcr_id=rig.server.sample("vip").gcr_id)


BUSY = {"status": "ERROR", "message": "try later", "errorCode": "BUSY", "data": None}


@pytest.fixture
def faulty(sandbox_server: Any) -> Any:
    """`faulty(route, 503, (429, {"Retry-After": "3"}), body=...)`: the sandbox's app answering the first requests
    of `route` with those statuses (and headers), once each."""
    sandbox_server.reset()

    def make(path: str, *faults: int | tuple[int, dict[str, str]], body: Any = None) -> FaultInjector:
        payload = json.dumps(body if body is not None else BUSY).encode()
        app = FaultInjector(sandbox_server.sandbox.app)
        app.fail(path, *(Fault(status=status, body=payload, headers={"content-type": "application/json", **extra},
                               times=1)
                         for status, extra in (f if isinstance(f, tuple) else (f, {}) for f in faults)))
        return app

    return make


async def test_5xx_then_success_backs_off_exponentially(sandbox_server: Any, open_rig: OpenRig, faulty: Any) -> None:
    app = faulty(BASIC, 503, 502)
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app)) as rig:
        assert isinstance(await rig.client.fetch("basic", vip(rig)), Profile)
    assert app.seen["basic"] == 3
    assert rig.timer.waits == [0.25, 0.5]  # jitter pinned at its ceiling: base * 2**n


async def test_persistent_5xx_gives_up_after_max_retries(sandbox_server: Any, open_rig: OpenRig, faulty: Any) -> None:
    app = faulty(BASIC, *[500] * 10)
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app), max_retries=3) as rig:
        with pytest.raises(UpstreamUnavailableError, match="HTTP 500"):
            await rig.client.fetch("basic", vip(rig))
    assert app.seen["basic"] == 4 and rig.timer.waits == [0.25, 0.5, 1.0]


async def test_429_honours_retry_after(sandbox_server: Any, open_rig: OpenRig, faulty: Any) -> None:
    app = faulty(BASIC, (429, {"Retry-After": "3"}))
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app)) as rig:
        assert isinstance(await rig.client.fetch("basic", vip(rig)), Profile)
    assert rig.timer.waits == [3.0] and app.seen["basic"] == 2


@pytest.mark.parametrize("value", ["\u00b2", "soon", "-5"])
async def test_an_unreadable_retry_after_falls_back_to_backoff(sandbox_server: Any, open_rig: OpenRig, faulty: Any,
                                                               value: str) -> None:
    app = faulty(BASIC, (429, {"Retry-After": value}))  # "\u00b2" passes str.isdigit() but not float()
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app)) as rig:
        assert isinstance(await rig.client.fetch("basic", vip(rig)), Profile)
    assert rig.timer.waits == [0.25] and app.seen["basic"] == 2


async def test_a_rate_limit_hidden_in_a_200_envelope_is_backed_off_too(sandbox_server: Any, open_rig: OpenRig,
                                                                         faulty: Any) -> None:
    app = faulty(BASIC, 200, body={"status": "ERROR", "message": "Rate limit exceeded, slow down", "data": None})
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app)) as rig:
        assert isinstance(await rig.client.fetch("basic", vip(rig)), Profile)
    assert rig.timer.waits == [0.25] and app.seen["basic"] == 2


async def test_retry_after_beyond_the_budget_fails_at_once(sandbox_server: Any, open_rig: OpenRig,
                                                           faulty: Any) -> None:
    app = faulty(BASIC, (429, {"Retry-After": "60"}))
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app), budget=20.0) as rig:
        with pytest.raises(RateLimitedError) as caught:
            await rig.client.fetch("basic", vip(rig))
    assert app.seen["basic"] == 1 and rig.timer.waits == []
    assert "60 s" in caught.value.hint


async def test_the_budget_bounds_the_total_wait(sandbox_server: Any, open_rig: OpenRig, faulty: Any) -> None:
    app = faulty(BASIC, *[503] * 20)
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app), max_retries=10, budget=1.0) as rig:
        with pytest.raises(UpstreamUnavailableError):
            await rig.client.fetch("basic", vip(rig))
    assert rig.timer.waits == [0.25, 0.5] and sum(rig.timer.waits) <= 1.0 and app.seen["basic"] == 3


async def test_429_that_is_the_token_limit_is_never_retried(sandbox_server: Any, open_rig: OpenRig,
                                                            faulty: Any) -> None:
    limit = {"status": "ERROR", "message": "Daily token limit reached", "errorCode": "TOKEN_LIMIT_REACHED",
             "data": {"limit": 100, "resetAt": "2026-11-29T00:00:00Z"}}
    app = faulty(TOKEN_CREATE_PATH, (429, {"Retry-After": "5"}), body=limit)
    async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app)) as rig:
        with pytest.raises(TokenQuotaError) as caught:
            await rig.client.fetch("basic", vip(rig))
    assert app.seen["create"] == 1 and rig.timer.waits == []
    assert caught.value.retry_at is not None and caught.value.retry_at.isoformat() == "2026-11-29T00:00:00+00:00"


async def test_connection_errors_are_retried_over_real_loopback(sandbox_server: Any, open_rig: OpenRig) -> None:
    sandbox_server.reset()
    flaky = Flaky(BASIC, [httpx2.ConnectError, httpx2.ReadTimeout])
    async with open_rig(sandbox_server, transport=flaky) as rig:
        assert isinstance(await rig.client.fetch("basic", vip(rig)), Profile)
    assert flaky.attempts == 3 and len(rig.timer.waits) == 2


async def test_persistent_connection_failure_is_upstream_unavailable(sandbox_server: Any, open_rig: OpenRig) -> None:
    sandbox_server.reset()
    flaky = Flaky(BASIC, [httpx2.ConnectError] * 10)
    async with open_rig(sandbox_server, transport=flaky, max_retries=2) as rig:
        with pytest.raises(UpstreamUnavailableError, match="ConnectError") as caught:
            await rig.client.fetch("basic", vip(rig))
    assert flaky.attempts == 3 and "doctor" in caught.value.hint


async def test_token_creation_is_retried_only_when_it_cannot_have_reached_the_server(
        sandbox_server: Any, open_rig: OpenRig, faulty: Any) -> None:
    sandbox_server.reset()
    for errors, attempts, ok in (([httpx2.ConnectError], 2, True), ([httpx2.ReadTimeout], 1, False)):
        flaky = Flaky(TOKEN_CREATE_PATH, errors)
        async with open_rig(sandbox_server, transport=flaky) as rig:
            if ok:
                await rig.api.create_token(frozenset({"basic"}))
            else:
                with pytest.raises(UpstreamUnavailableError) as caught:
                    await rig.api.create_token(frozenset({"basic"}))
        assert flaky.attempts == attempts
        if not ok:
            assert isinstance(caught.value, OutcomeUnknownError)  # sent, then no answer: it may have been made
    for status in (500, 502, 503, 504):  # a gateway may answer after the vendor created the token: never repeated
        app = faulty(TOKEN_CREATE_PATH, status)
        async with open_rig(sandbox_server, transport=httpx2.ASGITransport(app=app)) as rig:
            with pytest.raises(OutcomeUnknownError, match=f"HTTP {status}"):
                await rig.api.create_token(frozenset({"basic"}))
        assert app.seen["create"] == 1 and rig.timer.waits == []


def test_backoff_is_full_jitter_under_a_cap() -> None:
    high = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 1.0)
    assert [high.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert RetryPolicy(random=lambda: 0.0).backoff(5) == 0.0
    assert high.backoff(10_000) == 4.0
