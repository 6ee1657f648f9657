"""The job engine on the sandbox over loopback HTTP: every row screened as the sandbox's own data says, resumed
from its checkpoint by another engine, paused by a throttling API and stopped by a long outage or a spent quota
(then resumed on request), cancelled within a chunk, audited per chunk, private to its owner and deleted after
its TTL."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from jobs_truth import truth

from cdp_mcp.access.caller import Caller
from cdp_mcp.catalog import resource
from cdp_mcp.errors import AuditUnavailableError, ScreeningLimitError, ScreeningNotFoundError
from cdp_mcp.jobs import audience as parsing
from cdp_mcp.jobs.model import CHUNK_ROWS, Checks, Job, JobState, new_id
from cdp_mcp.jobs.service import Intake, Screenings, owner_of
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.tools.audience_results import csv_text, screening_result
from cdp_mcp.tools.untrusted import Policy
from tests.faults import Fault, fault_proxy
from tests.jobs.conftest import LOCAL, Running, settled

pytestmark = pytest.mark.anyio


def segment_of(server: SandboxThread) -> str:
    return str(server.sandbox.store.scalar("SELECT segment_id FROM segment_members GROUP BY segment_id "
                                           "ORDER BY COUNT(*) DESC"))


def intake(customers: list[dict[str, Any]]) -> Intake:
    return Intake(parsing.from_customers(customers, max_rows=100_000), "customers")


async def all_rows(screenings: Screenings, job_id: str, only: Any = None) -> list[dict[str, Any]]:
    job = await screenings.find(LOCAL, job_id)
    rows, cursor = [], None
    while True:
        page = await screenings.page(job, cursor=cursor, only=only)
        rows += [r.model_dump(exclude_none=True) for r in page.rows]
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


async def test_every_row_is_screened_as_the_sandbox_data_says(screenings_for: Running,
                                                             sandbox_server: SandboxThread) -> None:
    segment = segment_of(sandbox_server)
    customers = [{"gcr_id": n} for n in range(1, 231)] + [{"email": "nobody@example.invalid"}, {"gcr_id": 3}]
    before = await sandbox_server.sandbox.token_counts()
    async with screenings_for() as (screenings, _):
        job = await screenings.start(LOCAL, intake(customers), Checks(segment_id=segment, channel="sms",
                                                                       recent_days=60))
        assert (await screenings.find(LOCAL, job.id)).state is JobState.QUEUED  # found at once
        done = await settled(screenings, job.id)
        rows = await all_rows(screenings, job.id)
        eligible = await all_rows(screenings, job.id, "eligible")
        errors = await all_rows(screenings, job.id, "errors")
        text = await csv_text(screenings.rows(done), redact_pii=False, policy=Policy())
        table = list(csv.DictReader(io.StringIO(text)))
    after = await sandbox_server.sandbox.token_counts()
    assert done.state is JobState.COMPLETED and done.total == 231 and done.duplicates == 1
    assert done.chunks == 3 and done.done_chunks == 3
    expected = Counter()
    for row in rows[:230]:
        member, sms, days = truth(sandbox_server, row["gcr_id"], segment)
        outcome = ("not_in_segment" if not member else "not_contactable" if not sms
                   else "lapsed" if days is None or days > 60 else "eligible")
        assert row["outcome"] == outcome, row
        expected[outcome] += 1
    assert rows[230]["outcome"] == "not_found" and rows[230]["customer"] == {"email": "nobody@example.invalid"}
    assert [r["line"] for r in rows] == [*range(1, 231), 231]
    counts = done.counts.model_dump()
    assert counts == {"customers": 231, "not_found": 1, "errors": 0, **{k: expected[k] for k in
                      ("eligible", "not_in_segment", "not_contactable", "lapsed")}}
    assert [r["line"] for r in eligible] == [r["line"] for r in rows if r["outcome"] == "eligible"]
    assert [r["line"] for r in errors] == [231]
    assert len(table) == 231 and table[0]["outcome"] == rows[0]["outcome"] and table[0]["gcr_id"] == "1"
    assert after["created_today"] - before["created_today"] <= 4  # one per scope at most: segment, optIn, basic, gcrId
    assert done.requests == 3 * 231 + 1  # three checks a row, and one gcr lookup for the email


async def test_another_engine_resumes_from_the_checkpoint(screenings_for: Running,
                                                          sandbox_server: SandboxThread) -> None:
    segment = segment_of(sandbox_server)
    customers = [{"gcr_id": n} for n in range(1, 501)]
    async with screenings_for() as (first, _):
        job = await first.start(LOCAL, intake(customers), Checks(segment_id=segment, channel="email"))
        await settled(first, job.id, until=lambda j: j.done_chunks >= 2)
    async with screenings_for() as (second, _):  # the same state directory: a restart
        stopped = await second.find(LOCAL, job.id)
        assert stopped.state is JobState.RUNNING and 2 <= stopped.done_chunks < 5
        done = await settled(second, job.id)
        rows = await all_rows(second, job.id)
    assert done.state is JobState.COMPLETED
    assert [r["line"] for r in rows] == list(range(1, 501))  # no row lost, none twice
    assert done.counts.customers == 500
    assert done.requests <= 3 * 500 + 3 * CHUNK_ROWS  # at most the chunk in flight repeated
    for row in rows[::97]:
        member, _, _ = truth(sandbox_server, row["gcr_id"], segment)
        assert row["in_segment"] is member


async def test_a_job_whose_replica_elsewhere_died_is_taken_over_when_its_lease_runs_out(
        screenings_for: Running, sandbox_server: SandboxThread) -> None:
    elsewhere = "another-machine/1:4242:dead"  # not this machine: its process cannot be looked at
    members = intake([{"gcr_id": n} for n in range(1, 121)]).audience.members
    job = Job(id=new_id("scr"), owner=owner_of(LOCAL), checks=Checks(segment_id=segment_of(sandbox_server),
                                                                      channel="sms"),
              source="customers", total=len(members), chunks=2)
    async with screenings_for() as (screenings, _):
        store = await screenings.ready()  # the engine first looks after SCAN_SECONDS: this replica has it first
        await store.create(job, [members[:CHUNK_ROWS], members[CHUNK_ROWS:]])
        assert await store.acquire(job.id, elsewhere, 1.5)  # ...and then it died
        taken = anyio.current_time()
        done = await settled(screenings, job.id)
        waited = anyio.current_time() - taken
    assert done.state is JobState.COMPLETED and done.counts.customers == 120
    assert waited >= 1.0  # not before the lease ran out


async def test_a_throttling_api_pauses_the_job_honouring_retry_after(screenings_for: Running,
                                                                     sandbox_server: SandboxThread) -> None:
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as proxy:
        proxy.fail(resource("optIn").route, Fault(status=429, body=b'{"status":"ERROR","message":"slow down"}',
                                                  headers={"content-type": "application/json", "Retry-After": "1"},
                                                  times=4))
        async with screenings_for(b2b_api_url=proxy.url) as (screenings, _):
            job = await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 41)]),
                                         Checks(segment_id=segment_of(sandbox_server), channel="sms"))
            paused = await settled(screenings, job.id, until=lambda j: j.state is JobState.PAUSED)
            done = await settled(screenings, job.id)
    assert "rate limiting" in (paused.message or "") and paused.retry_at is not None
    assert done.state is JobState.COMPLETED and done.counts.errors == 0 and done.counts.customers == 40


async def test_requests_in_flight_stay_within_the_screen_concurrency(screenings_for: Running,
                                                                     sandbox_server: SandboxThread) -> None:
    checks = Checks(segment_id=segment_of(sandbox_server), channel="email")
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as proxy:
        proxy.fail(resource("basic").route, Fault(delay=0.05))  # a slow API: the rows' requests pile up
        async with screenings_for(b2b_api_url=proxy.url, screen_concurrency=3) as (screenings, _):
            await settled(screenings, (await screenings.start(LOCAL, intake([{"gcr_id": 1}]), checks)).id)
            proxy.most_in_flight = 0  # the tokens are made: from here every request is a customer's
            done = await settled(screenings, (await screenings.start(
                LOCAL, intake([{"gcr_id": n} for n in range(1, 121)]), checks)).id)
    assert done.state is JobState.COMPLETED and done.counts.customers == 120
    assert proxy.most_in_flight == 3


async def test_a_long_outage_stops_the_job_and_resume_finishes_it(screenings_for: Running,
                                                                  sandbox_server: SandboxThread) -> None:
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as proxy, \
            screenings_for(b2b_api_url=proxy.url, call_timeout=0.25) as (screenings, _):
        proxy.fail(resource("basic").route, Fault(status=503, body=b"{}"))
        job = await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 151)]),
                                     Checks(segment_id=segment_of(sandbox_server), channel="push"))
        stopped = await settled(screenings, job.id, within=30)
        proxy.faults.clear()  # the API is back
        await screenings.resume(LOCAL, job.id)
        done = await settled(screenings, job.id)
    assert stopped.state is JobState.STOPPED and stopped.stops == 1 and stopped.expires_at is not None
    assert "kept failing" in (stopped.message or "") and "resume" in (stopped.message or "")
    assert done.state is JobState.COMPLETED and done.counts.errors == 0 and done.counts.customers == 150


async def test_a_spent_token_quota_stops_the_job_saying_when(screenings_for: Running,
                                                             start_sandbox_server: Callable[..., SandboxThread]
                                                             ) -> None:
    private = start_sandbox_server(token_daily_limit=2)
    async with screenings_for(server=private) as (screenings, _):
        job = await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 11)]),
                                     Checks(segment_id="101", channel="sms"))
        stopped = await settled(screenings, job.id)
        again = await screenings.resume(LOCAL, job.id)
        assert again.state is JobState.QUEUED
        stopped_again = await settled(screenings, job.id)
    assert stopped.state is JobState.STOPPED and "token creations are spent" in (stopped.message or "")
    assert "possible again" in (stopped.message or "") and stopped.done_rows == 0
    assert stopped_again.state is JobState.STOPPED and stopped_again.stops == 2


async def test_cancel_stops_within_a_chunk_and_keeps_what_was_screened(screenings_for: Running,
                                                                       sandbox_server: SandboxThread) -> None:
    async with screenings_for() as (screenings, _):
        job = await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 1001)]),
                                     Checks(segment_id=segment_of(sandbox_server), channel="sms"))
        seen = (await settled(screenings, job.id, until=lambda j: j.done_chunks >= 1)).done_chunks
        await screenings.cancel(LOCAL, job.id)
        done = await settled(screenings, job.id)
        rows = await all_rows(screenings, job.id)
    assert done.state is JobState.CANCELLED and done.done_chunks <= seen + 1 < done.chunks
    assert "Cancelled after" in (done.message or "") and len(rows) == done.done_rows


async def test_jobs_are_private_capped_per_person_and_deleted_after_their_ttl(screenings_for: Running,
                                                                              sandbox_server: SandboxThread) -> None:
    other = Caller("mallory@corp.example", None, "http", frozenset({"cdp:read"}))
    async with screenings_for(screen_max_jobs=1, screen_ttl=1) as (screenings, _):
        job = await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 121)]),
                                     Checks(segment_id="101", channel="sms"))
        with pytest.raises(ScreeningLimitError) as capped:
            await screenings.start(LOCAL, intake([{"gcr_id": 1}]), Checks(segment_id="101", channel="sms"))
        assert job.id in capped.value.message and "CDP_SCREEN_MAX_JOBS" in capped.value.message
        with pytest.raises(ScreeningNotFoundError) as foreign:
            await screenings.find(other, job.id)
        with pytest.raises(ScreeningNotFoundError) as unknown:
            await screenings.find(LOCAL, "scr_" + "x" * 22)
        assert foreign.value.message.replace(job.id, "ID") == unknown.value.message.replace("scr_" + "x" * 22, "ID")
        await settled(screenings, job.id)
        await anyio.sleep(1.2)
        await screenings.store.sweep()
        with pytest.raises(ScreeningNotFoundError):
            await screenings.find(LOCAL, job.id)


async def test_each_chunk_is_audited_with_hashed_identifiers(screenings_for: Running, tmp_path: Path,
                                                             sandbox_server: SandboxThread) -> None:
    audit = tmp_path / "audit.jsonl"
    email = sandbox_server.sample("vip").email
    async with screenings_for(audit_log=str(audit)) as (screenings, _):
        job = await screenings.start(LOCAL, intake([{"email": email}, *({"gcr_id": n} for n in range(2, 151))]),
                                     Checks(segment_name="High Value", channel="email"))
        done = await settled(screenings, job.id)
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["start", "chunk", "chunk", "finish"]
    assert {line["screening_id"] for line in lines} == {job.id} and {line["principal"] for line in lines} == {"local"}
    chunk = lines[1]
    assert chunk["rows"] == 100 and len(chunk["identifiers"]) == 100 and "searchSegments" in chunk["resources"]
    assert set(chunk["identifiers"][0]) == {"email"} and email not in audit.read_text()
    assert done.error is None and done.name_search.exact_id  # High Value exists: some row carries it


async def test_a_segment_name_nobody_carries_is_said_after_the_run(screenings_for: Running) -> None:
    async with screenings_for() as (screenings, _):
        job = await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 31)]),
                                     Checks(segment_name="No Such Segment", channel="email"))
        done = await settled(screenings, job.id)
    assert done.state is JobState.COMPLETED and "No segment named 'No Such Segment'" in (done.error or "")


async def test_no_row_is_kept_unaudited_the_job_waits_for_the_audit_trail(screenings_for: Running, tmp_path: Path,
                                                                          sandbox_server: SandboxThread) -> None:
    """A chunk's audit line is written before its rows are kept: while the trail cannot be written the job pauses
    (and a new screening is refused), and once it can the job goes on with nothing missing from the trail."""
    audit = tmp_path / "audit.jsonl"
    checks = Checks(segment_id=segment_of(sandbox_server), channel="sms")
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as proxy, \
            screenings_for(b2b_api_url=proxy.url, audit_log=str(audit)) as (screenings, _):
        proxy.fail(resource("basic").route, Fault(status=503, body=b"{}"))  # hold the first chunk in a pause
        job = await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 151)]), checks)
        await settled(screenings, job.id, until=lambda j: j.state is JobState.PAUSED)
        audit.rename(tmp_path / "audit.jsonl.1")
        audit.mkdir()  # the trail's path can no longer be written
        with pytest.raises(AuditUnavailableError):
            await screenings.start(LOCAL, intake([{"gcr_id": n} for n in range(1, 151)]), checks)
        proxy.faults.clear()
        waiting = await settled(screenings, job.id, until=lambda j: "audit trail" in (j.message or ""))
        audit.rmdir()
        done = await settled(screenings, job.id)
        assert await screenings.store.active() == []  # the refused screening never existed
    lines = [json.loads(line) for path in (tmp_path / "audit.jsonl.1", audit) for line in path.read_text().splitlines()]
    assert waiting.state is JobState.PAUSED and waiting.done_rows == 0
    assert [line["event"] for line in lines] == ["start", "chunk", "chunk", "finish"]
    assert done.state is JobState.COMPLETED and done.counts.customers == 150 and done.counts.errors == 0


async def test_the_estimate_is_the_pace_screenings_kept_here(screenings_for: Running,
                                                            sandbox_server: SandboxThread) -> None:
    """The time a person confirms is the time a screening took here, per request: not the API's latency alone
    (between requests rows wait for their chunk, chunks for their audit line and checkpoint)."""
    checks = Checks(segment_id=segment_of(sandbox_server), channel="email")
    audience = intake([{"gcr_id": n} for n in range(1, 601)])
    async with screenings_for() as (screenings, _):
        first = await settled(screenings, (await screenings.start(LOCAL, audience, checks)).id)
        took = (first.updated_at - first.created_at).total_seconds()
        cost = await screenings.estimate(audience, checks, gcr_lookups=True)
        poll_after = screening_result(await screenings.start(LOCAL, audience, checks)).poll_after
    seen = f"took {took:.2f} s, estimated {cost.seconds} s, poll after {poll_after} s"
    assert cost.requests == first.requests
    assert took / 1.5 <= cost.seconds <= took * 1.5 + 1, seen
    assert poll_after is not None and poll_after <= max(2, math.ceil(took / 5)), seen  # about a tenth of the rest
