"""The Tasks extension over Streamable HTTP at 2026-07-28, through a raw JSON-RPC client written from SEP-2663: a
large screening becomes a task that settles, a small one answers at once, routing headers are checked, errors
carry the codes the specification names, a confirmation comes first (MRTR), a stopped job asks through
`input_required` and `tasks/update` resumes or cancels it, and clients that did not declare the extension (or
speak 2025-11-25) get the ordinary handle."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest
from rawclient import MODERN, TASKS, Answer, RawClient

from cdp_mcp.sandbox.server import SandboxThread
from tests.tasks.conftest import Serve

pytestmark = pytest.mark.anyio

AUDIENCE = {"customers": [{"gcr_id": n} for n in range(1, 151)], "segment_id": "101", "channel": "sms"}


async def settle(client: RawClient, task_id: str, *, until: Callable[[dict[str, Any]], bool] | None = None
                 ) -> list[dict[str, Any]]:
    """tasks/get at the interval the task asks for, until `until(task)` (default: a terminal status)."""
    done = until or (lambda task: task["status"] in ("completed", "failed", "cancelled"))
    seen: list[dict[str, Any]] = []
    with anyio.fail_after(60):
        while True:
            task = (await client.request("tasks/get", {"taskId": task_id})).result
            seen.append(task)
            if done(task):
                return seen
            await anyio.sleep(min(task.get("pollIntervalMs", 500), 500) / 1000)


async def test_a_large_screening_is_a_task_that_settles(serve: Serve) -> None:
    async with serve() as url, httpx2.AsyncClient(timeout=60) as http:
        client = RawClient(url, http)
        discover = (await client.request("server/discover")).result
        created = (await client.request("tools/call", {"name": "screen_audience", "arguments": AUDIENCE})).result
        polls = await settle(client, created["taskId"])
        wrong_name = await client.request("tasks/get", {"taskId": created["taskId"]}, headers={"Mcp-Name": "other"})
        unknown = await client.request("tasks/get", {"taskId": "scr_" + "C" * 22})
        small = (await client.request("tools/call", {"name": "screen_audience", "arguments": {
            **AUDIENCE, "customers": AUDIENCE["customers"][:10]}})).result
    assert TASKS in discover["capabilities"]["extensions"]
    assert created["resultType"] == "task" and created["status"] == "working"
    assert {"taskId", "status", "createdAt", "lastUpdatedAt", "ttlMs", "pollIntervalMs", "statusMessage"} <= set(
        created)
    assert created["ttlMs"] >= 86_400_000 and created["pollIntervalMs"] >= 2000
    final = polls[-1]
    assert final["resultType"] == "complete" and final["status"] == "completed" and final["taskId"] == created["taskId"]
    result = final["result"]
    assert result["resultType"] == "complete" and not result.get("isError")
    assert result["structuredContent"]["summary"]["customers"] == 150 and len(result["structuredContent"]["rows"]) == 50
    assert [c["type"] for c in result["content"]] == ["text", "resource_link", "resource_link"]
    assert all(p["status"] == "working" for p in polls[:-1])
    assert wrong_name.status == 400 and wrong_name.error["code"] == -32020
    assert unknown.error["code"] == -32602
    assert small["resultType"] == "complete" and small["structuredContent"]["status"] == "completed"


async def test_routing_headers_capabilities_and_protocol_eras(serve: Serve) -> None:
    async with serve() as url, httpx2.AsyncClient(timeout=60) as http:
        tasks = RawClient(url, http)
        plain = RawClient(url, http, capabilities={})
        task_id = (await tasks.request("tools/call", {"name": "screen_audience", "arguments": AUDIENCE})).result[
            "taskId"]
        no_name = await tasks.request("tasks/get", {"taskId": task_id}, headers={"Mcp-Name": ""})
        undeclared = await plain.request("tasks/get", {"taskId": task_id})
        handle = (await plain.request("tools/call", {"name": "screen_audience", "arguments": AUDIENCE})).result
        legacy = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get",
                                            "params": {"taskId": task_id}},
                                 headers={"Accept": "application/json, text/event-stream",
                                          "MCP-Protocol-Version": "2025-11-25"})
        cancelled = await tasks.request("tasks/cancel", {"taskId": task_id})
        after = await settle(tasks, task_id)
    assert no_name.error["code"] == -32020
    assert undeclared.error["code"] == -32021
    assert undeclared.error["data"]["requiredCapabilities"] == {"extensions": {TASKS: {}}}
    assert handle["resultType"] == "complete" and handle["structuredContent"]["screening_id"]  # not a task
    assert _body(legacy)["error"]["code"] == -32601
    assert cancelled.result == {"resultType": "complete", "_meta": cancelled.result["_meta"]}
    assert after[-1]["status"] in ("cancelled", "completed")  # cooperative: it may have finished first


async def test_a_confirmation_is_asked_before_the_task_is_created(serve: Serve) -> None:
    arguments = {"name": "screen_audience", "arguments": AUDIENCE}
    async with serve(screen_confirm_above=100) as url, httpx2.AsyncClient(timeout=60) as http:
        client = RawClient(url, http, capabilities={"extensions": {TASKS: {}}, "elicitation": {"form": {}}})
        asked = (await client.request("tools/call", arguments)).result
        (key, question), = asked["inputRequests"].items()
        answered = (await client.request("tools/call", {
            **arguments, "inputResponses": {key: {"action": "accept", "content": {"proceed": True}}},
            "requestState": asked["requestState"]})).result
        polls = await settle(client, answered["taskId"])
    assert asked["resultType"] == "input_required" and question["method"] == "elicitation/create"
    assert "Screening 150 customers takes about 450 requests" in question["params"]["message"]
    assert answered["resultType"] == "task" and polls[-1]["status"] == "completed"


async def test_a_stopped_job_asks_to_resume_and_update_answers(serve: Serve,
                                                               start_sandbox_server: Callable[..., SandboxThread]
                                                               ) -> None:
    spent = start_sandbox_server(token_daily_limit=2)  # the third scope's token cannot be created
    async with serve(server=spent) as url, httpx2.AsyncClient(timeout=60) as http:
        client = RawClient(url, http)
        task_id = (await client.request("tools/call", {"name": "screen_audience", "arguments": AUDIENCE})).result[
            "taskId"]
        first = (await settle(client, task_id, until=lambda t: t["status"] == "input_required"))[-1]
        ignored = await client.request("tasks/update", {"taskId": task_id, "inputResponses": {
            "resume-9": {"action": "accept", "content": {"resume": True}}}})
        still = (await client.request("tasks/get", {"taskId": task_id})).result
        resumed = await client.request("tasks/update", {"taskId": task_id, "inputResponses": {
            "resume-1": {"action": "accept", "content": {"resume": True}}}})
        second = (await settle(client, task_id, until=lambda t: "resume-2" in t.get("inputRequests", {})))[-1]
        declined = await client.request("tasks/update", {"taskId": task_id, "inputResponses": {
            "resume-2": {"action": "decline"}}})
        final = (await settle(client, task_id))[-1]
    (key, question), = first["inputRequests"].items()
    assert key == "resume-1" and question["method"] == "elicitation/create"
    assert "token creations are spent" in question["params"]["message"]
    assert question["params"]["requestedSchema"]["properties"]["resume"]["type"] == "boolean"
    assert "token creations are spent" in first["statusMessage"]
    assert ignored.result["resultType"] == "complete" and still["status"] == "input_required"
    assert resumed.result["resultType"] == "complete" and second["status"] == "input_required"
    assert declined.result["resultType"] == "complete" and final["status"] == "cancelled"


async def test_the_handle_answer_keeps_its_shape_for_a_2025_client(serve: Serve) -> None:
    """A 2025-11-25 client (the handshake era) cannot receive a task: it gets the screening_id."""
    async with serve() as url, httpx2.AsyncClient(timeout=60) as http:
        headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
        init = await http.post(url, headers=headers, json={
            "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "clientInfo": {"name": "old", "version": "1"},
                "capabilities": {"extensions": {TASKS: {}}}}})
        call = await http.post(url, headers=headers, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "screen_audience", "arguments": AUDIENCE}})
    assert init.status_code == 200
    answer = Answer(call.status_code, _body(call))
    assert "resultType" not in answer.result and answer.result["structuredContent"]["screening_id"]


def _body(response: httpx2.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return next(json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:"))
    return dict(response.json())


def test_the_modern_version_is_the_one_these_tests_speak() -> None:
    assert MODERN == "2026-07-28"
