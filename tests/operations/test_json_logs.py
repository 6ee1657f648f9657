"""CDP_LOG_FORMAT=json at DEBUG: every line on stderr is one JSON object a log store can take (time, level, logger,
message; request id and principal during a call), and however much is logged, no line holds a secret or any
sample customer's identifier: calls for every sample by each identifier, a screening, the overview resource, in
both protocol eras, refusals and failures included."""

from __future__ import annotations

import json
import logging
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from cdp_mcp import call_context
from cdp_mcp.commands.common import configure_logging, load_settings, say
from cdp_mcp.sandbox import sample_customers
from cdp_mcp.sandbox.server import SandboxThread
from tests.operations.service import clean_environment, server_process

pytestmark = pytest.mark.anyio


def _secret() -> str:
    return secrets.token_urlsafe(24)


def _identifiers() -> set[str]:
    """Everything that names a sample customer: email, mobile, customer code, full name and each part of it."""
    found: set[str] = set()
    for sample in sample_customers():
        found |= {v for v in (sample.email, sample.mobile, sample.customer_code) if v}
        if sample.gcr_id is not None:  # the household's description is not a name
            found.add(sample.full_name)
        if sample.gcr_id is not None and not sample.hostile:  # a hostile sample's name is a sentence of common words
            found |= {part for part in sample.full_name.split() if len(part) >= 3}
    return found


def _upstream_tokens(state: Path) -> set[str]:
    """The access tokens the broker holds (its state files), which the log must not hold either."""
    tokens: set[str] = set()
    for path in state.rglob("*.json"):
        document = json.loads(path.read_text())
        tokens |= {record["token"] for record in (document.get("tokens") or {}).values()}
    return tokens


async def test_a_debug_run_logs_json_without_secrets_or_customer_identifiers(
        start_sandbox_server: Callable[..., SandboxThread], tmp_path: Path) -> None:
    tenant, oauth_secret = "t" + secrets.token_hex(15) + "x", _secret()
    api = start_sandbox_server(customers=50, tenant_hash=tenant, oauth_key_secret=oauth_secret)
    bearer, audit_key, metrics_token = _secret(), _secret(), _secret()
    env = clean_environment(CDP_B2B_API_URL=api.base_url, CDP_TENANT_HASH=tenant, CDP_OAUTH_KEY_SECRET=oauth_secret,
                            CDP_MCP_AUTH_TOKEN=bearer, CDP_AUDIT_KEY=audit_key, CDP_MCP_METRICS_TOKEN=metrics_token,
                            CDP_STATE_DIR=str(tmp_path / "state"), CDP_AUDIT_LOG=str(tmp_path / "audit.jsonl"),
                            CDP_LOG_LEVEL="DEBUG", CDP_LOG_FORMAT="json")
    samples = sample_customers()
    with server_process(env, tmp_path) as server:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=60) as http:
            for mode in ("auto", "legacy"):  # the legacy era answers over SSE
                async with Client(streamable_http_client(server.mcp, http_client=http), mode=mode) as client:
                    for sample in samples:
                        for kind in ("email", "mobile", "customer_code"):
                            if getattr(sample, kind):
                                await client.call_tool("get_customer_profile", {kind: getattr(sample, kind)})
                        if sample.gcr_id is not None:
                            await client.read_resource(f"cdp://customers/{sample.gcr_id}/overview")
                    await client.call_tool("screen_customers", {
                        "segment_id": "SEG-001", "channel": "sms",
                        "customers": [{"customer_code": s.customer_code} for s in samples if s.customer_code]})
                    await client.call_tool("get_customer_profile", {"email": "not.a.customer@example.com"})
            assert (await http.get(f"{server.base}/metrics")).status_code == 401  # the MCP token is not the scraper's
            scraped = await http.get(f"{server.base}/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
            assert scraped.status_code == 200
        async with httpx2.AsyncClient() as anonymous:
            assert (await anonymous.post(server.mcp, json={}, headers={"Authorization": "Bearer wrong"})).status_code \
                == 401
        server.signal(signal.SIGTERM)
        assert await anyio.to_thread.run_sync(server.wait, 30) == 0
    text = server.output()
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(line["time"].endswith("Z") for line in lines)
    assert {"DEBUG", "INFO"} <= {line["level"] for line in lines}  # DEBUG indeed, and the start-up line
    during_calls = [line for line in lines if "request_id" in line]
    assert during_calls and all(line["principal"] == "static-token" for line in during_calls)
    assert any(line["logger"].startswith("cdp_mcp.client") for line in during_calls)  # the upstream requests' lines
    # Probes and scrapes that succeed stay out of the access log (a kubelet asks every few seconds); refusals do not.
    access = [line["message"] for line in lines if line["logger"] == "uvicorn.access"]
    assert [m for m in access if "/metrics" in m or "/healthz" in m] == [m for m in access if '"GET /metrics' in m
                                                                         and m.endswith(" 401")]
    assert len([m for m in access if "/metrics" in m]) == 1 and any('"POST /mcp' in m for m in access)
    forbidden = {tenant, oauth_secret, bearer, audit_key, metrics_token, *_upstream_tokens(tmp_path / "state")}
    assert len(forbidden) > 5  # the broker held tokens too
    leaked = sorted(value for value in forbidden | _identifiers() if value in text)
    assert not leaked, f"in the log: {leaked}"


def test_over_stdio_stdout_stays_protocol_and_metrics_stay_off(cdp_env: dict[str, str], tmp_path: Path) -> None:
    """stdio with JSON logs and a metrics port set: stderr lines are JSON (the port said to be ignored), stdout
    carries nothing but protocol (here: nothing, stdin is empty)."""
    env = clean_environment(**cdp_env | {"CDP_LOG_FORMAT": "json", "CDP_LOG_LEVEL": "INFO",
                                         "CDP_MCP_METRICS_PORT": "9464"})
    done = subprocess.run([sys.executable, "-m", "cdp_mcp", "serve"], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout == ""
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert any(line["message"].startswith("serving MCP over stdio") for line in lines)
    assert any(line["message"] == "CDP_MCP_METRICS_PORT is ignored over stdio: the HTTP transport serves the metrics"
               for line in lines)


def test_a_json_line_masks_secrets_in_the_message_and_the_traceback(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Masked before encoding: a secret with characters JSON escapes (quotes, backslashes) is masked all the same."""
    secret = 'quote"and\\backslash-' + secrets.token_hex(8)
    monkeypatch.setenv("CDP_MCP_AUTH_TOKEN", secret)
    monkeypatch.setenv("CDP_LOG_FORMAT", "json")
    try:
        load_settings()
        with call_context.bound("0123456789ab", "ops@corp.example"):
            try:
                raise RuntimeError(f"refused with {secret}")
            except RuntimeError:
                logging.getLogger("cdp_mcp.tools.registry").exception("crashed holding %s", secret)
        say("a start-up line")
    finally:
        configure_logging()  # the text format again, for the tests after this one
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    crash, started = lines[-2], lines[-1]
    assert crash["message"] == "crashed holding [secret]" and crash["level"] == "ERROR"
    assert crash["logger"] == "cdp_mcp.tools.registry"
    assert crash["request_id"] == "0123456789ab" and crash["principal"] == "ops@corp.example"
    assert "RuntimeError: refused with [secret]" in crash["exception"]
    assert started == {"time": started["time"], "level": "INFO", "logger": "cdp_mcp", "message": "a start-up line"}
    assert secret not in json.dumps(lines) and json.dumps(secret)[1:-1] not in json.dumps(lines)
