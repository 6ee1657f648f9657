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

_WEIGHT = 0.05
"""Weight of the newest request in the moving average: about the last 20 requests count."""


class Pacer:
    """Bounds upstream requests in flight and keeps a moving average of how long one takes (milliseconds)."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._started: dict[int, float] = {}
        self.ms_per_request: float | None = None

    def __repr__(self) -> str:
        return f"Pacer(concurrency={self.concurrency}, ms_per_request={self.ms_per_request})"

    async def __aenter__(self) -> None:
        await self._limiter.acquire()
        self._started[anyio.get_current_task().id] = time.perf_counter()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        started = self._started.pop(anyio.get_current_task().id, None)
        self._limiter.release()
        if started is not None and kind is None:
            ms = (time.perf_counter() - started) * 1000
            self.ms_per_request = ms if self.ms_per_request is None else (
                (1 - _WEIGHT) * self.ms_per_request + _WEIGHT * ms)

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
