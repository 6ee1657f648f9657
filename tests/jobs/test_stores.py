"""The job stores, SQLite and Redis alike: a created job is found at once, the lease admits one holder at a time,
writes of a holder that lost its lease are refused, a finished job leaves the active list and expires with its
rows, and uploaded audiences expire too."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from cdp_mcp.jobs.engine import holder_is_dead, new_holder
from cdp_mcp.jobs.model import AudienceRecord, Checks, Given, Job, JobState, Member, Owner, ScreenedRow, new_id, now
from cdp_mcp.jobs.sqlite_store import SqliteJobStore
from cdp_mcp.jobs.store import JOBS_FILE, JobStore

pytestmark = pytest.mark.anyio

MEMBERS = [[Member(1, gcr_id=1), Member(2, email="a@example.com")], [Member(3, mobile="5550100001")]]


def new_job(**changes: object) -> Job:
    job = Job(id=new_id("scr"), owner=Owner(principal="ada"), checks=Checks(segment_id="101", channel="sms"),
              source="customers", total=3, chunks=2)
    return job.model_copy(update=changes)


def row(line: int) -> ScreenedRow:
    return ScreenedRow(line=line, customer=Given(gcr_id=line), gcr_id=line, outcome="eligible", in_segment=True,
                       contactable=True)


async def test_a_job_is_found_as_soon_as_it_is_created(job_store: JobStore) -> None:
    job = new_job()
    await job_store.create(job, MEMBERS)
    assert await job_store.job(job.id) == job
    assert await job_store.members(job.id, 0) == MEMBERS[0] and await job_store.members(job.id, 1) == MEMBERS[1]
    assert await job_store.results(job.id, 0) is None
    assert job.id in await job_store.active()
    assert await job_store.job(new_id("scr")) is None


async def test_one_holder_at_a_time_and_only_the_holder_writes(job_store: JobStore) -> None:
    job = new_job()
    await job_store.create(job, MEMBERS)
    assert await job_store.acquire(job.id, "replica-a", 5)
    assert not await job_store.acquire(job.id, "replica-b", 5)
    assert await job_store.acquire(job.id, "replica-a", 5)  # a holder may take it again
    running = job.model_copy(update={"state": JobState.RUNNING, "done_chunks": 1, "done_rows": 2})
    assert not await job_store.commit(running, 0, [row(1), row(2)], "replica-b")
    assert await job_store.results(job.id, 0) is None
    assert await job_store.commit(running, 0, [row(1), row(2)], "replica-a")
    assert await job_store.results(job.id, 0) == [row(1), row(2)]
    assert (await job_store.job(job.id)) == running
    assert await job_store.extend(job.id, "replica-a", 5) and not await job_store.extend(job.id, "replica-b", 5)
    await job_store.release(job.id, "replica-b")  # not b's to give back
    assert not await job_store.acquire(job.id, "replica-b", 5)
    await job_store.release(job.id, "replica-a")
    assert await job_store.acquire(job.id, "replica-b", 5)
    assert not await job_store.write(running, "replica-a")  # a stalled holder that was replaced writes nothing


async def test_a_lease_that_is_not_extended_runs_out(job_store: JobStore) -> None:
    job = new_job()
    await job_store.create(job, MEMBERS)
    assert await job_store.acquire(job.id, "died", 0.2)
    await anyio.sleep(0.3)
    assert await job_store.acquire(job.id, "takes-over", 5)
    assert not await job_store.extend(job.id, "died", 5)


async def test_cancel_requests_survive_the_holders_writes(job_store: JobStore) -> None:
    job = new_job()
    await job_store.create(job, MEMBERS)
    assert await job_store.acquire(job.id, "replica-a", 5)
    assert not (await job_store.control(job.id)).cancel
    await job_store.request_cancel(job.id)
    assert await job_store.write(job.model_copy(update={"state": JobState.RUNNING}), "replica-a")
    assert (await job_store.control(job.id)).cancel


async def test_a_settled_job_leaves_the_active_list_and_expires_with_its_rows(job_store: JobStore) -> None:
    job = new_job()
    await job_store.create(job, MEMBERS)
    assert await job_store.acquire(job.id, "replica-a", 5)
    assert await job_store.commit(job, 0, [row(1), row(2)], "replica-a")
    done = job.model_copy(deep=True).settle(JobState.COMPLETED, ttl=0.5)
    assert await job_store.write(done, "replica-a")
    assert job.id not in await job_store.active()
    assert (await job_store.job(job.id)) == done
    await anyio.sleep(0.7)
    await job_store.sweep()
    assert await job_store.job(job.id) is None
    assert await job_store.results(job.id, 0) is None and await job_store.members(job.id, 0) == []


async def test_uploaded_audiences_are_kept_for_their_owner_until_they_expire(job_store: JobStore) -> None:
    created = now()
    record = AudienceRecord(id=new_id("aud"), owner="ada", rows=3, chunks=2, rejected=1, rejections=[],
                            duplicates=0, created_at=created, expires_at=created + timedelta(seconds=0.5))
    await job_store.put_audience(record, MEMBERS)
    assert await job_store.audience(record.id) == record
    assert await job_store.audience_members(record.id, 1) == MEMBERS[1]
    await anyio.sleep(0.7)
    await job_store.sweep()
    assert await job_store.audience(record.id) is None and await job_store.audience_members(record.id, 0) == []


async def test_latency_is_shared(job_store: JobStore) -> None:
    assert await job_store.latency() is None
    await job_store.note_latency(12.5)
    assert await job_store.latency() == 12.5


async def test_the_sqlite_file_is_private_and_its_connection_closes(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "state" / JOBS_FILE)
    await store.open()
    await store.create(new_job(), MEMBERS)
    await store.aclose()
    assert stat.S_IMODE(os.stat(tmp_path / "state" / JOBS_FILE).st_mode) == 0o600
    with pytest.raises(RuntimeError):
        await store.job("scr_x")


def test_a_lease_holder_that_died_on_this_machine_is_recognised() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    mine = new_holder()
    machine = mine.partition(":")[0]
    assert holder_is_dead(f"{machine}:{child.pid}:x")
    assert not holder_is_dead(mine)  # this very process
    assert not holder_is_dead(f"elsewhere/1:{child.pid}:x")  # another machine's pid says nothing here
    assert not holder_is_dead(None) and not holder_is_dead("garbage")
