"""The Redis token store: replicas on several machines share tokens and the ledger through a real redis-server.

The session starts its own redis-server (loopback, free port, no persistence, a password) and skips these tests
when none is installed. Each test keys its state under its own prefix. "Replicas" are store instances with their
own connections, as on separate machines; a dying replica is a killed subprocess.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import SecretStr

from cdp_mcp.broker import RedisTokenStore, TokenBroker, namespace_for
from cdp_mcp.broker.state import StoredState
from cdp_mcp.catalog import Scope
from cdp_mcp.errors import ConfigurationError, TokenQuotaError, TokenStoreError, TokenStoreLockedError
from cdp_mcp.redis_connection import INSTALL_COMMAND
from tests.broker.conftest import OpenRig, another_broker, sandbox_counts
from tests.helpers import RedisProcess, free_port

pytestmark = pytest.mark.anyio
redis_asyncio = pytest.importorskip("redis.asyncio", reason="redis-py is not installed: pip install -e '.[test]'")

SCOPES = (Scope.BASIC, Scope.SEGMENTS, Scope.OPT_IN, Scope.CAMPAIGNS, Scope.AFFINITY)
ROOT = Path(__file__).resolve().parents[2]
HUNTER = "hunter2hunter2hunter2hunter2hunt"  # a 32-character tenant hash that must never show


RedisServer = RedisProcess


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server on 127.0.0.1:<free port>, password-protected, nothing saved to disk."""
    if RedisProcess.binary() is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server): the Redis token store is untested")
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


MakeStore = Callable[..., RedisTokenStore]


@pytest.fixture
def prefix() -> str:
    """Keys of this test only: tests share the server, not state."""
    return f"test-{secrets.token_hex(4)}"


@pytest.fixture
async def make_store(redis_server: RedisServer, prefix: str) -> AsyncIterator[MakeStore]:
    """Factory of "replicas": each store has its own connections; all are closed at the end of the test."""
    made: list[RedisTokenStore] = []

    def make(**options: Any) -> RedisTokenStore:
        store = RedisTokenStore(options.pop("url", redis_server.url), prefix=prefix, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Any]:
    """A plain client, to look at keys as an operator would (or remove one, as an expiring lease does)."""
    client = redis_asyncio.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def _counted(count: int) -> StoredState:
    return StoredState(learned_validity=count)  # any field will do as a visible mark


# -- the store -------------------------------------------------------------------------------------------------


async def test_state_round_trips_between_replicas_under_one_key_per_namespace(
    make_store: MakeStore, raw: Any, prefix: str
) -> None:
    first, second = make_store(), make_store()
    assert (await second.load("ns")).tokens == {}  # nothing saved yet: empty, not an error
    async with first.locked("ns"):
        await first.save("ns", _counted(42))
    assert (await second.load("ns")).learned_validity == 42
    assert sorted(await raw.keys(f"{prefix}:*")) == [f"{prefix}:ns:state".encode()]  # the lease is gone
    await raw.set(f"{prefix}:ns:state", b"{not json")
    assert (await second.load("ns")).learned_validity is None  # unreadable: start empty, not crash


async def test_a_lease_excludes_another_replica_until_its_holder_releases_it(make_store: MakeStore) -> None:
    holder, impatient = make_store(), make_store(lock_timeout=0.1)
    async with holder.locked("ns"):
        started = anyio.current_time()
        with pytest.raises(TokenStoreLockedError) as locked:
            async with impatient.locked("ns"):
                pass
        assert anyio.current_time() - started >= 0.1
        assert "replica" in str(locked.value) and "lock key" in locked.value.hint
    with anyio.fail_after(1):
        async with impatient.locked("ns"):  # released: free at once
            pass


async def test_leases_serialise_read_modify_write_across_replicas(make_store: MakeStore) -> None:
    replicas = (make_store(), make_store())

    async def increment(store: RedisTokenStore) -> None:
        async with store.locked("ns"):
            state = await store.load("ns")
            await anyio.lowlevel.checkpoint()  # let the other replica try to interleave
            await store.save("ns", _counted((state.learned_validity or 0) + 1))

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(increment, replicas[i % 2])
    assert (await replicas[0].load("ns")).learned_validity == 40


