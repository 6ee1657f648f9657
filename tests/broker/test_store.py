"""Persistence: restarts reuse live tokens, state files are private, processes on one machine share safely."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from cdp_mcp.broker import FileTokenStore, namespace_for
from cdp_mcp.catalog import Scope
from cdp_mcp.errors import TokenStoreError, TokenStoreLockedError
from tests.broker.conftest import OpenRig, another_broker, fetch, sandbox_counts

pytestmark = pytest.mark.anyio

SCOPES = (Scope.BASIC, Scope.SEGMENTS, Scope.OPT_IN)
WORKER = Path(__file__).with_name("acquire_worker.py")
ROOT = Path(__file__).resolve().parents[2]


async def test_twenty_restarts_in_a_day_create_each_scope_once(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    for _ in range(20):  # a new "process" every half hour: ten hours, longer than a token's 600 minutes
        async with open_rig(sandbox_server) as rig:
            for name in SCOPES:
                await fetch(rig, name, sandbox_server)
            assert rig.broker.stats.created in (0, len(SCOPES))
        sandbox_server.clock.advance(minutes=30)
    counts = await sandbox_counts(sandbox_server)
    assert counts["created_today"] == len(SCOPES)
    assert counts["updated_today"] == len(SCOPES)  # extended once each, by whichever process was running


async def test_state_files_are_private_and_name_no_secret(
    sandbox_server: Any, open_rig: OpenRig, tmp_path: Path
) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server) as rig:
        await fetch(rig, Scope.BASIC, sandbox_server)
        token = await rig.broker.acquire(frozenset({Scope.BASIC}))
    directory = tmp_path / "state" / "tokens"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(directory.iterdir())
    assert [f.suffix for f in files] == [".json", ".lock"]  # no temporary file left behind
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sandbox_server.tenant_hash not in path.name
    document = files[0].read_text()
    assert sandbox_server.tenant_hash not in document
    assert json.loads(document)["tokens"][Scope.BASIC]["token"] == token  # the one place a token is kept


def test_namespaces_separate_tenants_and_urls_without_naming_the_tenant() -> None:
    tenant = "0123456789abcdef0123456789abcdef"
    names = {namespace_for(url, t) for url in ("https://a.example/rcdpapi", "https://b.example/rcdpapi")
             for t in (tenant, tenant[::-1])}
    assert len(names) == 4
    assert namespace_for("https://a.example/rcdpapi/", tenant) == namespace_for("https://a.example/rcdpapi", tenant)
    assert all(tenant not in name and tenant[::-1] not in name for name in names)


async def test_a_corrupt_state_file_is_ignored_not_fatal(sandbox_server: Any, open_rig: OpenRig,
                                                         tmp_path: Path) -> None:
    sandbox_server.reset()
    store = FileTokenStore(tmp_path / "state")
    namespace = namespace_for(sandbox_server.base_url, sandbox_server.tenant_hash)
    path = store.path_for(namespace)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    async with open_rig(sandbox_server) as rig:
        await fetch(rig, Scope.BASIC, sandbox_server)
    assert (await store.load(namespace)).tokens[Scope.BASIC].resources == frozenset({Scope.BASIC})


async def test_an_unusable_state_dir_is_a_clear_error_before_any_creation(
    sandbox_server: Any, open_rig: OpenRig, tmp_path: Path
) -> None:
    sandbox_server.reset()
    not_a_dir = tmp_path / "occupied"
    not_a_dir.write_text("")
    async with open_rig(sandbox_server, state_dir=not_a_dir) as rig:
        with pytest.raises(TokenStoreError) as failed:
            await fetch(rig, Scope.BASIC, sandbox_server)
    assert "CDP_STATE_DIR" in failed.value.hint
    assert rig.sent("create") == 0


async def test_two_brokers_on_one_state_dir_never_create_twice(sandbox_server: Any, open_rig: OpenRig) -> None:
    sandbox_server.reset()
    async with (open_rig(sandbox_server) as first, open_rig(sandbox_server) as second,
                anyio.create_task_group() as tg):
        for i in range(60):
            tg.start_soon(fetch, (first, second)[i % 2], SCOPES[i % len(SCOPES)], sandbox_server)
    assert (await sandbox_counts(sandbox_server))["created_today"] == len(SCOPES)
    assert first.broker.stats.created + second.broker.stats.created == len(SCOPES)


async def test_two_processes_on_one_state_dir_never_create_twice(sandbox_server: Any, tmp_path: Path) -> None:
    sandbox_server.reset()
    env = {**os.environ, "CDP_TENANT_HASH": sandbox_server.tenant_hash,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, str(WORKER), str(tmp_path / "state"), sandbox_server.base_url,
            sandbox_server.clock.now().isoformat(), *SCOPES, ",".join(SCOPES)]
    results: list[dict[str, int]] = []

    async def run() -> None:
        done = await anyio.run_process(args, env=env, stderr=subprocess.STDOUT)
        results.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        tg.start_soon(run)
    assert (await sandbox_counts(sandbox_server))["created_today"] == len(SCOPES) + 1
    assert sum(r["created"] for r in results) == len(SCOPES) + 1


@pytest.mark.parametrize("content", [b"[]", b"\xff\xfe not utf-8", b'{"version": 1, "tokens": [1]}', b"null"])
async def test_any_unreadable_state_file_is_ignored_not_a_crash(tmp_path: Path, content: bytes) -> None:
    store = FileTokenStore(tmp_path / "state")
    path = store.path_for("ns")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    state = await store.load("ns")
    assert (state.tokens, state.ledger.creations) == ({}, [])


async def test_a_held_lock_times_out_with_a_clear_error_and_no_creation(
    sandbox_server: Any, open_rig: OpenRig, tmp_path: Path
) -> None:
    sandbox_server.reset()
    namespace = namespace_for(sandbox_server.base_url, sandbox_server.tenant_hash)
    async with open_rig(sandbox_server) as rig:
        impatient = another_broker(rig, sandbox_server, lock_timeout=0.05)
        async with FileTokenStore(rig.settings.state.state_dir).locked(namespace):  # a sibling process, stuck
            with pytest.raises(TokenStoreLockedError) as locked:
                await impatient.acquire(frozenset({Scope.BASIC}))
        assert "Do not delete" in locked.value.hint  # deleting a held lock file breaks the exclusion
        assert rig.sent("create") == 0
        await impatient.acquire(frozenset({Scope.BASIC}))  # released: it goes through
        assert rig.sent("create") == 1


HOLDER = """
import sys, anyio
from cdp_mcp.broker import FileTokenStore

