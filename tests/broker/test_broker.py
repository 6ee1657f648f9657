"""The broker against the sandbox over loopback HTTP: reuse, single flight, extension, 401 renewal, shared scope.

Every count of creations and updates is the sandbox's own (its token ledger), not the broker's opinion.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from cdp_mcp.catalog import RESOURCES, Scope
from tests.broker.conftest import OpenRig, fetch, sandbox_counts, stored_state

pytestmark = pytest.mark.anyio

SCOPES = (Scope.BASIC, Scope.SEGMENTS, Scope.CAMPAIGNS, Scope.OPT_IN)
# Resources callable without a query parameter (the others need a search text or a segment id).
PLAIN = tuple(r.name for r in RESOURCES if r.query_param is None)


async def test_200_concurrent_calls_on_a_cold_cache_create_one_token_per_scope(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server) as rig:
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(fetch, rig, SCOPES[i % len(SCOPES)], sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert counts["created_today"] == len(SCOPES)
    assert rig.sent("create") == len(SCOPES)
    assert sum(rig.sent(name, 200) for name in SCOPES) == 200
    assert rig.broker.stats.created == len(SCOPES)


async def test_a_token_in_use_is_extended_with_update_not_recreated(sandbox_server: Any, open_rig: OpenRig) -> None:
    sandbox_server.reset()
    clock = sandbox_server.clock
    async with open_rig(sandbox_server, token_validity=10) as rig:  # ten-minute tokens
        await fetch(rig, Scope.BASIC, sandbox_server)
        for _ in range(6):  # an hour of use, a call every 8 minutes: each past 80% of the lifetime
            clock.advance(minutes=8)
            await fetch(rig, Scope.BASIC, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert (counts["created_today"], counts["updated_today"]) == (1, 6)
    assert rig.sent(Scope.BASIC, 401) == 0
    assert (rig.broker.stats.created, rig.broker.stats.updated) == (1, 6)


async def test_an_idle_token_past_the_servers_expiry_is_recreated_without_a_wasted_update(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server, token_validity=10) as rig:
        await fetch(rig, Scope.BASIC, sandbox_server)
        sandbox_server.clock.advance(minutes=11)
        await fetch(rig, Scope.BASIC, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert (counts["created_today"], counts["updated_today"]) == (2, 0)
    assert rig.sent("update") == 0 and rig.sent(Scope.BASIC, 401) == 0


async def test_a_401_seen_by_many_calls_is_renewed_once_and_each_call_retried_once(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server) as rig:
        await fetch(rig, Scope.BASIC, sandbox_server)
        dead = await rig.broker.acquire(frozenset({Scope.BASIC}))
        await sandbox_server.sandbox.reset_tokens()  # the API forgets every token: the broker's clock says live
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(fetch, rig, Scope.BASIC, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
        refused = rig.sent(Scope.BASIC, 401)
        assert 1 <= refused <= 50
        assert rig.sent(Scope.BASIC, 200) == 1 + 50  # every call succeeded ...
        assert rig.sent(Scope.BASIC) == 1 + 50 + refused  # ... with at most one retry each
        assert counts["created_today"] == 1  # one renewal (the reset cleared the sandbox's ledger)
        assert rig.sent("update", 401) == 1  # renewal tried update first; the token was dead, so it created
        assert rig.broker.stats.renewed_after_401 == 1

        # A late 401 report about the replaced token must not drop the new one.
        asked = rig.sent("create") + rig.sent("update")
        await rig.broker.invalidate(frozenset({Scope.BASIC}), dead)
        assert await rig.broker.acquire(frozenset({Scope.BASIC})) != dead
        assert rig.sent("create") + rig.sent("update") == asked
        assert rig.broker.stats.renewed_after_401 == 1


async def test_a_quiet_scope_is_kept_alive_by_other_calls_within_the_horizon(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    clock = sandbox_server.clock
    async with open_rig(sandbox_server, token_validity=60) as rig:  # one-hour tokens
        await fetch(rig, Scope.SEGMENTS, sandbox_server)
        for _ in range(5):  # basic every 40 minutes; segments stays quiet for 200 minutes
            clock.advance(minutes=40)
            await fetch(rig, Scope.BASIC, sandbox_server)
        await fetch(rig, Scope.SEGMENTS, sandbox_server)  # long past a one-hour life, kept alive meanwhile
        assert (await sandbox_counts(sandbox_server))["created_today"] == 2
        assert rig.sent(Scope.SEGMENTS, 401) == 0

        for _ in range(8):  # segments quiet for 320 minutes: beyond KEEP_ALIVE (4 h) it is left to expire
            clock.advance(minutes=40)
            await fetch(rig, Scope.BASIC, sandbox_server)
        await fetch(rig, Scope.SEGMENTS, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert counts["created_today"] == 3
    assert rig.sent(Scope.SEGMENTS, 401) == 0 and rig.sent("update", 401) == 0


async def test_the_keep_alive_timer_extends_tokens_on_time_without_calls(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    clock = sandbox_server.clock
    async with open_rig(sandbox_server, token_validity=10) as rig:
        await fetch(rig, Scope.SEGMENTS, sandbox_server)
    async with open_rig(sandbox_server, token_validity=10) as rig:  # a restarted process, no call yet
        assert rig.broker.next_extension_at() is None
        await rig.broker.load()  # what keep_alive() does first: learn what to keep alive
        for _ in range(4):  # half an hour without a call: three times a token's life
            due = rig.broker.next_extension_at()
            assert due is not None and due > clock.now()
            clock.set(due)
            await rig.broker.extend_due()
        await fetch(rig, Scope.SEGMENTS, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert (counts["created_today"], counts["updated_today"]) == (1, 4)
    assert rig.sent(Scope.SEGMENTS, 401) == 0


async def test_shared_policy_creates_one_token_and_grows_it(sandbox_server: Any, open_rig: OpenRig) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server, token_policy="shared") as rig:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                for name in PLAIN:
                    tg.start_soon(fetch, rig, name, sandbox_server)
        token = await rig.broker.acquire(frozenset(PLAIN))
        state = await stored_state(rig, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert counts["created_today"] == 1
    assert 1 <= counts["updated_today"] <= len(PLAIN) - 1
    assert [record.resources for record in state.tokens.values()] == [frozenset(PLAIN)]
    assert sum(rig.sent(name, 200) for name in PLAIN) == 3 * len(PLAIN)  # never a 403 for a missing scope
    assert token == next(iter(state.tokens.values())).token
