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
from cdp_mcp.commands import common
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _secrets_masked_per_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process masks the secrets its settings hold in every log line for its whole life (`protect_secrets`); a
    test masks only its own, so another test's one-letter secret never garbles its log lines."""
    monkeypatch.setattr(common, "_SECRETS", set())
    monkeypatch.setattr(common, "_MASKED", [])


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