async def main():
    async with FileTokenStore(sys.argv[1]).locked("ns"):
        print("held", flush=True)
        await anyio.sleep(60)

anyio.run(main)
"""


async def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    """kill -9 leaves the .lock file behind, but flock dies with its process: nothing is stale."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    store = FileTokenStore(tmp_path / "state", lock_timeout=0.2)
    async with await anyio.open_process([sys.executable, "-c", HOLDER, str(tmp_path / "state")], env=env) as holder:
        assert holder.stdout is not None
        with anyio.fail_after(20):
            assert (await holder.stdout.receive()).startswith(b"held")
        with pytest.raises(TokenStoreLockedError):
            async with store.locked("ns"):
                pass
        holder.kill()  # SIGKILL: no release, no clean-up
        await holder.wait()
    assert any(p.suffix == ".lock" for p in store.directory.iterdir())
    async with store.locked("ns"):
        pass


async def test_shutdown_is_not_held_up_by_a_sibling_holding_the_lock(sandbox_server: Any, open_rig: OpenRig) -> None:
    sandbox_server.reset()
    namespace = namespace_for(sandbox_server.base_url, sandbox_server.tenant_hash)
    async with open_rig(sandbox_server) as rig:
        await fetch(rig, Scope.BASIC, sandbox_server)
        async with FileTokenStore(rig.settings.state.state_dir).locked(namespace):  # a sibling mid-creation
            with anyio.fail_after(2):
                await rig.broker.aclose(timeout=0.05)  # the store's own lock timeout is two minutes
