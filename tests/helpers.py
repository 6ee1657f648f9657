"""Helpers several test packages (and the benchmarks) share: a free loopback port, an ASGI app served by uvicorn,
a private redis-server that can be stopped and started again, the environment variables `Settings` reads.

A plain module, not a conftest: importing it never registers fixtures twice.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import uvicorn
from starlette.types import ASGIApp

from cdp_mcp.settings import SETTINGS

__all__ = ["LIST_BUDGET", "MODEL_BUDGET", "SCREENING_LIST_BUDGET", "RedisProcess", "Surface", "descriptors",
           "free_port", "served_on", "settings_environment_names", "wait_until_answering", "worker_threads"]


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


def wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path, *, within: float = 60) -> None:
    """Start-up, not a test: wait until GET `url` answers 200, or fail with the end of `log` when the process exits
    or `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited ({process.returncode}): {log.read_text()[-3000:]}")
        try:
            if httpx2.get(url, timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {within:g} s: {log.read_text()[-3000:]}")
        time.sleep(0.05)


class RedisProcess:
    """A private redis-server on 127.0.0.1:<free port>, password-protected, nothing saved to disk; `stop()` and
    `start()` take it down and bring it back on the same port (Redis outages). `binary()` is None when none is
    installed: callers skip, saying so."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server")

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        binary = self.binary()
        if binary is None:
            raise RuntimeError("redis-server is not on PATH (apt-get install redis-server)")
        args = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--dir", str(self.directory), "--requirepass", self.password,
                "--logfile", str(self.directory / "redis.log")]
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:  # start-up, not a test: wait until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start; see {self.directory / 'redis.log'}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def descriptors(prefix: str) -> tuple[int, int]:
    """(open file descriptors of this process on paths starting with `prefix`, all of them); Linux (/proc) only."""
    on_prefix = every = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed while listing (the listing's own descriptor)
            continue
        every += 1
        on_prefix += target.startswith(prefix)
    return on_prefix, every


def worker_threads() -> set[threading.Thread]:
    """anyio's worker threads alive (the objects: a retired thread's ident may be reused by its successor)."""
    return {t for t in threading.enumerate() if t.name.startswith("AnyIO worker thread")}


MODEL_BUDGET = 12 * 1024
"""Bytes of the descriptions and input schemas of every tool served (what hosts give the model): issue 17's limit."""
LIST_BUDGET = 22 * 1024
"""Bytes of the whole compact tools/list, which every conversation loads before its first question: issue 17's
limit, for the sixteen tools it measured (every tool but the audience-screening ones)."""
SCREENING_LIST_BUDGET = 5632
"""Bytes the three audience-screening tools (issue 18) add to the whole list, held apart from LIST_BUDGET: the sixteen
leave 1.3 KB of it, less than the three need even bare (their output schemas alone are 2.5 KB). Together with the
sixteen they keep within MODEL_BUDGET, the part hosts give the model."""


def _bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@dataclass(frozen=True)
class Surface:
    """Bytes of a `tools/list` answer, compact JSON as on the wire, by part (see tests/bench/bench_surface.py)."""

    tools: int
    whole: int  # the `tools` array: every definition, whole
    descriptions: int  # the tool descriptions' text
    inputs: int  # input schemas
    outputs: int  # output schemas

    @property
    def for_the_model(self) -> int:
        """What hosts give the model for each tool: its description and input schema."""
        return self.descriptions + self.inputs

    @classmethod
    def of(cls, tools: Sequence[Any]) -> Surface:
        """Measure listed tools (the SDK's `Tool` objects, as `Client.list_tools()` returns them)."""
        listed = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
        return cls(tools=len(listed), whole=_bytes(listed),
                   descriptions=sum(len(d.get("description", "").encode()) for d in listed),
                   inputs=sum(_bytes(d["inputSchema"]) for d in listed),
                   outputs=sum(_bytes(d["outputSchema"]) for d in listed if "outputSchema" in d))


def settings_environment_names() -> frozenset[str]:
    """Every environment variable `Settings` reads, as the settings' declarations name them, for checking that files
    which configure cdp-mcp name only variables that exist."""
    return frozenset(setting.env for setting in SETTINGS)
