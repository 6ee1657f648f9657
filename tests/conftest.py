"""Shared fixtures: the sandbox served over loopback HTTP, as a user would run it.

`sandbox_server` is one server for the whole session (call `.reset()` when a test needs zero tokens or the
clock at its start); `start_sandbox_server(**overrides)` starts a private one (small daily limit, OAuth, ...)
that stops at the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxThread]:
    """The default sandbox (1,000 customers, seed 7) with a ManualClock, on 127.0.0.1:<free port>."""
    server = SandboxThread(SandboxOptions(), clock=ManualClock()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_sandbox_server() -> Iterator[Callable[..., SandboxThread]]:
    """Factory: `start_sandbox_server(token_daily_limit=2, oauth_key_secret=...)` -> a running private server."""
    started: list[SandboxThread] = []

    def start(**overrides: Any) -> SandboxThread:
        clock = overrides.pop("clock", None) or ManualClock()
        server = SandboxThread(SandboxOptions(**overrides), clock=clock).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
