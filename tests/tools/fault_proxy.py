"""A fault-injecting HTTP proxy on loopback: it forwards to the sandbox and answers chosen routes itself.

The MCP server is pointed at the proxy as its `CDP_B2B_API_URL`, so faults reach the client over real HTTP:
a gateway's HTML 502, a 401 for every token, a quota refusal worded unlike the sandbox, or a body trickled a
few bytes at a time. The proxy counts requests per route and notices when the client hangs up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import uvicorn

from cdp_mcp.sandbox.server import bind_socket

__all__ = ["Fault", "FaultProxy", "fault_proxy"]

_HOP = {b"host", b"content-length", b"connection", b"transfer-encoding"}


@dataclass
class Fault:
    """How the proxy answers a route: `status`/`body`/`headers` for the first `times` requests (None: always);
    with `trickle`, a 200 whose body comes `chunk` bytes every `every` seconds, never ending."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    times: int | None = None
    trickle: bool = False
    chunk: int = 8
    every: float = 0.5


class FaultProxy:
    """The ASGI app: `faults` by route suffix; `seen` counts requests by suffix (every request, by its last
    path segment); `hung_up` counts trickled answers the client abandoned."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.faults: dict[str, Fault] = {}
        self.seen: Counter[str] = Counter()
        self.hung_up = 0
        self.url = ""
        self._http = httpx2.AsyncClient(timeout=30)

    def fail(self, route: str, fault: Fault) -> None:
        self.faults[route] = fault

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        self.seen[path.rsplit("/", 1)[-1]] += 1
        fault = next((f for route, f in self.faults.items() if path.endswith(route)), None)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if fault is not None and (fault.times is None or fault.times > 0):
            if fault.times is not None:
                fault.times -= 1
            await (self._trickle(fault, receive, send) if fault.trickle else self._answer(fault, send))
            return
        await self._forward(scope, body, send)

    async def _answer(self, fault: Fault, send: Any) -> None:
        headers = [(k.encode(), v.encode()) for k, v in fault.headers.items()]
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": fault.body})

    async def _trickle(self, fault: Fault, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        async with anyio.create_task_group() as tg:
            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                self.hung_up += 1
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            while True:
                await send({"type": "http.response.body", "body": b" " * fault.chunk, "more_body": True})
                await anyio.sleep(fault.every)

    async def _forward(self, scope: dict[str, Any], body: bytes, send: Any) -> None:
        headers = [(k.decode(), v.decode("latin-1")) for k, v in scope["headers"] if k.lower() not in _HOP]
        query = scope.get("query_string", b"").decode()
        url = self.target.split("/", 3)[:3]
        response = await self._http.post("/".join(url) + scope["path"] + (f"?{query}" if query else ""),
                                         headers=headers, content=body)
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.encode().lower() not in _HOP]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})


@asynccontextmanager
async def fault_proxy(target: str, context_path: str) -> AsyncIterator[FaultProxy]:
    """A proxy in front of `target` (the sandbox's base URL), served on a free loopback port; `.url` is the base
    URL (with the context path) to give the MCP server as CDP_B2B_API_URL."""
    proxy = FaultProxy(target)
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(proxy, log_config=None, lifespan="off", log_level="warning",
                                           timeout_graceful_shutdown=1))
    proxy.url = f"http://127.0.0.1:{sock.getsockname()[1]}{context_path}"
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            while not server.started:  # readiness, not timing: uvicorn offers no started event
                await anyio.sleep(0.005)
            try:
                yield proxy
            finally:
                server.should_exit = True
    finally:
        await proxy._http.aclose()
        sock.close()
