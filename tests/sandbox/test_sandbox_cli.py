"""`cdp-mcp sandbox --json`: one JSON line on stdout first, then a server that answers at that base URL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
import pytest

from cdp_mcp.catalog import TOKEN_CREATE_PATH, Header, resource
from cdp_mcp.cli import build_parser
from cdp_mcp.commands.sandbox import options_from
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS

pytestmark = pytest.mark.anyio


async def test_cli_prints_one_json_line_then_serves(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "cdp_mcp", "sandbox", "--port", "0", "--json", "--customers", "40",
               "--db", str(tmp_path / "cli.sqlite"), "--token-daily-limit", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        with anyio.fail_after(60):  # a child that never prints fails the test instead of hanging the suite
            line = await anyio.to_thread.run_sync(process.stdout.readline, abandon_on_cancel=True)
        info = json.loads(line)
        assert {"base_url", "tenant_hash", "oauth_key_secret", "samples"} <= set(info)
        assert info["base_url"].startswith("http://127.0.0.1:") and info["oauth_key_secret"] is None
        labels = {s["label"]: s for s in info["samples"]}
        assert {"gcr_id", "email", "mobile", "customer_code"} <= set(labels["vip"])
        ambiguous = labels["ambiguous"]
        assert sum(s["email"] == ambiguous["email"] for s in info["samples"] if s["label"] != "ambiguous") == 2

        async with httpx2.AsyncClient(base_url=info["base_url"], timeout=10) as client:
            tenant = {Header.TENANT_HASH: info["tenant_hash"]}
            created = await client.post(TOKEN_CREATE_PATH, headers=tenant, json={"resource": ["basic"]})
            token = created.json()["data"]["token"]
            vip = labels["vip"]
            response = await client.post(resource("basic").route, headers={
                **tenant, Header.ACCESS_TOKEN: token, "email_address": vip["email"]})
        assert response.json()["data"]["customerId"] == str(vip["gcr_id"])
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises SIGTERM as the conventional exit status
    assert process.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
    assert "INFO cdp_mcp.sandbox.store: seeding sandbox database" in err  # logged on stderr at INFO, as it works


def test_cli_defaults_are_the_sandbox_defaults() -> None:
    assert options_from(build_parser(["sandbox"]).parse_args(["sandbox"])) == SandboxOptions()


def test_cli_refuses_a_tenant_smaller_than_the_samples() -> None:
    result = subprocess.run([sys.executable, "-m", "cdp_mcp", "sandbox", "--customers", "3", "--json"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "customers" in result.stderr


def test_cli_refuses_to_replace_a_foreign_db_file(tmp_path: Path) -> None:
    precious = tmp_path / "mine.db"
    precious.write_text("not a sandbox")
    command = [sys.executable, "-m", "cdp_mcp", "sandbox", "--port", "0", "--json", "--db", str(precious)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "not a cdp-mcp sandbox database" in result.stderr and "Traceback" not in result.stderr
    assert precious.read_text() == "not a sandbox"


@pytest.mark.parametrize(("arguments", "message"), [
    (["--oauth-key-secret", "my secret"], "--oauth-key-secret: must be non-empty printable ASCII"),
    (["--tenant-hash", ""], "--tenant-hash: must be non-empty printable ASCII"),
    (["--port", "70000"], "cannot listen on 127.0.0.1:70000"),
])
def test_cli_refuses_unusable_options_without_echoing_them(arguments: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "cdp_mcp", "sandbox", "--json", "--customers", str(MIN_CUSTOMERS),
                             *arguments], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0 and result.stdout == ""
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "my secret" not in result.stderr  # a secret given on the command line is not echoed back
