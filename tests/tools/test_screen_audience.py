"""screen_audience, get_screening and cancel_screening through the SDK client in process, both protocol eras: a
small audience comes back whole, a large one as a handle that is followed to its summary, pages, JSON and CSV
resources; a large run is confirmed through elicitation, or refused with the estimate and `confirm: true`."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from tool_results import Connect, data_of

from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.tools.untrusted import OMITTED, UNTRUSTED_META
from tests.tools.test_untrusted import HOSTILE, INVISIBLE, MARKUP, inert

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]  # 2026-07-28 (in process: modern), and the 2025-11-25 handshake


def segment_of(server: SandboxThread) -> str:
    return str(server.sandbox.store.scalar("SELECT segment_id FROM segment_members GROUP BY segment_id "
                                           "ORDER BY COUNT(*) DESC"))


async def finished(client: Client, screening_id: str, **arguments: Any) -> dict[str, Any]:
    """get_screening until the screening no longer runs (within a minute)."""
    with anyio.fail_after(60):
        while True:
            data = data_of(await client.call_tool("get_screening", {"screening_id": screening_id, **arguments}))
            if data["status"] not in ("queued", "running", "paused"):
                return data
            await anyio.sleep(0.1)


@pytest.mark.parametrize("mode", MODES)
async def test_a_small_audience_comes_back_whole_with_rejections_by_line(mode: str, connect: Connect,
                                                                         sandbox_server: SandboxThread) -> None:
    vip, lapsed = sandbox_server.sample("vip"), sandbox_server.sample("lapsed")
    customers = [{"email": vip.email}, {"gcr_id": lapsed.gcr_id}, {"email": "broken"}, {"gcrId": lapsed.gcr_id},
                 {"mobile": "5550100002"}, {"nickname": "no identifier"}]
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with connect(mode=mode) as client:
        data = data_of(await client.call_tool("screen_audience", {
            "customers": customers, "segment_name": "High Value", "channel": "email", "recent_days": 60},
            progress_callback=on_progress))
    assert "screening_id" not in data and data["status"] == "completed" and data["customers"] == 3
    assert data["duplicates"] == 1 and data["rejected"] == 2
    assert [(r["line"], "email" in r["reason"] or "no identifier" in r["reason"]) for r in data["rejections"]] == [
        (3, True), (6, True)]
    rows = {r["line"]: r for r in data["rows"]}
    assert rows[1]["customer"] == {"email": vip.email} and rows[1]["gcr_id"] == vip.gcr_id
    assert "customer" not in rows[2] and rows[2]["gcr_id"] == lapsed.gcr_id  # keyed by its own gcr_id
    assert rows[2]["outcome"] in ("lapsed", "not_in_segment", "not_contactable")  # last bought 130 days ago
    assert rows[5]["customer"] == {"mobile": "5550100002"}
    assert sum(data["summary"][k] for k in data["summary"] if k != "customers") == data["summary"]["customers"] == 3
    assert sorted(progress) == [1, 2, 3]


@pytest.mark.parametrize("mode", MODES)
async def test_a_large_audience_is_a_handle_followed_to_pages_json_and_csv(mode: str, connect: Connect,
                                                                           sandbox_server: SandboxThread) -> None:
    segment = segment_of(sandbox_server)
    customers = [{"gcr_id": n} for n in range(1, 251)]
    async with connect(mode=mode) as client:
        started = await client.call_tool("screen_audience", {"customers": customers, "segment_id": segment,
                                                             "channel": "sms"})
        handle = data_of(started)
        screening_id = handle["screening_id"]
        done = await finished(client, screening_id)
        eligible = data_of(await client.call_tool("get_screening", {"screening_id": screening_id,
                                                                    "only": "eligible"}))
        second = data_of(await client.call_tool("get_screening", {"screening_id": screening_id,
                                                                  "cursor": done["next_cursor"]}))
        result = await client.call_tool("get_screening", {"screening_id": screening_id})
        links = [c for c in result.content if c.type == "resource_link"]
        page = json.loads((await client.read_resource(f"cdp://screenings/{screening_id}")).contents[0].text)
        more = json.loads((await client.read_resource(
            f"cdp://screenings/{screening_id}?cursor={done['next_cursor']}")).contents[0].text)
        table = (await client.read_resource(f"cdp://screenings/{screening_id}/results.csv")).contents[0].text
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert re.fullmatch(r"scr_[A-Za-z0-9_-]{22}", screening_id)  # 128 random bits
    assert handle["status"] == "queued" and handle["customers"] == 250 and "get_screening" in handle["message"]
    assert handle["poll_after"] >= 2 and "rows" not in handle
    assert done["status"] == "completed" and done["summary"]["customers"] == 250 and done["total"] == 250
    assert [r["line"] for r in done["rows"]] == list(range(1, 51))
    assert [r["line"] for r in second["rows"]] == list(range(51, 101))
    assert eligible["total"] == done["summary"]["eligible"] and {r["outcome"] for r in eligible["rows"]} == {
        "eligible"}
    assert [str(link.uri) for link in links] == [f"cdp://screenings/{screening_id}",
                                                 f"cdp://screenings/{screening_id}/results.csv"]
    assert page["rows"] == done["rows"] and more["rows"] == second["rows"]
    lines = list(csv.DictReader(io.StringIO(str(table))))
    assert len(lines) == 250 and lines[0]["line"] == "1" and lines[0]["outcome"] == done["rows"][0]["outcome"]
    assert {"cdp://screenings/{screening_id}{?cursor,only}", "cdp://screenings/{screening_id}/results.csv"} <= templates


async def test_rejected_rows_are_listed_when_started_and_with_the_result_not_in_every_poll(
        connect: Connect, sandbox_server: SandboxThread) -> None:
    """A poll says how far it is; the first 20 rejected rows are read once at the start and once with the result."""
    customers = [{"email": "broken"}, *({"gcr_id": n} for n in range(1, 401))]
    async with connect() as client:
        handle = data_of(await client.call_tool("screen_audience", {
            "customers": customers, "segment_id": segment_of(sandbox_server), "channel": "email"}))
        polls: list[dict[str, Any]] = []
        with anyio.fail_after(60):
            while (done := data_of(await client.call_tool("get_screening", {
                    "screening_id": handle["screening_id"]})))["status"] in ("queued", "running", "paused"):
                polls.append(done)
                await anyio.sleep(0.05)
        second = data_of(await client.call_tool("get_screening", {"screening_id": handle["screening_id"],
                                                                  "cursor": done["next_cursor"]}))
    assert handle["rejected"] == 1 and [r["line"] for r in handle["rejections"]] == [1]
    assert polls and all(poll["rejected"] == 1 and "rejections" not in poll for poll in polls)
    assert done["status"] == "completed" and done["rejections"] == handle["rejections"]
    assert second["rejected"] == 1 and "rejections" not in second and len(second["rows"]) == 50


async def test_paging_mistakes_and_foreign_ids_are_clear_errors(connect: Connect) -> None:
    async with connect() as client:
        handle = data_of(await client.call_tool("screen_audience", {
            "customers": [{"gcr_id": n} for n in range(1, 130)], "segment_id": "101", "channel": "push"}))
        done = await finished(client, handle["screening_id"])
        wrong_only = await client.call_tool("get_screening", {"screening_id": handle["screening_id"],
                                                              "cursor": done["next_cursor"], "only": "eligible"})
        mangled = await client.call_tool("get_screening", {"screening_id": handle["screening_id"], "cursor": "x!"})
        unknown = await client.call_tool("get_screening", {"screening_id": "scr_" + "A" * 22})
        resource_error = None
        try:
            await client.read_resource("cdp://screenings/scr_unknown_id_0000000/results.csv")
        except Exception as exc:  # noqa: BLE001 - the SDK raises its own error type for a resource error
            resource_error = str(exc)
    assert wrong_only.is_error and "only" in wrong_only.content[0].text  # type: ignore[union-attr]
    assert mangled.is_error and "cursor" in mangled.content[0].text  # type: ignore[union-attr]
    assert unknown.is_error and "No screening" in unknown.content[0].text  # type: ignore[union-attr]
    assert resource_error is not None and "No screening" in resource_error


@pytest.mark.parametrize("mode", MODES)
async def test_a_large_run_asks_the_person_first_through_elicitation(mode: str, connect: Connect) -> None:
    asked: list[str] = []
    answers = iter(["decline", "accept"])

    async def elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        answer = next(answers)
        return ElicitResult(action="accept", content={"proceed": True}) if answer == "accept" else ElicitResult(
            action="decline")

    arguments = {"customers": [{"gcr_id": n} for n in range(1, 161)], "segment_id": "101", "channel": "sms"}
    async with connect(mode=mode, client={"elicitation_callback": elicit}, screen_confirm_above=150) as client:
        declined = data_of(await client.call_tool("screen_audience", arguments))
        accepted = data_of(await client.call_tool("screen_audience", arguments))
        await finished(client, accepted["screening_id"])
    assert declined["status"] == "not_started" and "did not confirm" in declined["message"]
    assert declined["estimate"]["requests"] == 3 * 160
    assert accepted["status"] in ("queued", "running") and accepted["screening_id"]
    assert len(asked) == 2 and asked[0].startswith("Screening 160 customers takes about 480 requests")
    assert "Start the screening?" in asked[0]


async def test_a_person_at_the_cap_of_running_screenings_is_told_before_being_asked_to_confirm(
        connect: Connect) -> None:
    asked: list[str] = []

    async def elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"proceed": True})

    arguments = {"customers": [{"gcr_id": n} for n in range(1, 161)], "segment_id": "101", "channel": "sms"}
    async with connect(client={"elicitation_callback": elicit}, screen_confirm_above=150, screen_max_jobs=1,
                       screen_concurrency=1) as client:
        running = data_of(await client.call_tool("screen_audience", arguments))
        capped = await client.call_tool("screen_audience", arguments)
        await client.call_tool("cancel_screening", {"screening_id": running["screening_id"]})
    assert running["screening_id"] and len(asked) == 1
    assert capped.is_error and "CDP_SCREEN_MAX_JOBS" in capped.content[0].text  # type: ignore[union-attr]
    assert len(asked) == 1  # not asked to confirm a screening that could not start


async def test_without_elicitation_the_estimate_comes_back_asking_for_confirm(connect: Connect) -> None:
    arguments = {"customers": [{"gcr_id": n} for n in range(1, 161)], "segment_id": "101", "channel": "sms"}
    async with connect(screen_confirm_above=150) as client:
        refused = await client.call_tool("screen_audience", arguments)
        confirmed = data_of(await client.call_tool("screen_audience", {**arguments, "confirm": True}))
        cancelled = data_of(await client.call_tool("cancel_screening", {"screening_id": confirmed["screening_id"]}))
        after = await finished(client, confirmed["screening_id"])
    text = refused.content[0].text  # type: ignore[union-attr]
    assert refused.is_error and "Screening 160 customers takes about 480 requests" in text
    assert "confirm: true" in text
    assert cancelled["screening_id"] == confirmed["screening_id"]
    assert after["status"] in ("cancelled", "completed")  # a run this small may finish before the cancel lands


async def test_an_audience_file_comes_from_the_audience_folder(connect: Connect, tmp_path: Path,
                                                               sandbox_server: SandboxThread) -> None:
    folder = tmp_path / "audiences"
    folder.mkdir()
    vip = sandbox_server.sample("vip")
    (folder / "winback.csv").write_text(f"Email Address;First Name\n{vip.email};Ada\nnot-an-email;X\n")
    async with connect(audience_dir=folder) as client:
        data = data_of(await client.call_tool("screen_audience", {"audience_file": "winback.csv",
                                                                  "segment_name": "High Value", "channel": "email"}))
        outside = await client.call_tool("screen_audience", {"audience_file": "../secret.csv", "segment_id": "101",
                                                             "channel": "email"})
        two = await client.call_tool("screen_audience", {"audience_file": "winback.csv", "customers": [{"gcr_id": 1}],
                                                         "segment_id": "101", "channel": "email"})
    assert data["customers"] == 1 and data["rows"][0]["customer"] == {"email": vip.email}
    assert data["rejections"] == [{"line": 3, "reason": "email is not an email address (expected name@domain.tld)"}]
    assert outside.is_error and "outside the audience folder" in outside.content[0].text  # type: ignore[union-attr]
    assert two.is_error and "exactly one audience source" in two.content[0].text  # type: ignore[union-attr]


async def test_contact_details_are_redacted_as_the_deployment_says(connect: Connect,
                                                                   sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    customers = [{"email": vip.email}, *({"gcr_id": n} for n in range(2, 121))]
    async with connect(redact_pii=True) as client:
        handle = data_of(await client.call_tool("screen_audience", {"customers": customers, "segment_id": "101",
                                                                    "channel": "email"}))
        done = await finished(client, handle["screening_id"])
        table = (await client.read_resource(f"cdp://screenings/{handle['screening_id']}/results.csv")).contents[0]
    assert done["rows"][0]["customer"] == {"email": "[redacted]"}
    assert vip.email not in str(table.text) and "[redacted]" in str(table.text)  # type: ignore[union-attr]


async def test_customer_written_names_are_sanitized_labelled_or_left_out_in_rows_pages_and_csv(
        connect: Connect, sandbox_server: SandboxThread) -> None:
    """The hostile samples' names come back inert and labelled, within the call and from a job's pages, its JSON
    resource and its CSV; under CDP_UNTRUSTED=omit they are left out everywhere, saying so."""
    hostile = [sandbox_server.sample(label).gcr_id for label in HOSTILE]
    large = [{"gcr_id": n} for n in [*hostile, *range(18, 118)]]  # over 100 distinct rows: a job
    checks = {"segment_id": "101", "channel": "email"}
    async with connect() as client:
        small = await client.call_tool("screen_audience", {"customers": large[:len(hostile)], **checks})
        started = data_of(await client.call_tool("screen_audience", {"customers": large, **checks}))
        await finished(client, started["screening_id"])
        page = await client.call_tool("get_screening", {"screening_id": started["screening_id"]})
        resource = (await client.read_resource(f"cdp://screenings/{started['screening_id']}")).contents[0]
        table = (await client.read_resource(f"cdp://screenings/{started['screening_id']}/results.csv")).contents[0]
    names = [seen["name"] for seen in HOSTILE.values()]
    for result in (small, page):
        rows = inert(result)["rows"]
        assert [r["name"] for r in rows[:len(hostile)]] == names
        assert [f"/rows/{i}/name" for i in range(len(hostile))] == (result.meta or {})[UNTRUSTED_META][:len(hostile)]
    assert json.loads(resource.text) == data_of(page)  # type: ignore[union-attr]
    assert (resource.meta or {})[UNTRUSTED_META] == (page.meta or {})[UNTRUSTED_META]
    written = list(csv.DictReader(io.StringIO(table.text)))  # type: ignore[union-attr]
    assert [r["name"] for r in written[:len(hostile)]] == names
    assert not any(INVISIBLE.search(r["name"]) or MARKUP.search(r["name"]) for r in written)

    async with connect(untrusted="omit") as client:
        small = await client.call_tool("screen_audience", {"customers": large[:2], **checks})
        started = data_of(await client.call_tool("screen_audience", {"customers": large, **checks}))
        await finished(client, started["screening_id"])
        table = (await client.read_resource(f"cdp://screenings/{started['screening_id']}/results.csv")).contents[0]
    assert data_of(small)["withheld"] == {OMITTED: ["/rows/0/name", "/rows/1/name"]}
    assert UNTRUSTED_META not in (small.meta or {})  # nothing customer-written is left to label
    assert "Mx." not in json.dumps(data_of(small))
    assert {r["name"] for r in csv.DictReader(io.StringIO(table.text))} == {""}  # type: ignore[union-attr]
