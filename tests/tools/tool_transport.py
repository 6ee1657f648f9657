"""A real HTTP transport that records what it sends and can fail chosen paths: a fault injector, not a mock."""

from __future__ import annotations

import httpx2

__all__ = ["RecordingTransport"]


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Sends through a real `AsyncHTTPTransport`; answers 503 itself for paths ending in one of `fail`.

    Keeps every request path in `paths` and, for paths ending in one of `keep`, the response body in `bodies`.
    """

    def __init__(self, *, fail: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self._fail = fail
        self._keep = keep
        self.paths: list[str] = []
        self.bodies: list[tuple[str, bytes]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(request.url.path)
        if self._fail and request.url.path.endswith(self._fail):
            return httpx2.Response(503, json={"status": "ERROR", "message": "down for the test", "data": None})
        response = await self._inner.handle_async_request(request)
        if not (self._keep and request.url.path.endswith(self._keep)):
            return response
        body = await response.aread()
        self.bodies.append((request.url.path, body))
        return httpx2.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()
