"""Races around one scope's token: a failed or cancelled creation with waiters, and a cache gone stale because
another process re-scoped the token. Counts are the sandbox's own, or requests seen on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import pytest

from cdp_mcp.catalog import Scope
from cdp_mcp.client.protocols import IssuedToken, TokenApi
from cdp_mcp.clock import ManualClock
from cdp_mcp.errors import UpstreamUnavailableError
from tests.broker.conftest import OpenRig, another_broker, fetch, sandbox_counts, stored_state
from tests.helpers import free_port

pytestmark = pytest.mark.anyio

BASIC = frozenset({Scope.BASIC})


@dataclass
class Unreachable:
    """Where an API would be, with nothing listening: every request fails to connect, at once."""

    base_url: str
    tenant_hash: str = "0123456789abcdef0123456789abcdef"
    clock: ManualClock = field(default_factory=ManualClock)


def _unreachable() -> Unreachable:
    return Unreachable(f"http://127.0.0.1:{free_port()}/rcdpapi")


class HeldAnswers:
    """The real token API over HTTP, except that a creation's answer is held until `release` (a slow network):
    the server has created the token, the caller has not heard yet."""

    def __init__(self, api: TokenApi) -> None:
        self._api = api
        self.answered = anyio.Event()
        self.release = anyio.Event()

    async def create_token(self, resources: frozenset[str]) -> IssuedToken:
        issued = await self._api.create_token(resources)
        self.answered.set()
        await self.release.wait()
        return issued

    async def update_token(self, token: str, resources: frozenset[str]) -> IssuedToken:
        return await self._api.update_token(token, resources)


async def test_a_failed_creation_is_shared_by_its_waiters_not_repeated_by_each(open_rig: OpenRig) -> None:
    down = _unreachable()
    attempts: list[str] = []
    failures: list[Exception] = []

    async def call() -> None:
        try:
            await rig.broker.acquire(BASIC)
        except UpstreamUnavailableError as exc:
            failures.append(exc)

    async with open_rig(down, max_retries=0) as rig:

        async def note(request: httpx2.Request) -> None:
            attempts.append(request.url.path)

        rig.http.event_hooks["request"].append(note)
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(call)
        assert len(attempts) == 1  # one creation attempt for the 20 callers, not 20 in a row
        assert len(failures) == 20 and len({id(f) for f in failures}) == 20  # each its own exception ...
        assert len({str(f) for f in failures}) == 1  # ... saying the same thing
        await call()  # a failure is not remembered: the next call tries again
        assert len(attempts) == 2 and len(failures) == 21


async def test_cancelling_the_creating_call_keeps_its_token_for_the_waiters(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server) as rig:
        held = HeldAnswers(rig.api)
        broker = another_broker(rig, sandbox_server, api=held)
        tokens: list[str] = []
        creator = anyio.CancelScope()

        async def create() -> None:
            with creator:
                await broker.acquire(BASIC)

        async def wait_for_token() -> None:
            tokens.append(await broker.acquire(BASIC))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(create)
                await held.answered.wait()  # the server created it; its answer is on the way
                for _ in range(5):
                    tg.start_soon(wait_for_token)
                await anyio.wait_all_tasks_blocked()
                creator.cancel()  # the MCP client gave up on the first call
                held.release.set()
        await broker.aclose()
        state = await stored_state(rig, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert counts["created_today"] == 1  # the waiters got the creation the server made, not a second one
    assert len(tokens) == 5 and set(tokens) == {state.tokens[Scope.BASIC].token}
    assert len(state.ledger.creations) == 1  # and the spent creation was counted
    assert broker.stats.created == 1


async def test_a_token_another_process_rescoped_is_not_served_from_a_stale_cache(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    """Near the limit, process A re-scopes a token process B has left idle; B must notice before using it."""
    sandbox_server.reset()
    clock = sandbox_server.clock
    async with open_rig(sandbox_server, token_daily_limit=3) as b, open_rig(sandbox_server, token_daily_limit=3) as a:
        await fetch(b, Scope.SEGMENTS, sandbox_server)
        await fetch(b, Scope.BASIC, sandbox_server)
        clock.advance(minutes=11)  # segments is idle now
        await fetch(b, Scope.BASIC, sandbox_server)  # B reads the whole state under the lock: all of it "checked"
        await fetch(a, Scope.CAMPAIGNS, sandbox_server)  # 2 of 3 used: A re-scopes B's idle segments token
        assert a.broker.stats.rescoped == 1
        await fetch(b, Scope.SEGMENTS, sandbox_server)  # B's memory still says segments: it must look again
        assert b.sent(Scope.SEGMENTS, 403) == 0
        assert b.sent(Scope.SEGMENTS, 200) == 2
        assert (await sandbox_counts(sandbox_server))["created_today"] == 3
