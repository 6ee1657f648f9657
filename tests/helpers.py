"""Helpers several test packages (and the benchmarks) share: a free loopback port, an ASGI app served by uvicorn,
the environment variables `Settings` reads.

A plain module, not a conftest: importing it never registers fixtures twice.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import uvicorn
from starlette.types import ASGIApp

from cdp_mcp.settings import SETTINGS

__all__ = ["free_port", "served_on", "settings_environment_names"]


def free_port() -> int:
    """A loopback port that was free a moment ago (nobody listens on it: connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def served_on(app: ASGIApp, sock: socket.socket, *, within: float | None = 60,
                    config: uvicorn.Config | None = None) -> AsyncIterator[None]:
    """Serve `app` with uvicorn on a bound socket for the duration of the block (its lifespan included).

    `within`: seconds the whole block may take (a hung test fails instead of hanging); None for benchmarks.
    `config`: uvicorn's configuration for `app` (default: uvicorn's defaults, no log configuration of its own);
    `http_app.uvicorn_config` gives the one `cdp-mcp serve --transport http` runs with.
    """
    server = uvicorn.Server(config or uvicorn.Config(app, log_config=None, lifespan="on"))
    with anyio.fail_after(within):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            while not server.started:  # readiness, not timing: uvicorn offers no started event
                await anyio.sleep(0.005)
            try:
                yield
            finally:
                server.should_exit = True
    sock.close()


def settings_environment_names() -> frozenset[str]:
    """Every environment variable `Settings` reads, as the settings' declarations name them, for checking that files
    which configure cdp-mcp name only variables that exist."""
    return frozenset(setting.env for setting in SETTINGS)
