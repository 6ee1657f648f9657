"""What the server's lifespan opens: the API client, the token broker and, without an API URL, the sandbox.

With `CDP_B2B_API_URL` set, the backend talks to that API (and to `CDP_TOKEN_API_URL` for tokens, when the
customer success manager gave another URL for them). Unset, it talks to the embedded sandbox in process
through `httpx2.ASGITransport`: no port, nothing on stdout. The sandbox is imported and opened (its SQLite
file under `CDP_STATE_DIR`, seeded on first use and reused after) by the first request that reaches it, not
at start-up: a host waits for the tool list, not for the sandbox, and a server configured for a real API
never imports it. Redis support is likewise imported only when `CDP_REDIS_URL` is set (broker).
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
from pydantic import SecretStr

from cdp_mcp import metrics
from cdp_mcp.broker.broker import TokenBroker
from cdp_mcp.catalog import DEFAULT_CONTEXT_PATH
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.clock import Clock, SystemClock
from cdp_mcp.keyfile import CURSOR_KEY_FILE, setting_or_kept
from cdp_mcp.settings import SANDBOX_TENANT_HASH, Settings

if TYPE_CHECKING:
    from cdp_mcp.sandbox import Sandbox

__all__ = [
    "SANDBOX_CURRENCY",
    "SANDBOX_DB_NAME",
    "SANDBOX_HOST",
    "Backend",
    "EmbeddedSandbox",
    "open_backend",
]

logger = logging.getLogger(__name__)

SANDBOX_HOST = "http://sandbox-{customers}-{seed}.invalid"
"""The base URL host the in-process sandbox is addressed by (never resolved: the ASGI transport answers)."""
SANDBOX_CURRENCY = "USD"
"""The embedded sandbox's tenant formats money with `$`."""
SANDBOX_DB_NAME = "sandbox-{customers}-{seed}.sqlite3"
_GCR_CACHE_SIZE = 10_000


class EmbeddedSandbox:
    """The in-process sandbox as an ASGI app that opens it on the first request (once, even under concurrency).

    It is closed with the backend. Opening is shielded from cancellation so a call cancelled half-way never
    leaves a half-open store behind for the next one.
    """

    def __init__(self, settings: Settings, clock: Clock, stack: AsyncExitStack) -> None:
        self.settings = settings
        self.db_path = settings.state.state_dir / SANDBOX_DB_NAME.format(customers=settings.sandbox.sandbox_customers,
                                                                   seed=settings.sandbox.sandbox_seed)
        self._clock = clock
        self._stack = stack
        self._lock = anyio.Lock()
        self._sandbox: Sandbox | None = None

    async def open(self) -> Sandbox:
        """The open sandbox: seeded (first run) or reused from `CDP_STATE_DIR`. Once open, no lock is taken."""
        if self._sandbox is None:
            async with self._lock:
                if self._sandbox is None:
                    self._sandbox = await self._open()
        return self._sandbox

    async def _open(self) -> Sandbox:
        from cdp_mcp.sandbox import SandboxOptions, open_sandbox  # noqa: PLC0415 - only when the sandbox is used

        size = self.settings.sandbox
        options = SandboxOptions(customers=size.sandbox_customers, seed=size.sandbox_seed, db_path=self.db_path)
        with anyio.CancelScope(shield=True):  # a call cancelled half-way must not leave a half-open store
            await anyio.to_thread.run_sync(lambda: self.settings.state.state_dir.mkdir(parents=True, exist_ok=True))
            sandbox = await self._stack.enter_async_context(open_sandbox(options, clock=self._clock))
        logger.debug("embedded sandbox open: %d customers in %s", self.settings.sandbox.sandbox_customers, self.db_path)
        return sandbox

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await (await self.open()).app(scope, receive, send)


