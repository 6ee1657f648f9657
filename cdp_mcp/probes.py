"""The HTTP server's probes: `/healthz` (the process is alive) and `/readyz` (it can serve calls now).

`/healthz` answers 200 whenever the process answers HTTP: a liveness probe that restarts a replica because Redis or
the identity provider is down would only add restarts to the outage. `/readyz` runs the checks that apply, each
bounded in time, all at once: Redis answers a PING (with CDP_REDIS_URL), the issuer's signing keys are loaded or
its introspection endpoint answers (with sign-in), the audit trail can be written (when it is on), and the server
is not draining (SIGTERM). Any failing: 503, naming each check's reason; a load balancer stops sending calls
until it passes again. Reasons never hold a secret, a password or a file path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import anyio
from pydantic import SecretStr

from cdp_mcp.errors import ConfigurationError
from cdp_mcp.redis_connection import redis_client

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["CHECK_TIMEOUT", "HEALTH_PATH", "READY_PATH", "Check", "Readiness", "RedisPing"]

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
CHECK_TIMEOUT = 2.0
"""Seconds each readiness check may take (Kubernetes' default probe timeout is 1 s: set timeoutSeconds >= 3)."""

Check = Callable[[], Awaitable[str | None]]
"""A readiness check: None when it passes, else why not (a short sentence without secrets)."""


class RedisPing:
    """The Redis check: a PING on a connection of its own (made at the first check, closed with the app)."""

    def __init__(self, url: SecretStr, *, timeout: float = CHECK_TIMEOUT) -> None:
        self._url = url
        self._timeout = timeout
        self._client: Redis | None = None
        self._errors: tuple[type[BaseException], ...] = ()

    def __repr__(self) -> str:
        return "RedisPing()"

    async def __call__(self) -> str | None:
        try:
            if self._client is None:
                self._client, self._errors = redis_client(self._url, timeout=self._timeout)
            await self._client.ping()
        except ConfigurationError as exc:
            return exc.message
        except self._errors as exc:
            return f"Redis does not answer ({type(exc).__name__})"
        return None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class Readiness:
    """Runs the named checks concurrently, each within `timeout` seconds; `problems()` maps each failing one to
    its reason."""

    def __init__(self, checks: Mapping[str, Check], *, timeout: float = CHECK_TIMEOUT) -> None:
        self.checks = dict(checks)
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"Readiness({', '.join(self.checks)})"

    async def problems(self) -> dict[str, str]:
        found: dict[str, str] = {}

        async def run(name: str, check: Check) -> None:
            with anyio.move_on_after(self._timeout) as scope:
                problem = await check()
            if scope.cancelled_caught:
                problem = f"no answer within {self._timeout:g} s"
            if problem is not None:
                found[name] = problem

        async with anyio.create_task_group() as tasks:
            for name, check in self.checks.items():
                tasks.start_soon(run, name, check)
        return {name: found[name] for name in self.checks if name in found}
