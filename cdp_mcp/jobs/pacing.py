"""The pace of screening work: at most CDP_SCREEN_CONCURRENCY upstream requests in flight in this process, and the
latency they take (what the cost estimates are made from).

`Pacer` is the async context manager `tools.upstream.fetch_beside_gcr_id` holds around each request. Every
screening of the process shares one, so two large jobs never double the load on the API. `counting()` gives a
job its own view that also counts the requests it made.
"""

from __future__ import annotations

import time
from types import TracebackType

import anyio

__all__ = ["Pacer"]

_SAMPLE = 20
"""Requests per latency sample: the average moves with about the last 20 to 40 requests."""


class Pacer:
    """Bounds upstream requests in flight and keeps a moving average of how long one takes (milliseconds).

    The average comes from Little's law rather than a clock per request: the request-seconds in flight (the number
    in flight integrated over time) over the requests finished, a sample every `_SAMPLE` requests, so each request
    costs two clock readings and no lookup of the task it runs in.
    """

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._in_flight = 0
        self._since = time.perf_counter()
        self._busy = 0.0  # request-seconds in flight since the last sample
        self._finished = 0  # requests finished since the last sample
        self.ms_per_request: float | None = None

    def __repr__(self) -> str:
        return f"Pacer(concurrency={self.concurrency}, ms_per_request={self.ms_per_request})"

    def _tick(self, change: int) -> None:
        now = time.perf_counter()
        self._busy += self._in_flight * (now - self._since)
        self._since = now
        self._in_flight += change

    async def __aenter__(self) -> None:
        await self._limiter.acquire()
        self._tick(1)

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        self._tick(-1)
        self._limiter.release()
        self._finished += 1
        if self._finished >= _SAMPLE or self.ms_per_request is None:
            ms = self._busy / self._finished * 1000
            self.ms_per_request = ms if self.ms_per_request is None else (self.ms_per_request + ms) / 2
            self._busy, self._finished = 0.0, 0

    def counting(self) -> Counted:
        """This pacer, counting the requests made through the view returned (one view per job)."""
        return Counted(self)


class Counted:
    """A `Pacer` seen by one job: the same bound and average, plus this job's own request count."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.requests = 0

    async def __aenter__(self) -> None:
        await self.pacer.__aenter__()
        self.requests += 1

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.pacer.__aexit__(kind, error, trace)
