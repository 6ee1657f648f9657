"""`cdp-mcp sandbox --json`: one JSON line on stdout first, then a server that answers at that base URL."""

from __future__ import annotations

import csv
import json
import os
import re
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
from cdp_mcp.jobs.audience import read_file
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


def _export(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDP_")} | {
        "CDP_STATE_DIR": str(tmp_path / "state"), "CDP_SANDBOX_CUSTOMERS": "300"}
    return subprocess.run([sys.executable, "-m", "cdp_mcp", "sandbox", "export-audience", *arguments],
                          capture_output=True, text=True, timeout=120, check=False, env=environment)


def test_export_audience_writes_a_segments_members_as_a_segment_builder_would(tmp_path: Path) -> None:
    out = tmp_path / "audiences" / "high-value.csv"
    result = _export(tmp_path, "--segment", "high value", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out.resolve())
    said = re.search(r"wrote ([\d,]+) rows of segment 'High Value' \(([\d,]+) customers, (\d+) bad rows, (\d+) "
                     r"duplicates\) from the sandbox of 300 customers", result.stderr)
    assert said is not None, result.stderr
    rows, customers, bad, duplicates = (int(n.replace(",", "")) for n in said.groups())
    with out.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == rows and {row["Segment"] for row in table} == {"High Value"}
    audience = read_file(out, max_rows=10_000)  # what screen_audience makes of it
    assert (len(audience.members), audience.rejected, audience.duplicates) == (customers, bad, duplicates)


@pytest.mark.parametrize("limit", ["0", "-5", "many"])
def test_export_audience_refuses_a_limit_that_would_write_nobody(tmp_path: Path, limit: str) -> None:
    out = tmp_path / "none.csv"
    result = _export(tmp_path, "--all", "--limit", limit, "--out", str(out))
    assert result.returncode == 2 and "--limit" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
