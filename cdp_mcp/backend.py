"""What the server's lifespan opens: the API client, the token broker and, without an API URL, the sandbox.

With `CDP_B2B_API_URL` set, the backend talks to that API (and to `CDP_TOKEN_API_URL` for tokens, when the
customer success manager gave another URL for them). Unset, it opens the embedded sandbox in process
(its SQLite file under `CDP_STATE_DIR`, so restarts reuse its data and tokens) and reaches it through
`httpx2.ASGITransport`: no port, nothing on stdout, one line on stderr saying the sandbox is in use.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx2
from pydantic import SecretStr

from cdp_mcp.broker.broker import TokenBroker
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.clock import Clock, SystemClock
from cdp_mcp.sandbox import Sandbox, SandboxOptions, open_sandbox
from cdp_mcp.settings import Settings

__all__ = ["SANDBOX_CURRENCY", "SANDBOX_DB_NAME", "SANDBOX_HOST", "Backend", "open_backend"]

logger = logging.getLogger(__name__)

SANDBOX_HOST = "http://sandbox-{customers}-{seed}.invalid"
"""The base URL host the in-process sandbox is addressed by (never resolved: the ASGI transport answers)."""
SANDBOX_CURRENCY = "USD"
"""The embedded sandbox's tenant formats money with `$`."""
SANDBOX_DB_NAME = "sandbox-{customers}-{seed}.sqlite3"
_GCR_CACHE_SIZE = 10_000


@dataclass
class Backend:
    """Everything a tool call needs, opened once per server lifespan and shared by all calls."""

    settings: Settings
    client: CdpClient
    broker: TokenBroker
    sandbox: Sandbox | None
    base_url: str
    gcr_ids: OrderedDict[CustomerIdentity, int] = field(default_factory=OrderedDict, repr=False)
    currency: str | None = None
    """The tenant's currency once a response stated it (profile totals, trends): bare amounts are in it."""

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
        sandbox: Sandbox | None = None
        if settings.uses_sandbox:
            await anyio.to_thread.run_sync(lambda: settings.state_dir.mkdir(parents=True, exist_ok=True))
            db = settings.state_dir / SANDBOX_DB_NAME.format(customers=settings.sandbox_customers,
                                                             seed=settings.sandbox_seed)
            options = SandboxOptions(customers=settings.sandbox_customers, seed=settings.sandbox_seed, db_path=db)
            sandbox = await stack.enter_async_context(open_sandbox(options, clock=clock))
            # The host names the dataset, so token state of one sandbox size/seed is never offered to another.
            base_url = SANDBOX_HOST.format(customers=settings.sandbox_customers, seed=settings.sandbox_seed) \
                + sandbox.context_path
            transport = transport or httpx2.ASGITransport(app=sandbox.app)
            if settings.tenant_hash is None:
                settings = settings.model_copy(update={"tenant_hash": SecretStr(sandbox.tenant_hash)})
            logger.warning("CDP_B2B_API_URL is not set: serving the embedded sandbox (%d synthetic customers, "
                           "data in %s). Set CDP_B2B_API_URL and CDP_TENANT_HASH to use your tenant.",
                           settings.sandbox_customers, db)
        else:
            base_url = str(settings.b2b_api_url)
        http = await stack.enter_async_context(make_http_client(settings, base_url=base_url, transport=transport))
        token_http = http
        if settings.token_api_url is not None and settings.token_api_url != base_url:
            token_http = await stack.enter_async_context(
                make_http_client(settings, base_url=settings.token_api_url, transport=transport))
        api = TokenApiClient(token_http, settings, clock=clock)
        broker = TokenBroker.for_settings(api, settings, base_url=base_url, clock=clock)
        stack.push_async_callback(broker.aclose)
        client = CdpClient(http, settings, broker, clock=clock)
        backend = Backend(settings=settings, client=client, broker=broker, sandbox=sandbox, base_url=base_url,
                          currency=settings.currency or (SANDBOX_CURRENCY if sandbox is not None else None))
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
