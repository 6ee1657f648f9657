"""Start-up costs nothing of the job machinery: a server lists its tools without loading the job engine, its
stores or audience parsing, and creates no job store; the screening service is made when something first asks for
it, or when its engine's first look for jobs left by an earlier run is due, and such a job is then taken up
without any call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from cdp_mcp.access.audit import AuditTrail, audit_destination
from cdp_mcp.backend import Backend, open_backend
from cdp_mcp.jobs import SCAN_SECONDS
from cdp_mcp.jobs.model import CHUNK_ROWS, Checks, Job, JobState, new_id
from cdp_mcp.jobs.service import Screenings, owner_of
from cdp_mcp.jobs.sqlite_store import SqliteJobStore
from cdp_mcp.jobs.store import JOBS_FILE
from cdp_mcp.lifespan import ScreeningsSlot
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.settings import Settings
from cdp_mcp.tools.screening import check
from tests.jobs.conftest import LOCAL
from tests.jobs.test_engine import intake, segment_of

pytestmark = pytest.mark.anyio

LIST_TOOLS = """
import json, sys
import anyio
from mcp import Client
from cdp_mcp.server import build_server

async def main():
    async with Client(build_server()) as client:
        tools = (await client.list_tools()).tools
    print(json.dumps({"tools": len(tools), "jobs": sorted(m for m in sys.modules if m.startswith("cdp_mcp.jobs"))}))

anyio.run(main)
"""


def test_a_server_lists_its_tools_without_loading_the_job_engine_or_creating_its_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDP_")}
    env |= {"CDP_STATE_DIR": str(tmp_path), "CDP_LOG_LEVEL": "ERROR"}
    out = subprocess.run([sys.executable, "-c", LIST_TOOLS], env=env, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    seen = json.loads(out)
    assert seen["tools"] >= 19  # the screening tools are served...
    loaded = set(seen["jobs"])  # ...from the models of their results, not the machinery that runs them
    assert loaded.isdisjoint({"cdp_mcp.jobs.service", "cdp_mcp.jobs.engine", "cdp_mcp.jobs.audience",
                              "cdp_mcp.jobs.store", "cdp_mcp.jobs.sqlite_store", "cdp_mcp.jobs.redis_store"}), loaded
    assert not (tmp_path / JOBS_FILE).exists()


async def test_a_job_left_by_an_earlier_run_is_taken_up_when_the_first_look_is_due_without_any_call(
        sandbox_server: SandboxThread, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, b2b_api_url=sandbox_server.base_url,  # type: ignore[call-arg]
                        tenant_hash=sandbox_server.tenant_hash, state_dir=tmp_path, max_retries=0)
    members = intake([{"gcr_id": n} for n in range(1, 121)]).audience.members
    job = Job(id=new_id("scr"), owner=owner_of(LOCAL), checks=Checks(segment_id=segment_of(sandbox_server),
                                                                      channel="email"),
              source="customers", total=len(members), chunks=2)
    earlier = SqliteJobStore(tmp_path / JOBS_FILE)  # the run that queued it, then stopped
    await earlier.open()
    try:
        await earlier.create(job, [members[:CHUNK_ROWS], members[CHUNK_ROWS:]])
        async with open_backend(settings, clock=sandbox_server.clock) as backend:
            audit = AuditTrail(audit_destination(settings), settings)
            await audit.open()
            made: list[float] = []

            async def opened() -> Backend:
                return backend

            def make() -> Screenings:
                made.append(anyio.current_time())
                return Screenings(settings, audit, check, opened)

            slot = ScreeningsSlot(make, first_look=0.5)
            async with anyio.create_task_group() as tasks:
                started = anyio.current_time()
                tasks.start_soon(slot.keep)
                await anyio.sleep(0.2)
                assert not made  # nobody asked, and the first look is not due
                taken: float | None = None
                with anyio.fail_after(60):
                    while (current := await earlier.job(job.id)) is None or current.state.active:
                        if taken is None and current is not None and current.state is not JobState.QUEUED:
                            taken = anyio.current_time()
                        await anyio.sleep(0.05)
                await slot.stop()
            await audit.aclose()
    finally:
        await earlier.aclose()
    assert made and made[0] - started >= 0.5
    assert taken is not None and taken - made[0] < SCAN_SECONDS  # looked when due, not a scan interval later
    assert current is not None and current.state is JobState.COMPLETED and current.counts.customers == 120
