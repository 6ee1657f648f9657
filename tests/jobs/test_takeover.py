"""A screening survives the death of the process running it: `cdp-mcp serve --transport http` replicas on one real
redis-server (a job started on one is polled and finished through the other, which takes it over after a
`kill -9`), and a single server on the SQLite store restarted after a `kill -9`. Either way at most the chunk in
flight is screened twice, and no row is lost or doubled. The B2B API is a sandbox on loopback behind a counting
proxy."""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from cdp_mcp.catalog import Scope
from cdp_mcp.clock import SystemClock
from cdp_mcp.jobs.model import CHUNK_ROWS
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread
from tests.broker.test_redis_store import RedisServer, redis_server
from tests.faults import FaultProxy, fault_proxy
from tests.team.replicas import Replica, running_replicas

__all__ = ["redis_server"]

pytestmark = pytest.mark.anyio

ROWS = 500
CHECKS = (Scope.BASIC, Scope.OPT_IN, Scope.IS_CUSTOMER_IN_SEGMENT)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[SandboxThread]:
    """The B2B API of the replicas: a sandbox on loopback, on the real clock as the replicas are."""
    server = SandboxThread(SandboxOptions(customers=ROWS, db_path=tmp_path / "api.sqlite3"), clock=SystemClock())
    with server:
        yield server


def environment(proxy: FaultProxy, api: SandboxThread, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "OTEL_"))}
    return env | {"CDP_B2B_API_URL": proxy.url, "CDP_TENANT_HASH": api.tenant_hash, "CDP_LOG_LEVEL": "WARNING",
                  **extra}


async def start(replica: Replica) -> str:
    async with Client(replica.mcp) as client:
        result = await client.call_tool("screen_audience", {
            "customers": [{"gcr_id": n} for n in range(1, ROWS + 1)], "segment_id": "101", "channel": "email"})
    assert not result.is_error, result.content
    return str((result.structured_content or {})["screening_id"])


async def poll(replica: Replica, screening_id: str, *, until: str = "done", within: float = 90) -> dict[str, Any]:
    """get_screening through `replica` until some chunk is done (`until="progress"`) or the job no longer runs."""
    with anyio.fail_after(within):
        while True:
            async with Client(replica.mcp) as client:
                data = (await client.call_tool("get_screening", {"screening_id": screening_id})).structured_content
            assert data is not None
            if until == "progress" and data.get("done", 0) >= CHUNK_ROWS:
                return data
            if until == "done" and data["status"] not in ("queued", "running", "paused"):
                return data
            await anyio.sleep(0.1)


async def every_row(replica: Replica, screening_id: str) -> list[int]:
    lines: list[int] = []
    async with Client(replica.mcp) as client:
        table = (await client.read_resource(f"cdp://screenings/{screening_id}/results.csv")).contents[0]
    for row in str(getattr(table, "text", "")).splitlines()[1:]:
        lines.append(int(row.split(",", 1)[0]))
    return lines


def killed(replica: Replica) -> None:
    assert replica.process is not None
    replica.process.send_signal(signal.SIGKILL)
    replica.process.wait(10)


def upstream_requests(proxy: FaultProxy) -> int:
    return sum(proxy.seen[str(scope)] for scope in CHECKS)


async def test_a_replica_takes_over_the_job_of_one_killed(redis_server: RedisServer, api: SandboxThread,
                                                          tmp_path: Path) -> None:
    async with fault_proxy(api.base_url, api.options.context_path) as proxy:
        env = environment(proxy, api, CDP_REDIS_URL=redis_server.url,
                          CDP_REDIS_KEY_PREFIX=f"takeover-{secrets.token_hex(4)}")
        with running_replicas(2, env, tmp_path) as (first, second):
            screening_id = await start(first)
            progress = await poll(second, screening_id, until="progress")  # the other replica sees it run
            killed(first)
            done = await poll(second, screening_id)
            lines = await every_row(second, screening_id)
        counts = await api.sandbox.token_counts()
    assert progress["status"] in ("running", "paused") and progress["customers"] == ROWS
    assert done["status"] == "completed" and done["summary"]["customers"] == ROWS
    assert sorted(lines) == list(range(1, ROWS + 1))  # every row once
    assert upstream_requests(proxy) <= 3 * ROWS + 3 * CHUNK_ROWS  # at most the chunk in flight twice
    assert counts["created_today"] <= len(CHECKS)  # one token per scope, both replicas together


async def test_a_restarted_server_finishes_the_job_from_its_sqlite_checkpoint(api: SandboxThread,
                                                                             tmp_path: Path) -> None:
    async with fault_proxy(api.base_url, api.options.context_path) as proxy:
        env = environment(proxy, api, CDP_STATE_DIR=str(tmp_path / "shared-state"))
        with running_replicas(1, env, tmp_path / "first") as (first,):
            screening_id = await start(first)
            await poll(first, screening_id, until="progress")
            killed(first)
        with running_replicas(1, env, tmp_path / "second") as (restarted,):
            done = await poll(restarted, screening_id)
            lines = await every_row(restarted, screening_id)
    assert done["status"] == "completed" and sorted(lines) == list(range(1, ROWS + 1))
    assert upstream_requests(proxy) <= 3 * ROWS + 3 * CHUNK_ROWS
