"""stdio as a desktop host runs it: `python -m cdp_mcp` as a subprocess, stdout carrying protocol messages only."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import anyio
import pytest
from anyio.abc import ByteReceiveStream
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.registry import all_specs

pytestmark = pytest.mark.anyio


async def test_sdk_client_over_stdio_lists_and_calls_tools(
    cdp_env: dict[str, str], sandbox_settings: Settings, showcase: SampleCustomer,
) -> None:
    """The 2026-07-28 era through the SDK client; the raw-pipe test below speaks the handshake era."""
    expected = [t.name for t in await build_server(sandbox_settings).list_tools()]
    params = StdioServerParameters(command=sys.executable, args=["-m", "cdp_mcp"], env=cdp_env)
    async with Client(params) as client:
        assert [t.name for t in (await client.list_tools()).tools] == expected
        result = await client.call_tool("get_customer_profile", {"email": showcase.email})
    assert not result.is_error
    assert result.structured_content is not None and result.structured_content["gcr_id"] == showcase.gcr_id


async def _lines(stream: ByteReceiveStream, sink: list[bytes], until: anyio.Event | None = None,
                 wanted_id: int | None = None) -> None:
    """Collect newline-terminated lines; set `until` once the response with `wanted_id` arrived."""
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            sink.append(line)
            if until is not None and wanted_id is not None and f'"id":{wanted_id}'.encode() in line.replace(b" ", b""):
                until.set()
    if buffer:
        sink.append(buffer)


def _request(message_id: int | None, method: str, params: dict[str, Any]) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if message_id is not None:
        message["id"] = message_id
    return json.dumps(message).encode() + b"\n"


async def test_stdout_carries_nothing_but_json_rpc(cdp_env: dict[str, str], showcase: SampleCustomer) -> None:
    """As chatty as it gets: DEBUG logs, and spans exported to the console (serve sets up the export, on stderr)."""
    env = {**cdp_env, "CDP_LOG_LEVEL": "DEBUG", "PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console"}
    stdout: list[bytes] = []
    stderr: list[bytes] = []
    answered = anyio.Event()
    with anyio.fail_after(30):
        async with await anyio.open_process([sys.executable, "-m", "cdp_mcp", "serve"], env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE) as process:
            assert process.stdin and process.stdout and process.stderr
            async with anyio.create_task_group() as tg:
                tg.start_soon(_lines, process.stdout, stdout, answered, 3)
                tg.start_soon(_lines, process.stderr, stderr)
                await process.stdin.send(
                    _request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                               "clientInfo": {"name": "raw-pipe", "version": "1"}})
                    + _request(None, "notifications/initialized", {})
                    + _request(2, "tools/list", {})
                    + _request(3, "tools/call", {"name": "get_customer_profile",
                                                 "arguments": {"gcr_id": showcase.gcr_id}}))
                await answered.wait()
                await process.stdin.aclose()  # a host closing the pipe: the server exits
            assert await process.wait() == 0
    messages = [json.loads(line) for line in stdout if line.strip()]  # every line parses...
    assert all(m.get("jsonrpc") == "2.0" for m in messages)  # ...as JSON-RPC
    by_id = {m["id"]: m for m in messages if "id" in m}
    assert len(by_id[2]["result"]["tools"]) == len(all_specs())
    assert by_id[3]["result"]["structuredContent"]["gcr_id"] == showcase.gcr_id
    log = b"\n".join(stderr).decode()
    assert "embedded sandbox" in log and "DEBUG" in log  # the logging went to stderr
    assert '"name": "tools/call get_customer_profile"' in log and '"name": "cdp.upstream basic"' in log  # traces too
