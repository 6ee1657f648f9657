"""When and how long to wait before retrying a safe read: capped exponential backoff with full jitter.

The policy is data with injectable `sleep`, `monotonic` and `random`, so tests drive it without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from cdp_mcp.settings import Settings

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries, within how many seconds in total, and the backoff between them.

    `max_retries` counts retries after the first attempt; `budget` bounds the time of all attempts and
    waits of one call together. A wait (computed or asked by `Retry-After`) that would overrun the budget
    is not started: the call fails at once instead.
    """

    max_retries: int = 3
    budget: float = 20.0
    base_delay: float = 0.25
    max_delay: float = 4.0
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(max_retries=settings.requests.max_retries, budget=settings.requests.retry_budget)

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**retry)] for the `retry`-th retry (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(retry, 30)))
        return self.random() * ceiling