@dataclass
class Backend:
    """Everything a tool call needs, opened once per server lifespan and shared by all calls."""

    settings: Settings
    client: CdpClient
    broker: TokenBroker
    sandbox: EmbeddedSandbox | None
    """The embedded sandbox when no API URL is configured (opened by its first request)."""
    base_url: str
    gcr_ids: OrderedDict[CustomerIdentity, int] = field(default_factory=OrderedDict, repr=False)
    currency: str | None = None
    """The tenant's currency once a response stated it (profile totals, trends): bare amounts are in it."""
    clock: Clock = field(default_factory=SystemClock)
    """The time the backend's API keeps (a test's sandbox clock): what "this month" is for its monthly figures."""
    cursor_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    """Seals the lists' cursors (`tools.cursors`): CDP_MCP_CURSOR_KEY, else the key kept in CDP_STATE_DIR (see
    `open_backend`); a backend built by hand gets one of its own."""

    def remember_gcr_id(self, identity: CustomerIdentity, gcr_id: int) -> None:
        """Cache identity -> gcr_id for the session (bounded, least recently stored evicted)."""
        self.gcr_ids[identity] = gcr_id
        self.gcr_ids.move_to_end(identity)
        while len(self.gcr_ids) > _GCR_CACHE_SIZE:
            self.gcr_ids.popitem(last=False)


@asynccontextmanager
async def open_backend(
    settings: Settings,
    *,
    clock: Clock | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    keep_alive: bool = True,
) -> AsyncIterator[Backend]:
    """Open the client, the broker and (without `b2b_api_url`) the embedded sandbox; close them on exit.

    Args:
        settings: the server's settings.
        clock: time for the broker and the sandbox (tests pass a `ManualClock`).
        transport: an httpx2 transport seam; by default real sockets, or the sandbox's ASGI app.
        keep_alive: run the broker's keep-alive task while the backend is open (one-shot commands turn it off).
    """
    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        sandbox: EmbeddedSandbox | None = None
        if settings.api.uses_sandbox:
            sandbox = EmbeddedSandbox(settings, clock, stack)
            # The host names the dataset, so token state of one sandbox size/seed is never offered to another.
            size = settings.sandbox
            base_url = SANDBOX_HOST.format(customers=size.sandbox_customers, seed=size.sandbox_seed) \
                + DEFAULT_CONTEXT_PATH
            transport = transport or httpx2.ASGITransport(app=sandbox)
            if settings.api.tenant_hash is None:
                settings = settings.replace(tenant_hash=SecretStr(SANDBOX_TENANT_HASH))
        else:
            base_url = str(settings.api.b2b_api_url)
        http = await stack.enter_async_context(make_http_client(settings, base_url=base_url, transport=transport))
        token_http = http
        if settings.api.token_api_url is not None and settings.api.token_api_url != base_url:
            token_http = await stack.enter_async_context(
                make_http_client(settings, base_url=settings.api.token_api_url, transport=transport))
        api = TokenApiClient(token_http, settings, clock=clock)
        broker = TokenBroker.for_settings(api, settings, base_url=base_url, clock=clock)
        stack.push_async_callback(broker.aclose)
        stack.enter_context(metrics.allowance_source(broker.allowance))  # scrapes read the shared daily allowance
        client = CdpClient(http, settings, broker, clock=clock)
        cursor_key = await anyio.to_thread.run_sync(setting_or_kept, settings.server.mcp_cursor_key,
                                                    settings.state.state_dir / CURSOR_KEY_FILE)
        if settings.state.redis_url is not None and settings.server.mcp_cursor_key is None:
            logger.warning("CDP_REDIS_URL is set but CDP_MCP_CURSOR_KEY is not: each replica seals list cursors with "
                           "a key of its own, so a next page asked of another replica is refused; give every "
                           "replica the same CDP_MCP_CURSOR_KEY")
        backend = Backend(settings=settings, client=client, broker=broker, sandbox=sandbox, base_url=base_url,
                          currency=settings.api.currency or (SANDBOX_CURRENCY if sandbox is not None else None),
                          clock=clock, cursor_key=cursor_key)
        if not keep_alive:
            yield backend
            return
        async with anyio.create_task_group() as tasks:
            # Extends tokens in use before they expire even through quiet spells, so calls after a pause
            # reuse them instead of spending creations.
            tasks.start_soon(broker.keep_alive)
            try:
                yield backend
            finally:
                tasks.cancel_scope.cancel()

