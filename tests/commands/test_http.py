"""Streamable HTTP on a loopback port with uvicorn: both eras, /healthz, the bearer token, Origin checks."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from cdp_mcp.cli import main
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.http_app import HttpLimits, create_http_app, uvicorn_config
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.registry import all_specs
from tests.helpers import served_on
from tests.team.replicas import running_replicas

pytestmark = pytest.mark.anyio

TOKEN = "s3cr3t-token-for-tests-0123456789"
INITIALIZE: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                         "clientInfo": {"name": "test", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


@asynccontextmanager
async def serving(settings: Settings, *, host: str = "127.0.0.1", **options: Any) -> AsyncIterator[str]:
    """The HTTP app for `settings` (built as if bound to `host`), served on a free 127.0.0.1 port."""
    app = create_http_app(build_server(settings), settings, host=host, **options)
    sock = bind_socket("127.0.0.1", 0)
    async with served_on(app, sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def _post(base: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{base}/mcp", json=INITIALIZE, headers=HEADERS | (headers or {}))


async def test_loopback_serves_both_eras_and_a_health_check(sandbox_settings: Settings,
                                                            showcase: SampleCustomer) -> None:
    async with serving(sandbox_settings) as base:
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{base}/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["backend"] == "embedded-sandbox"
        for mode in ("auto", "legacy"):
            async with Client(f"{base}/mcp", mode=mode) as client:
                assert len((await client.list_tools()).tools) == len(all_specs())
                result = await client.call_tool("get_customer_profile", {"email": showcase.email})
            assert not result.is_error and result.structured_content["gcr_id"] == showcase.gcr_id  # type: ignore[index]


async def test_bearer_token_is_required_when_set(sandbox_settings: Settings, showcase: SampleCustomer) -> None:
    settings = sandbox_settings.replace(mcp_auth_token=SecretStr(TOKEN))
    async with serving(settings) as base:
        missing = await _post(base)
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await _post(base, {"Authorization": f"Bearer {TOKEN[:-1]}x"})
        assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{base}/healthz")  # open, and tells nothing secret
        assert health.status_code == 200 and TOKEN not in health.text
        authorized = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
        async with authorized, Client(streamable_http_client(f"{base}/mcp", http_client=authorized)) as client:
            result = await client.call_tool("resolve_customer", {"email": showcase.email})
        assert not result.is_error and result.structured_content["gcr_id"] == showcase.gcr_id  # type: ignore[index]


async def test_foreign_origins_and_hosts_are_refused_on_loopback(sandbox_settings: Settings) -> None:
    async with serving(sandbox_settings, allowed_origins=["https://console.example.com"]) as base:
        assert (await _post(base, {"Origin": "https://evil.example"})).status_code == 403
        assert (await _post(base, {"Origin": "http://localhost.evil.example:80"})).status_code == 403
        assert (await _post(base, {"Origin": "http://localhost:5173"})).status_code == 200  # a local inspector
        assert (await _post(base, {"Origin": "https://console.example.com"})).status_code == 200
        assert (await _post(base, {"Host": "rebound.example:80"})).status_code == 421  # DNS rebinding


def test_off_loopback_refuses_to_start_without_a_strong_token(sandbox_settings: Settings,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError, match="CDP_MCP_AUTH_TOKEN"):
        create_http_app(build_server(sandbox_settings), sandbox_settings, host="0.0.0.0")
    weak = sandbox_settings.replace(mcp_auth_token=SecretStr("short"))
    with pytest.raises(ConfigurationError, match="too short"):
        create_http_app(build_server(weak), weak, host="0.0.0.0")
    assert main(["serve", "--transport", "http", "--host", "0.0.0.0"]) == 2
    assert "CDP_MCP_AUTH_TOKEN" in capsys.readouterr().err


async def test_off_loopback_needs_the_token_and_accepts_no_browser_origin_by_default(
    sandbox_settings: Settings,
) -> None:
    settings = sandbox_settings.replace(mcp_auth_token=SecretStr(TOKEN))
    async with serving(settings, host="0.0.0.0") as base:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await _post(base)).status_code == 401
        assert (await _post(base, bearer | {"Host": "cdp.internal.example:8000"})).status_code == 200
        assert (await _post(base, bearer | {"Origin": "http://localhost:5173"})).status_code == 403


async def test_off_loopback_the_origin_allowlist_is_the_only_origin_check(sandbox_settings: Settings) -> None:
    settings = sandbox_settings.replace(mcp_auth_token=SecretStr(TOKEN),
                                        mcp_allowed_origins=["https://console.example.com"])
    bearer = {"Authorization": f"Bearer {TOKEN}", "Host": "cdp.example.com"}
    async with serving(settings, host="0.0.0.0") as base:
        assert (await _post(base, bearer | {"Origin": "https://console.example.com"})).status_code == 200
        for foreign in ("https://evil.example", "https://console.example.com.evil.example", "http://localhost:5173"):
            refused = await _post(base, bearer | {"Origin": foreign})
            assert refused.status_code == 403 and refused.json()["error"] == "forbidden", foreign


async def test_on_loopback_one_check_decides_origin_and_host(sandbox_settings: Settings) -> None:
    """The Origin and Host rules are one check, ours: a loopback origin without a port (a page on port 80) is
    loopback like any other, where the SDK's own copy of the check used to refuse it."""
    async with serving(sandbox_settings) as base:
        for origin in ("http://localhost", "http://127.0.0.1", "http://[::1]", "http://localhost:8080"):
            assert (await _post(base, {"Origin": origin})).status_code == 200, origin
        for origin in ("http://localhost:80.evil.example", "http://localhost.evil.example", "null"):
            refused = await _post(base, {"Origin": origin})
            assert refused.status_code == 403 and refused.json()["error"] == "forbidden", origin
        for host in ("rebound.example", "rebound.example:80", "127.0.0.1.nip.io:8000", "localhost:80.evil"):
            assert (await _post(base, {"Host": host})).status_code == 421, host
        for host in ("localhost", "127.0.0.1:8000", "[::1]:8000"):
            assert (await _post(base, {"Host": host})).status_code == 200, host


