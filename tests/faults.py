"""Fault injection in front of the sandbox: an ASGI app that answers chosen routes itself and passes the rest on.

`FaultInjector(app)` wraps an ASGI app: the sandbox's own (served in process through `httpx2.ASGITransport`, for
the client's tests) or `forward_to(target)` (served on loopback by `fault_proxy`, so the MCP server reaches it as
its `CDP_B2B_API_URL` over real HTTP). Faults are set per route and answered in order: a gateway's HTML 502, a
503 before the sandbox answers, a 401 for every token, a quota refusal worded unlike the sandbox, a body trickled
a few bytes at a time, the app's own answer rewritten into another shape, or held back a while (`delay`). `seen`
counts every request by the last segment of its path; `hung_up` counts trickled answers the client abandoned;
`most_in_flight` is the most requests it was answering at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import uvicorn

from cdp_mcp.sandbox.server import bind_socket

__all__ = ["Fault", "FaultInjector", "FaultProxy", "answer_with", "fault_proxy", "forward_to"]

_HOP = {b"host", b"content-length", b"connection", b"transfer-encoding"}
ASGIApp = Any


@dataclass
class Fault:
    """One way to answer a route: `status`/`body`/`headers` for the next `times` requests (None: every one); with
    `trickle`, a 200 whose body comes `chunk` bytes every `every` seconds, never ending; with `reshape`, the app's
    own answer (its status) with the body rewritten by `reshape` and sent with `headers` (a tenant that answers
    in another shape); with `delay`, the app's own answer after that many seconds (a slow API); with `release`, the
    app's own answer once the test sets that event (`delay`, if given, caps the wait): a request held exactly as
    long as the test needs it in flight, instead of a fixed wait."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    times: int | None = None
    trickle: bool = False
    chunk: int = 8
    every: float = 0.5
    reshape: Callable[[bytes], bytes] | None = None
    delay: float | None = None
    release: anyio.Event | None = None


class FaultInjector:
    """The ASGI app: requests to a path ending in a failed route get its faults, in order; the rest go to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.faults: dict[str, list[Fault]] = {}
        self.seen: Counter[str] = Counter()
        self.hung_up = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def fail(self, route: str, *faults: Fault) -> None:
        """Answer requests to paths ending in `route` with `faults`, each `times` times, then pass them on."""
        self.faults[route] = list(faults)

    def _fault_for(self, path: str) -> Fault | None:
        queue = next((q for route, q in self.faults.items() if path.endswith(route)), [])
        while queue and queue[0].times == 0:
            queue.pop(0)
        if not queue:
            return None
        if queue[0].times is not None:
            queue[0].times -= 1
        return queue[0]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self._answer(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _answer(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        self.seen[path.rsplit("/", 1)[-1]] += 1
        fault = self._fault_for(path)
        if fault is not None and fault.release is not None:
            with anyio.move_on_after(fault.delay):
                await fault.release.wait()
            fault = None
        elif fault is not None and fault.delay is not None:
            await anyio.sleep(fault.delay)
            fault = None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.reshape is not None:
            await self._reshaped(fault, fault.reshape, scope, receive, send)
            return
        while (await receive()).get("more_body"):  # the request is read whole before it is answered
            pass
        await (self._trickle(fault, receive, send) if fault.trickle else answer_with(fault, send))

    async def _reshaped(self, fault: Fault, reshape: Callable[[bytes], bytes], scope: dict[str, Any], receive: Any,
                        send: Any) -> None:
        started: dict[str, Any] = {}
        body = b""

        async def keep(message: dict[str, Any]) -> None:
            nonlocal body
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                body += message.get("body", b"")

        await self.app(scope, receive, keep)
        await answer_with(Fault(status=started["status"], body=reshape(body), headers=fault.headers), send)

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


async def answer_with(fault: Fault, send: Any) -> None:
    """Send `fault`'s status, headers and body as the whole answer."""
    headers = [(k.encode(), v.encode()) for k, v in fault.headers.items()]
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": fault.body})


def forward_to(target: str, http: httpx2.AsyncClient) -> ASGIApp:
    """An ASGI app that forwards each request to the origin of `target` (the sandbox's base URL) over HTTP."""
    origin = "/".join(target.split("/", 3)[:3])

    async def forward(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode("latin-1")) for k, v in scope["headers"] if k.lower() not in _HOP]
        query = scope.get("query_string", b"").decode()
        response = await http.post(origin + scope["path"] + (f"?{query}" if query else ""), headers=headers,
                                   content=body)
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.encode().lower() not in _HOP]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})

    return forward


class FaultProxy(FaultInjector):
    """A `FaultInjector` in front of the sandbox over HTTP; `url` is its base URL (with the context path)."""

    url = ""


@asynccontextmanager
async def fault_proxy(target: str, context_path: str) -> AsyncIterator[FaultProxy]:
    """A proxy in front of `target` (the sandbox's base URL), served on a free loopback port; `.url` is the base
    URL (with the context path) to give the MCP server as CDP_B2B_API_URL."""
    sock = bind_socket("127.0.0.1", 0)
    async with httpx2.AsyncClient(timeout=30) as http:
        proxy = FaultProxy(forward_to(target, http))
        proxy.url = f"http://127.0.0.1:{sock.getsockname()[1]}{context_path}"
        server = uvicorn.Server(uvicorn.Config(proxy, log_config=None, lifespan="off", log_level="warning",
                                               timeout_graceful_shutdown=1))
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
            sock.close()
