"""SIGTERM to `cdp-mcp serve --transport http` with a call in flight (the API holding its answer): new requests get
503 and /readyz says draining while /healthz stays 200; the call finishes, or, past CDP_MCP_DRAIN_SECONDS, fails
saying the server stopped it; every audit line is whole; the process exits 0."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.types import CallToolResult

from cdp_mcp.sandbox.server import SandboxThread
from tests.faults import Fault, FaultProxy, fault_proxy
from tests.operations.service import ServerProcess, clean_environment, server_process

pytestmark = pytest.mark.anyio

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "late", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


@asynccontextmanager
async def slow_api(sandbox_server: SandboxThread, delay: float,
                   release: anyio.Event | None = None) -> AsyncIterator[FaultProxy]:
    """The sandbox behind a proxy that holds every profile (basic) answer `delay` seconds, or until `release` is set
    (`delay` then caps the wait)."""
    async with fault_proxy(sandbox_server.base_url, sandbox_server.options.context_path) as proxy:
        proxy.fail("basic", Fault(delay=delay, release=release))
        yield proxy


def environment(proxy: FaultProxy, sandbox_server: SandboxThread, directory: Path, **more: str) -> dict[str, str]:
    return clean_environment(CDP_B2B_API_URL=proxy.url, CDP_TENANT_HASH=sandbox_server.tenant_hash,
                             CDP_STATE_DIR=str(directory / "state"), CDP_AUDIT_LOG=str(directory / "audit.jsonl"),
                             CDP_LOG_LEVEL="INFO", **more)


async def terminate_during_call(server: ServerProcess, proxy: FaultProxy, *, within: float = 60,
                                release: anyio.Event | None = None) -> tuple[CallToolResult, dict[str, Any]]:
    """Call a tool, send SIGTERM once the API holds its request, and look at the server while it drains; then set
    `release` (the API answers the held request)."""
    try:
        with anyio.fail_after(within):
            return await _terminate_during_call(server, proxy, release)
    except TimeoutError:
        raise AssertionError(f"no answer within {within} s; the server's log:\n{server.output()[-3000:]}") from None


async def _terminate_during_call(server: ServerProcess, proxy: FaultProxy,
                                 release: anyio.Event | None) -> tuple[CallToolResult, dict[str, Any]]:
    seen: dict[str, Any] = {}
    async with Client(server.mcp) as client, anyio.create_task_group() as tasks:
        await client.list_tools()  # as a host has before it calls (else the SDK lists them after the call, to
        # check the result: a new request, refused while draining)

        async def call() -> None:
            seen["result"] = await client.call_tool("get_customer_profile", {"gcr_id": 1})

        tasks.start_soon(call)
        while proxy.seen["basic"] < 1:  # the call is in flight: the API holds its answer
            await anyio.sleep(0.02)
        server.signal(signal.SIGTERM)
        async with httpx2.AsyncClient(timeout=10) as http:
            while (ready := await http.get(f"{server.base}/readyz")).status_code == 200:
                await anyio.sleep(0.02)
            seen["ready"] = ready
            seen["health"] = await http.get(f"{server.base}/healthz")
            seen["new"] = await http.post(server.mcp, json=INITIALIZE, headers=HEADERS)
        assert "result" not in seen  # all of the above was seen with the call still in flight
        if release is not None:
            while "Draining: 1 request(s) in flight" not in server.output():  # the drain has counted the call
                await anyio.sleep(0.02)
            release.set()
    return seen["result"], seen


def audit_lines(directory: Path) -> list[dict[str, Any]]:
    text = (directory / "audit.jsonl").read_text()
    assert text.endswith("\n")  # the last line is whole
    return [json.loads(line) for line in text.splitlines()]


async def test_a_call_in_flight_finishes_while_new_requests_are_refused(sandbox_server: SandboxThread,
                                                                        tmp_path: Path) -> None:
    release = anyio.Event()  # the API answers once the draining server has been looked at, not after a fixed wait
    async with slow_api(sandbox_server, delay=30.0, release=release) as proxy:
        with server_process(environment(proxy, sandbox_server, tmp_path), tmp_path) as server:
            result, seen = await terminate_during_call(server, proxy, release=release)
            code = await anyio.to_thread.run_sync(server.wait, 30)
    assert seen["ready"].status_code == 503
    assert seen["ready"].json()["checks"]["draining"] == "draining: the server is shutting down"
    assert seen["health"].status_code == 200  # alive: not a reason to restart it
    new = seen["new"]
    assert new.status_code == 503 and new.headers["retry-after"] == "1" and new.json()["error"]["code"] == -32000
    assert not result.is_error and result.structured_content["gcr_id"] == 1  # type: ignore[index]
    assert code == 0, server.output()[-3000:]
    assert [(line["tool"], line["outcome"]) for line in audit_lines(tmp_path)] == [("get_customer_profile", "ok")]
    log = server.output()
    assert "Draining: 1 request(s) in flight" in log and "Drained: no request in flight" in log
    assert "Application shutdown complete" in log


async def test_past_the_drain_time_the_call_is_stopped_and_says_so(sandbox_server: SandboxThread,
                                                                   tmp_path: Path) -> None:
    async with slow_api(sandbox_server, delay=60.0) as proxy:
        env = environment(proxy, sandbox_server, tmp_path, CDP_MCP_DRAIN_SECONDS="1")
        with server_process(env, tmp_path) as server:
            # 1 s of drain, then the stopped call answers at once: far sooner than the API's 60 s.
            result, _ = await terminate_during_call(server, proxy, within=45)
            code = await anyio.to_thread.run_sync(server.wait, 30)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "shutting down" in text and "Retry the call" in text
    assert code == 0, server.output()[-3000:]
    assert [(line["tool"], line["outcome"]) for line in audit_lines(tmp_path)] == [
        ("get_customer_profile", "SHUTTING_DOWN")]
    assert "Drain time (1 s) is up with 1 request(s) in flight: stopped 1 tool call(s)" in server.output()