async def _raw_post(base: str, headers: list[tuple[str, str]], path: str = "/mcp") -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{base}{path}", json=INITIALIZE, headers=[*HEADERS.items(), *headers])


async def test_two_authorization_headers_are_a_bad_request_whichever_comes_first(sandbox_settings: Settings) -> None:
    settings = sandbox_settings.replace(mcp_auth_token=SecretStr(TOKEN))
    good, other = ("Authorization", f"Bearer {TOKEN}"), ("Authorization", "Bearer someone-elses-token-0123")
    async with serving(settings) as base:
        assert (await _raw_post(base, [good])).status_code == 200
        for headers in ([good, other], [other, good], [good, good]):
            response = await _raw_post(base, headers)
            assert response.status_code == 400, headers
            assert response.json()["error"] == "invalid_request"
            assert "one Authorization header" in response.json()["error_description"]
    async with serving(sandbox_settings) as base:  # on loopback without a token too: never a guess between two
        assert (await _raw_post(base, [good, other])).status_code == 400


async def test_an_access_token_in_the_url_is_refused_and_never_logged(
    sandbox_settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    settings = sandbox_settings.replace(mcp_auth_token=SecretStr(TOKEN))
    app = create_http_app(build_server(settings), settings)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    async with served_on(app, sock, config=uvicorn_config(app, host="127.0.0.1", port=port)):
        base = f"http://127.0.0.1:{port}"
        for path in (f"/mcp?access_token={TOKEN}", f"/mcp?x=1&Access_Token={TOKEN}", f"/healthz?access_token={TOKEN}"):
            response = await _raw_post(base, [("Authorization", f"Bearer {TOKEN}")], path=path)
            assert response.status_code == 400, path
            assert response.json()["error"] == "invalid_request" and TOKEN not in response.text
            assert "Authorization header" in response.json()["error_description"]
        assert (await _raw_post(base, [("Authorization", f"Bearer {TOKEN}")], path="/mcp?x=1")).status_code == 200
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == 4 and "access_token=[redacted]" in access[0].getMessage()  # the request is still logged
    assert TOKEN not in caplog.text and all(TOKEN not in r.getMessage() for r in caplog.records)


async def test_no_customer_data_reaches_the_log_even_at_debug(cdp_env: dict[str, str], tmp_path: Path,
                                                                showcase: SampleCustomer) -> None:
    """`cdp-mcp serve --transport http` with CDP_LOG_LEVEL=DEBUG: libraries that log bodies (the SSE library logs
    every response chunk) must not put a customer's name, email or mobile in the server's log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDP_")} | cdp_env | {"CDP_LOG_LEVEL": "DEBUG"}
    with running_replicas(1, env, tmp_path) as (server,):
        for mode in ("auto", "legacy"):  # the legacy era answers over SSE
            async with Client(server.mcp, mode=mode) as client:
                profile = await client.call_tool("get_customer_profile", {"email": showcase.email})
                await client.call_tool("screen_customers", {"customers": [{"mobile": showcase.mobile}]})
                await client.read_resource(f"cdp://customers/{showcase.gcr_id}/overview")
    assert not profile.is_error and showcase.full_name in str(profile.structured_content)
    log = server.log.read_text()
    assert "DEBUG" in log and "uvicorn" in log  # the log is at DEBUG indeed
    for value in (showcase.email, showcase.mobile, *showcase.full_name.split()):
        assert value and value not in log, value


@asynccontextmanager
async def serving_as_cdp_mcp_does(settings: Settings, limits: HttpLimits) -> AsyncIterator[tuple[str, int]]:
    """The app served with the uvicorn configuration `cdp-mcp serve --transport http` uses; (host, port)."""
    app = create_http_app(build_server(settings), settings, limits=limits)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    async with served_on(app, sock, config=uvicorn_config(app, host="127.0.0.1", port=port, limits=limits)):
        yield "127.0.0.1", port


async def _answer_within(seconds: float, stream: anyio.abc.ByteStream) -> bytes:
    """Everything the server sends until it closes the connection (failing the test after `seconds`)."""
    received = b""
    with anyio.fail_after(seconds):
        while True:
            try:
                received += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
                return received


async def test_a_client_too_slow_with_its_headers_or_body_is_cut_off(sandbox_settings: Settings) -> None:
    """Slowloris: headers sent a line a while, or a body a byte a while, hold a connection for ever unless the
    whole of each must arrive within its deadline."""
    limits = HttpLimits(header_timeout=1.0, body_timeout=1.0)
    async with serving_as_cdp_mcp_does(sandbox_settings, limits) as (host, port):
        async with await anyio.connect_tcp(host, port) as silent:  # connects, sends nothing
            assert await _answer_within(3, silent) == b""
        async with await anyio.connect_tcp(host, port) as trickle, anyio.create_task_group() as tasks:
            async def headers_slowly() -> None:
                await trickle.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                for n in range(20):
                    await anyio.sleep(0.2)
                    await trickle.send(f"X-Pad-{n}: x\r\n".encode())

            tasks.start_soon(headers_slowly)
            answer = await _answer_within(3, trickle)
            tasks.cancel_scope.cancel()
        assert answer.startswith(b"HTTP/1.1 408 ")
        body = json.dumps(INITIALIZE).encode()
        head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: "
                f"{HEADERS['Accept']}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        async with await anyio.connect_tcp(host, port) as dribble, anyio.create_task_group() as tasks:
            async def body_slowly() -> None:
                await dribble.send(head)
                for byte in body:
                    await anyio.sleep(0.2)
                    await dribble.send(bytes([byte]))

            tasks.start_soon(body_slowly)
            answer = await _answer_within(3, dribble)
            tasks.cancel_scope.cancel()
        assert answer.startswith(b"HTTP/1.1 408 ") and b"request body" in answer
        async with httpx2.AsyncClient() as http:  # prompt clients are served as before
            assert (await http.post(f"http://{host}:{port}/mcp", json=INITIALIZE, headers=HEADERS)).status_code == 200


async def test_a_body_larger_than_any_request_is_refused_unread(sandbox_settings: Settings) -> None:
    async with serving_as_cdp_mcp_does(sandbox_settings, HttpLimits(max_body=64 * 1024)) as (host, port), \
            httpx2.AsyncClient() as http:
        response = await http.post(f"http://{host}:{port}/mcp", content=b"[" + b" " * 100_000 + b"]",
                                   headers=HEADERS | {"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "request_too_large"
