"""The screening handle flow as hosts drive it: the SDK client over stdio (a subprocess, as desktop hosts start it)
and over Streamable HTTP, both protocol eras; an audience uploaded with POST /audiences and with
`cdp-mcp audience upload`, then screened by its audience_id."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from cdp_mcp.http_app import create_http_app
from cdp_mcp.jobs.formats import MAX_BYTES
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import served_on

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


async def screened(client: Client, arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """screen_audience's handle, and get_screening's answer once the screening no longer runs."""
    started = await client.call_tool("screen_audience", arguments)
    assert not started.is_error, started.content
    handle = started.structured_content or {}
    with anyio.fail_after(90):
        while True:
            result = await client.call_tool("get_screening", {"screening_id": handle["screening_id"]})
            data = result.structured_content or {}
            if data.get("status") not in ("queued", "running", "paused"):
                return handle, data
            await anyio.sleep(0.2)


async def _chunked(size: int, piece: int = 1 << 20) -> AsyncIterator[bytes]:
    """A body of `size` bytes sent in pieces, without a Content-Length: the server must count it as it arrives."""
    for start in range(0, size, piece):
        yield b"x" * min(piece, size - start)


@asynccontextmanager
async def http_server(settings: Settings) -> AsyncIterator[str]:
    sock = bind_socket("127.0.0.1", 0)
    async with served_on(create_http_app(build_server(settings), settings), sock, within=120):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("mode", MODES)
async def test_the_handle_flow_over_stdio(mode: str, cdp_env: dict[str, str]) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "cdp_mcp"], env=cdp_env)
    async with Client(params, mode=mode) as client:
        handle, done = await screened(client, {"customers": [{"gcr_id": n} for n in range(1, 151)],
                                               "segment_id": "101", "channel": "email"})
    assert handle["status"] == "queued" and handle["customers"] == 150
    assert done["status"] == "completed" and done["summary"]["customers"] == 150
    assert [r["line"] for r in done["rows"]] == list(range(1, 51)) and done["next_cursor"]


@pytest.mark.parametrize("mode", MODES)
async def test_the_handle_flow_over_http_and_an_uploaded_audience(mode: str, sandbox_settings: Settings,
                                                                  tmp_path: Path) -> None:
    export = "Email Address,GCR ID\n" + "".join(f",{n}\n" for n in range(1, 121)) + "not-an-email,\n,7\n"
    async with http_server(sandbox_settings) as base:
        async with httpx2.AsyncClient(timeout=60) as http:
            uploaded = await http.post(f"{base}/audiences", content=export.encode(),
                                       headers={"Content-Type": "text/csv"}, params={"name": "winback.csv"})
            wrong = await http.post(f"{base}/audiences", content=b"Name\nAda\n", headers={"Content-Type": "text/csv"})
            too_big = await http.post(f"{base}/audiences", content=_chunked(MAX_BYTES + 1))  # no Content-Length
            fetched = await http.get(f"{base}/audiences")
        body = uploaded.json()
        async with Client(f"{base}/mcp", mode=mode) as client:
            handle, done = await screened(client, {"audience_id": body["audience_id"], "segment_id": "101",
                                                   "channel": "sms"})
    assert uploaded.status_code == 201 and body["rows"] == 120 and body["rejected_total"] == 1
    assert body["rejected"] == [{"line": 122, "reason": "email is not an email address (expected name@domain.tld)"}]
    assert body["duplicates"] == 1 and body["audience_id"].startswith("aud_")
    assert wrong.status_code == 400 and "identifier column" in wrong.json()["error_description"]
    assert too_big.status_code == 413 and fetched.status_code == 405
    assert handle["customers"] == 120 and done["status"] == "completed" and done["summary"]["customers"] == 120


async def test_an_upload_that_is_not_csv_or_json_lines_is_refused_saying_what_to_send(sandbox_settings: Settings
                                                                                   ) -> None:
    """A JSON document, a browser's form upload or a JSON array is not read as an audience it is not."""
    rows = [{"email": "ada@example.com"}, {"gcr_id": 2}]
    async with http_server(sandbox_settings) as base, httpx2.AsyncClient(timeout=60) as http:
        document = await http.post(f"{base}/audiences", json={"customers": rows})
        form = await http.post(f"{base}/audiences", files={"file": ("winback.csv", b"email\nada@example.com\n")})
        array = await http.post(f"{base}/audiences", content=json.dumps(rows).encode(),
                                headers={"Content-Type": "application/x-ndjson"})
        lines = await http.post(f"{base}/audiences", content="\n".join(json.dumps(r) for r in rows).encode(),
                                headers={"Content-Type": "application/x-ndjson; charset=utf-8"})
    for refused in (document, form):
        assert refused.status_code == 415, refused.text
        assert refused.json()["error"] == "unsupported_media_type"
        assert "text/csv" in refused.json()["error_description"]
        assert "application/x-ndjson" in refused.json()["error_description"]
    assert array.status_code == 400 and "JSON array" in array.json()["error_description"]
    assert lines.status_code == 201 and lines.json()["rows"] == 2


async def test_audience_upload_from_the_shell(cdp_env: dict[str, str], sandbox_settings: Settings,
                                              tmp_path: Path) -> None:
    export = tmp_path / "vip.jsonl"
    export.write_text("\n".join(json.dumps({"gcrId": n}) for n in range(1, 6)) + "\n")
    async with http_server(sandbox_settings) as base:
        done = await anyio.run_process([sys.executable, "-m", "cdp_mcp", "audience", "upload", str(export), "--url",
                                        f"{base}/mcp"], check=False)
        refused = await anyio.run_process([sys.executable, "-m", "cdp_mcp", "audience", "upload",
                                           str(tmp_path / "missing.csv"), "--url", base], check=False)
        answer = json.loads(done.stdout)
        async with Client(f"{base}/mcp") as client:
            result = await client.call_tool("screen_audience", {"audience_id": answer["audience_id"],
                                                                "segment_id": "101", "channel": "email"})
    assert done.returncode == 0, done.stderr.decode()
    assert answer["rows"] == 5 and answer["rejected"] == []
    assert not result.is_error and result.structured_content["customers"] == 5  # type: ignore[index]
    assert refused.returncode == 2 and b"no such file" in refused.stderr
