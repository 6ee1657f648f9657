"""The audit trail as an operator runs it: rotated by logrotate (moved, or copied and truncated), reopened on
SIGHUP, refused at start-up when it cannot be written, and never silently skipped: a call whose line cannot be
written is refused, and /healthz says the trail is failing until it can be written again."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from cdp_mcp.cli import main
from cdp_mcp.http_app import create_http_app
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import free_port, served_on

pytestmark = pytest.mark.anyio


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _audited(sandbox_settings: Settings, path: Path) -> Settings:
    return sandbox_settings.replace(audit_log=str(path))


async def test_a_moved_audit_file_is_reopened_where_the_setting_says(sandbox_settings: Settings, tmp_path: Path,
                                                                     showcase: SampleCustomer) -> None:
    audit = tmp_path / "audit.jsonl"
    async with Client(build_server(_audited(sandbox_settings, audit))) as client:
        assert not (await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})).is_error
        audit.rename(tmp_path / "audit.jsonl.1")  # logrotate without copytruncate
        assert not (await client.call_tool("get_marketing_consent", {"gcr_id": showcase.gcr_id})).is_error
    assert [line["tool"] for line in _lines(tmp_path / "audit.jsonl.1")] == ["resolve_customer"]
    assert [line["tool"] for line in _lines(audit)] == ["get_marketing_consent"]
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600


async def test_a_truncated_audit_file_goes_on_from_its_new_end(sandbox_settings: Settings, tmp_path: Path,
                                                               showcase: SampleCustomer) -> None:
    audit = tmp_path / "audit.jsonl"
    async with Client(build_server(_audited(sandbox_settings, audit))) as client:
        assert not (await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})).is_error
        (tmp_path / "audit.jsonl.1").write_bytes(audit.read_bytes())  # logrotate's copytruncate
        os.truncate(audit, 0)
        assert not (await client.call_tool("get_marketing_consent", {"gcr_id": showcase.gcr_id})).is_error
    assert b"\0" not in audit.read_bytes()  # no hole where the old lines were
    assert [line["tool"] for line in _lines(audit)] == ["get_marketing_consent"]


async def test_a_failing_audit_write_refuses_the_call_and_turns_the_health_check_unhealthy(
        sandbox_settings: Settings, tmp_path: Path, showcase: SampleCustomer) -> None:
    audit = tmp_path / "audit.jsonl"
    settings = _audited(sandbox_settings, audit)
    sock = bind_socket("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with served_on(create_http_app(build_server(settings), settings), sock), \
            httpx2.AsyncClient() as http, Client(f"{base}/mcp") as client:
        who = {"gcr_id": showcase.gcr_id}
        assert not (await client.call_tool("get_customer_profile", who)).is_error
        assert (await http.get(f"{base}/healthz")).json()["status"] == "ok"
        audit.rename(tmp_path / "audit.jsonl.1")
        audit.mkdir()  # the trail's path cannot be written any more
        refused = await client.call_tool("get_customer_profile", who)
        text = refused.content[0].text  # type: ignore[union-attr]
        assert refused.is_error and "audit" in text and "refused" in text and showcase.email not in text, text
        assert refused.structured_content is None
        health = await http.get(f"{base}/healthz")
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"
        assert "audit" in health.json() and str(tmp_path) not in health.text
        audit.rmdir()  # the operator fixes it: the health check finds the trail writable, calls go through again
        assert (await http.get(f"{base}/healthz")).status_code == 200
        assert not (await client.call_tool("get_customer_profile", who)).is_error
    assert [line["outcome"] for line in _lines(audit)] == ["ok"]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_an_unwritable_audit_path_stops_start_up_with_one_line(cdp_env: dict[str, str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str],
                                                               transport: str) -> None:
    (tmp_path / "not-a-directory").write_text("")
    monkeypatch.setenv("CDP_AUDIT_LOG", str(tmp_path / "not-a-directory" / "audit.jsonl"))
    code = main(["serve", "--transport", transport, "--port", str(free_port())])
    err = capsys.readouterr().err
    assert code == 2 and "CDP_AUDIT_LOG" in err and "Traceback" not in err, err
    assert [line for line in err.splitlines() if not line.startswith("  hint:")] == [
        line for line in err.splitlines() if "CDP_AUDIT_LOG" in line and not line.startswith("  hint:")]


def test_sighup_reopens_the_audit_trail_of_a_serving_process(cdp_env: dict[str, str], tmp_path: Path,
                                                             showcase: SampleCustomer) -> None:
    audit, log, port = tmp_path / "audit.jsonl", tmp_path / "stderr.log", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | {
        "CDP_AUDIT_LOG": str(audit), "CDP_LOG_LEVEL": "INFO"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cdp_mcp", "serve", "--transport", "http", "--port",
                                    str(port)], env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # start-up, not a test: a bounded wait for /healthz
            assert process.poll() is None, log.read_text()
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        _call(base, showcase.gcr_id)
        audit.rename(tmp_path / "audit.jsonl.1")
        process.send_signal(signal.SIGHUP)  # what logrotate's postrotate does
        time.sleep(0.5)
        assert process.poll() is None, log.read_text()  # SIGHUP does not stop the server
        _call(base, showcase.gcr_id)
    finally:
        process.terminate()
        process.wait(15)
    assert "Audit trail reopened" in log.read_text()
    assert len(_lines(tmp_path / "audit.jsonl.1")) == 1 and len(_lines(audit)) == 1


def _call(base: str, gcr_id: int) -> None:
    """One stateless tools/call over HTTP (the 2025-06-18 era), as a host sends it."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "resolve_customer", "arguments": {"gcr_id": gcr_id}}}
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    response = httpx2.post(f"{base}/mcp", json=body, headers=headers, timeout=30)
    assert response.status_code == 200 and '"isError":false' in response.text.replace(" ", ""), response.text
