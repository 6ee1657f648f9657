"""Fixtures for the job engine: each job store (SQLite in a temporary state directory; Redis on a real
redis-server, skipped when none is installed), and screenings running on the sandbox over loopback HTTP."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from cdp_mcp.access.audit import AuditTrail, audit_destination
from cdp_mcp.access.caller import Caller
from cdp_mcp.backend import Backend, open_backend
from cdp_mcp.jobs.model import Job
from cdp_mcp.jobs.redis_store import RedisJobStore
from cdp_mcp.jobs.service import Screenings
from cdp_mcp.jobs.sqlite_store import SqliteJobStore
from cdp_mcp.jobs.store import JOBS_FILE, JobStore
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.settings import Settings
from cdp_mcp.tools.screening import check
from tests.broker.test_redis_store import RedisServer, redis_server

__all__ = ["LOCAL", "Running", "job_store", "redis_server", "screenings_for", "settled"]

LOCAL = Caller("local", None, "stdio", None)
"""The caller of a stdio server without sign-in."""

Running = Callable[..., AbstractAsyncContextManager[tuple[Screenings, Backend]]]


@pytest.fixture(params=["sqlite", "redis"])
async def job_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    """An open job store of each kind (Redis under a prefix of this test's own)."""
    store: JobStore
    if request.param == "sqlite":
        store = SqliteJobStore(tmp_path / JOBS_FILE)
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        store = RedisJobStore(server.url, prefix=f"jobs-{secrets.token_hex(4)}")
    await store.open()
    try:
        yield store
    finally:
        await store.aclose()


@pytest.fixture
def screenings_for(sandbox_server: SandboxThread, tmp_path: Path) -> Running:
    """`async with screenings_for(**settings) as (screenings, backend)`: the service running its engine, its
    backend on the loopback sandbox (or `transport`), its state in a temporary CDP_STATE_DIR."""

    @asynccontextmanager
    async def running(*, transport: httpx2.AsyncBaseTransport | None = None, server: SandboxThread | None = None,
                      **overrides: Any) -> AsyncIterator[tuple[Screenings, Backend]]:
        target = server or sandbox_server
        values: dict[str, Any] = {"b2b_api_url": target.base_url, "tenant_hash": target.tenant_hash,
                                  "state_dir": tmp_path / "state", "max_retries": 0}
        settings = Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]
        async with open_backend(settings, clock=target.clock, transport=transport) as backend:
            audit = AuditTrail(audit_destination(settings), settings)
            await audit.open()

            async def opened() -> Backend:
                return backend

            try:
                async with Screenings(settings, audit, check, opened).running() as screenings:
                    yield screenings, backend
            finally:
                await audit.aclose()

    return running


async def settled(screenings: Screenings, job_id: str, *, caller: Caller = LOCAL, within: float = 60,
                  until: Callable[[Job], bool] | None = None) -> Job:
    """Poll the job until `until(job)` (default: it no longer runs), within `within` seconds."""
    done = until or (lambda job: not job.state.active)
    with anyio.fail_after(within):
        while not done(job := await screenings.find(caller, job_id)):
            await anyio.sleep(0.05)
    return job