HOLDER = """
import os, sys, anyio
from cdp_mcp.broker import RedisTokenStore

async def main():
    store = RedisTokenStore(os.environ["CDP_REDIS_URL"], prefix=sys.argv[1], lease=float(sys.argv[2]))
    async with store.locked("ns"):
        print("held", flush=True)
        await anyio.sleep(60)

anyio.run(main)
"""


async def test_a_lease_is_extended_while_held_and_expires_when_its_holder_dies(
    make_store: MakeStore, redis_server: RedisServer, prefix: str, raw: Any
) -> None:
    """Leases live on Redis's clock, which no test can move: the lease's time to live is read instead of waited out.
    While the holder lives it goes back up (an extension, every third of a lease); once the holder is killed it only
    runs down, and the lock is free when it runs out, with nobody cleaning up."""
    lease = 1.5  # extended every 0.5 s: a holder stalled by a busy machine for up to ~1 s still keeps it
    key = make_store().lock_key("ns")
    env = {**os.environ, "CDP_REDIS_URL": redis_server.url,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-c", HOLDER, prefix, str(lease)]
    async with await anyio.open_process(args, env=env) as holder:
        try:
            assert holder.stdout is not None
            with anyio.fail_after(20):
                assert (await holder.stdout.receive()).startswith(b"held")
            lowest = await raw.pttl(key)
            assert 0 < lowest <= lease * 1000
            with anyio.fail_after(3 * lease):  # an extension within a third of a lease, or two if one failed
                while (left := await raw.pttl(key)) <= lowest:
                    lowest = left
                    await anyio.sleep(0.02)  # polling Redis's clock
            with pytest.raises(TokenStoreLockedError):
                async with make_store(lock_timeout=0.1).locked("ns"):
                    pass
        finally:
            holder.kill()  # SIGKILL: no release
            await holder.wait()
    left = await raw.pttl(key)
    assert left <= lease * 1000  # -2 once gone: the dead holder's lease only runs down
    started = anyio.current_time()
    async with make_store(lock_timeout=10).locked("ns"):
        waited = anyio.current_time() - started
    assert waited <= max(left, 0) / 1000 + 1.0  # the lease of a dead replica runs out; nobody has to clean up


async def test_a_holder_whose_lease_ran_out_neither_saves_nor_frees_the_next_holders_lease(
    make_store: MakeStore, raw: Any
) -> None:
    stalled, successor, third = make_store(), make_store(), make_store(lock_timeout=0.05)
    successor_holds, successor_done = anyio.Event(), anyio.Event()

    async def take_over() -> None:
        async with successor.locked("ns"):
            await successor.save("ns", _counted(7))
            successor_holds.set()
            await successor_done.wait()

    async with anyio.create_task_group() as tg:
        async with stalled.locked("ns"):
            await raw.delete(stalled.lock_key("ns"))  # what Redis does when PX runs out during a long stall
            tg.start_soon(take_over)
            await successor_holds.wait()
            with pytest.raises(TokenStoreLockedError) as lost:
                await stalled.save("ns", _counted(1))
            assert "retry" in lost.value.hint
        with pytest.raises(TokenStoreLockedError):  # the stalled replica's release left the successor's lease
            async with third.locked("ns"):
                pass
        assert (await third.load("ns")).learned_validity == 7
        successor_done.set()


# -- brokers on the store: replicas sharing a tenant ------------------------------------------------------------


async def _acquire_all(broker: TokenBroker, calls: int) -> dict[str, set[str]]:
    tokens: dict[str, set[str]] = {}

    async def one(scope: str) -> None:
        tokens.setdefault(scope, set()).add(await broker.acquire(frozenset({scope})))

    async with anyio.create_task_group() as tg:
        for i in range(calls):
            tg.start_soon(one, SCOPES[i % len(SCOPES)])
    return tokens


async def test_two_replicas_on_a_cold_cache_create_each_scope_once_and_restarts_create_nothing(
    sandbox_server: Any, open_rig: OpenRig, make_store: MakeStore
) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server) as first_rig, open_rig(sandbox_server) as second_rig:
        first = another_broker(first_rig, sandbox_server, store=make_store())
        second = another_broker(second_rig, sandbox_server, store=make_store())
        seen: list[dict[str, set[str]]] = []

        async def replica(broker: TokenBroker) -> None:
            seen.append(await _acquire_all(broker, 100))

        async with anyio.create_task_group() as tg:
            tg.start_soon(replica, first)
            tg.start_soon(replica, second)
        await first.aclose()
        await second.aclose()
    assert (await sandbox_counts(sandbox_server))["created_today"] == len(SCOPES)
    assert first.stats.created + second.stats.created == len(SCOPES)
    for scope in SCOPES:  # both replicas were handed the one token of each scope
        assert len(seen[0][scope] | seen[1][scope]) == 1

    async with open_rig(sandbox_server) as rig:  # a replica restarted, or a third one started
        restarted = another_broker(rig, sandbox_server, store=make_store())
        again = await _acquire_all(restarted, len(SCOPES))
        assert restarted.stats.created == 0
        assert all(again[scope] == seen[0][scope] for scope in SCOPES)
        assert (await restarted.allowance()).used == len(SCOPES)  # the ledger is shared too
        await restarted.aclose()
    assert (await sandbox_counts(sandbox_server))["created_today"] == len(SCOPES)


