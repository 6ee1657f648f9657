"""Serving a sandbox over HTTP with uvicorn: on a socket we bind first (so the real port is known before
anything is printed), either in the foreground (`cdp-mcp sandbox`) or on a background thread (tests, demos)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import anyio
import uvicorn

from cdp_mcp.clock import Clock, ManualClock
from cdp_mcp.listening import bind_socket
from cdp_mcp.sandbox.options import SampleCustomer, SandboxOptions
from cdp_mcp.sandbox.runtime import Sandbox, open_sandbox

__all__ = ["SandboxThread", "bind_socket", "serve_sandbox"]

logger = logging.getLogger(__name__)


async def serve_sandbox(sandbox: Sandbox, sock: socket.socket, *, log_level: str = "info",
                        configure_logging: bool = True,
                        on_started: Callable[[uvicorn.Server], Awaitable[None] | None] | None = None) -> None:
    """Serve `sandbox.app` on `sock` until the server is told to exit (`server.should_exit = True`).

    `configure_logging=False` leaves the process's logging configuration alone (embedded use, tests).
    """
    kwargs: dict[str, Any] = {} if configure_logging else {"log_config": None}
    config = uvicorn.Config(sandbox.app, log_level=log_level, lifespan="off", access_log=log_level == "debug",
                            **kwargs)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:
            if server.should_exit:
                return
            await anyio.sleep(0.005)
        if on_started is not None:
            result = on_started(server)
            if result is not None:
                await result


class SandboxThread:
    """A sandbox served by uvicorn on 127.0.0.1 from a background thread with its own event loop.

    `start()` blocks until the server accepts connections; `stop()` shuts it down and closes the store.
    `reset()` forgets every token and puts a ManualClock back to where it started.
    """

    def __init__(self, options: SandboxOptions | None = None, *, clock: Clock | None = None,
                 host: str = "127.0.0.1") -> None:
        self.options = options or SandboxOptions()
        self.clock: Clock = clock or ManualClock()
        self._start_time: datetime = self.clock.now()
        self._sock = bind_socket(host, 0)
        self.port: int = self._sock.getsockname()[1]
        self.host = host
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server: uvicorn.Server | None = None
        self._sandbox: Sandbox | None = None
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT{context path}`: what a client's B2B API URL would be."""
        return f"http://{self.host}:{self.port}{self.options.context_path}"

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise RuntimeError("the sandbox server is not running")
        return self._sandbox

    @property
    def tenant_hash(self) -> str:
        return self.options.tenant_hash

    @property
    def samples(self) -> list[SampleCustomer]:
        return self.sandbox.samples

    def sample(self, label: str) -> SampleCustomer:
        return self.sandbox.sample(label)

    def _run(self) -> None:
        try:
            anyio.run(self._main, backend="asyncio")
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
            logger.exception("sandbox server thread failed")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        async with open_sandbox(self.options, clock=self.clock) as sandbox:
            self._sandbox = sandbox

            def started(server: uvicorn.Server) -> None:
                self._server = server
                self._ready.set()

            await serve_sandbox(sandbox, self._sock, log_level="warning", configure_logging=False,
                                on_started=started)

    def start(self, timeout: float = 120) -> SandboxThread:
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None or self._server is None:
            self.stop()
            raise RuntimeError("the sandbox server did not start") from self._error
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(30)
        self._sock.close()

    def reset(self) -> None:
        """Forget all tokens and the creation ledger; move a ManualClock back to its start."""
        self.sandbox.store.reset_tokens()
        if isinstance(self.clock, ManualClock):
            self.clock.set(self._start_time)

    def __enter__(self) -> SandboxThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SandboxThread({self.base_url})"
