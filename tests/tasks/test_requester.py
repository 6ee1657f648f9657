"""The official Tasks requester, @modelcontextprotocol/ext-tasks on the TypeScript v2 client, against cdp-mcp over
Streamable HTTP: our reading of SEP-2663 checked by code we did not write. A large screening settles as a task, a
small one comes back at once, cancel works, and a 2025-11-25 client gets the handle flow instead.

The packages are pinned in tests/tasks/requester (package.json and package-lock.json); `.ci/run` installs them
with `npm ci`. These tests skip, saying so, when node or the packages are absent."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.tasks.conftest import Serve

pytestmark = pytest.mark.anyio

REQUESTER = Path(__file__).parent / "requester"
AUDIENCE = {"customers": [{"gcr_id": n} for n in range(1, 151)], "segment_id": "101", "channel": "sms"}


def node() -> str:
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("node is not installed: the official Tasks requester (npm) cannot run")
    version = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False).stdout
    if int(version.strip().lstrip("v").split(".")[0] or 0) < 20:
        pytest.skip(f"node {version.strip()} is too old for @modelcontextprotocol/client (needs 20 or later)")
    if not (REQUESTER / "node_modules" / "@modelcontextprotocol" / "ext-tasks").is_dir():
        pytest.skip("the requester's npm packages are not installed: run `npm ci` in tests/tasks/requester "
                    "(.ci/run does)")
    return executable


async def settle(url: str, scenario: str, arguments: dict[str, Any]) -> dict[str, Any]:
    with anyio.fail_after(120):
        done = await anyio.run_process([node(), str(REQUESTER / "settle.mjs"), url, scenario, json.dumps(arguments)],
                                       cwd=REQUESTER, check=False)
    assert done.returncode == 0, done.stderr.decode()
    report: dict[str, Any] = json.loads(done.stdout)
    assert "error" not in report, report["error"]
    return report


async def test_a_large_screening_settles_as_a_task(serve: Serve) -> None:
    node()
    async with serve() as url:
        report = await settle(url, "modern", AUDIENCE)
    assert report["era"] == "modern" and report["kind"] == "task" and report["taskId"].startswith("scr_")
    assert report["status"] == "completed" and report["tasks"][0]["status"] == "working"
    result = report["result"]["structuredContent"]
    assert result["screening_id"] == report["taskId"] and result["summary"]["customers"] == 150
    assert [c["type"] for c in report["result"]["content"]] == ["text", "resource_link", "resource_link"]


async def test_a_small_audience_comes_back_at_once_and_cancel_works(serve: Serve) -> None:
    node()
    async with serve() as url:
        small = await settle(url, "modern", {**AUDIENCE, "customers": AUDIENCE["customers"][:5]})
        cancelled = await settle(url, "cancel", {**AUDIENCE, "customers": [{"gcr_id": n} for n in range(1, 901)]})
    assert small["kind"] == "immediate" and small["status"] == "completed"
    assert small["result"]["structuredContent"]["summary"]["customers"] == 5
    assert cancelled["kind"] == "task" and cancelled["status"] in ("cancelled", "completed")


async def test_a_2025_client_gets_the_handle_flow(serve: Serve) -> None:
    node()
    async with serve() as url:
        report = await settle(url, "legacy", AUDIENCE)
    assert report["era"] == "legacy" and report["kind"] == "immediate"
    handle = report["result"]["structuredContent"]
    assert handle["screening_id"] and handle["status"] in ("queued", "running") and "get_screening" in handle["message"]