async def test_the_shared_ledger_refuses_at_the_limit_and_the_refusal_reaches_the_caller_as_itself(
    sandbox_server: Any, open_rig: OpenRig, make_store: MakeStore
) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server, token_daily_limit=1) as rig:
        first = another_broker(rig, sandbox_server, store=make_store())
        second = another_broker(rig, sandbox_server, store=make_store())
        await first.acquire(frozenset({Scope.BASIC}))
        with pytest.raises(TokenQuotaError) as refused:  # raised under the lease: not wrapped, not swallowed
            await second.acquire(frozenset({Scope.SEGMENTS}))
        assert refused.value.retry_at is not None
        assert rig.sent("create") == 1  # the second replica counted the first one's creation
        await first.aclose()
        await second.aclose()


async def test_settings_choose_the_redis_store_and_secrets_never_show(
    start_sandbox_server: Any, open_rig: OpenRig, redis_server: RedisServer, prefix: str, raw: Any,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = start_sandbox_server(tenant_hash=HUNTER)
    async with open_rig(server, redis_url=redis_server.url, redis_key_prefix=prefix) as rig:
        broker = TokenBroker.for_settings(rig.api, rig.settings, base_url=server.base_url, clock=server.clock)
        tokens = {await broker.acquire(frozenset({scope})) for scope in SCOPES[:3]}
        server.clock.advance(minutes=500)  # past the extension point: an update through the store
        tokens.add(await broker.acquire(frozenset({SCOPES[0]})))
        assert rig.sent("update") >= 1
        texts = [caplog.text, repr(broker), repr(broker._store), repr(rig.settings), str(rig.settings.model_dump())]
        await broker.aclose()
    wrong = redis_server.url.replace(redis_server.password, "wrongpassword0000")
    for url in (wrong, f"redis://:{redis_server.password}@127.0.0.1:{free_port()}/0"):
        async with open_rig(server, redis_url=url, redis_key_prefix=prefix) as rig:
            broker = TokenBroker.for_settings(rig.api, rig.settings, base_url=server.base_url, clock=server.clock)
            with pytest.raises(TokenStoreError) as failed:
                await broker.acquire(frozenset({Scope.BASIC}))
            assert "CDP_REDIS_URL" in failed.value.hint
            assert rig.sent("create") == 0
            await broker.aclose()
        exc: BaseException | None = failed.value
        while exc is not None:
            texts += [str(exc), repr(exc), getattr(exc, "hint", "") or ""]
            exc = exc.__cause__ or exc.__context__
    keys = [key.decode() for key in await raw.keys(f"{prefix}:*")]
    assert keys == [f"{prefix}:{namespace_for(server.base_url, HUNTER)}:state"]
    document = (await raw.get(keys[0])).decode()
    assert len(tokens) == 3 and all(token in document for token in tokens)  # the one place tokens are kept
    blob = "\n".join([*texts, caplog.text, *keys])
    for secret in (redis_server.password, HUNTER, *tokens):
        assert secret not in blob
    assert "Token created" in caplog.text or "token create" in caplog.text  # the DEBUG lines were captured


def test_a_missing_redis_client_is_a_configuration_error_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # as if the [redis] extra were not installed
    with pytest.raises(ConfigurationError) as missing:
        RedisTokenStore(SecretStr("redis://:secret-password@127.0.0.1:6379/0"))
    assert INSTALL_COMMAND in missing.value.hint
    assert "secret-password" not in str(missing.value) + missing.value.hint
