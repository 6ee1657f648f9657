"""cdp-mcp served over Streamable HTTP on loopback, its B2B API a sandbox on loopback: for the Tasks extension's
clients (the raw JSON-RPC client here, the official TypeScript requester)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from cdp_mcp.backend import open_backend
from cdp_mcp.http_app import create_http_app
from cdp_mcp.sandbox.server import SandboxThread, bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import served_on

__all__ = ["Serve", "serve"]

Serve = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def serve(sandbox_server: SandboxThread, tmp_path: Path) -> Serve:
    """`async with serve(**settings) as mcp_url`: cdp-mcp over HTTP on a free port (`server=` another sandbox)."""

    @asynccontextmanager
    async def serving(*, server: SandboxThread | None = None, **overrides: Any) -> AsyncIterator[str]:
        target = server or sandbox_server
        values: dict[str, Any] = {"b2b_api_url": target.base_url, "tenant_hash": target.tenant_hash,
                                  "state_dir": tmp_path / "state", "max_retries": 0}
        settings = Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]
        app = create_http_app(build_server(settings, backend=lambda: open_backend(settings, clock=target.clock)),
                              settings)
        sock = bind_socket("127.0.0.1", 0)
        async with served_on(app, sock, within=120):
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"

    return serving
