"""Credentials travel in headers, and nothing the sandbox or uvicorn logs (access log included) carries them."""

from __future__ import annotations

import logging

import anyio
import httpx2
import pytest
import uvicorn

from cdp_mcp.catalog import TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Header, resource
from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox import SandboxOptions, open_sandbox
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.server import bind_socket, serve_sandbox

pytestmark = pytest.mark.anyio

SECRET = "0123456789abcdef"


async def test_debug_logs_and_access_log_carry_no_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sock = bind_socket("127.0.0.1", 0)
    options = SandboxOptions(customers=MIN_CUSTOMERS, oauth_key_secret=SECRET)
    leaked: list[str] = []
    async with open_sandbox(options, clock=ManualClock()) as sandbox, anyio.create_task_group() as tg:
        started = anyio.Event()
        servers: list[uvicorn.Server] = []

        def on_started(server: uvicorn.Server) -> None:
            servers.append(server)
            started.set()

        tg.start_soon(lambda: serve_sandbox(sandbox, sock, log_level="debug", configure_logging=False,
                                            on_started=on_started))
        await started.wait()
        base = f"http://127.0.0.1:{sock.getsockname()[1]}{options.context_path}"
        tenant = {Header.TENANT_HASH: options.tenant_hash, Header.OAUTH_KEY_SECRET: SECRET}
        vip = sandbox.sample("vip")
        async with httpx2.AsyncClient(base_url=base) as client:
            token = (await client.post(TOKEN_CREATE_PATH, headers=tenant, json={"resource": ["basic", "gcrId"]})
                     ).json()["data"]["token"]
            await client.post(TOKEN_UPDATE_PATH, headers=tenant, json={"token": token, "validity": 5})
            profile = {Header.TENANT_HASH: options.tenant_hash, Header.ACCESS_TOKEN: token}
            ok = await client.post(resource("basic").route, headers={**profile, "email_address": str(vip.email)})
            refused = await client.post(resource("segments").route, headers={**profile, "gcrId": "1"})
            await client.post(resource("gcrId").route, headers=profile, json={"email_address": vip.email})
            await client.post(TOKEN_CREATE_PATH, headers={Header.TENANT_HASH: options.tenant_hash},
                              json={"resource": ["basic"]})  # OAuth secret missing: refused
        leaked = [s for s in (options.tenant_hash, SECRET, token, str(vip.email)) if s in caplog.text]
        servers[0].should_exit = True
    assert (ok.status_code, refused.status_code) == (200, 403)
    assert resource("basic").route in caplog.text  # the access log was on: this test can see a leak
    assert leaked == []
    sock.close()
