"""A running sandbox tenant in process: the store, the token service and the ASGI app, opened and closed together.

The MCP server uses it without a port (ASGI transport); `cdp-mcp sandbox` and the tests serve `.app` with uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC

import anyio.to_thread
from starlette.applications import Starlette

from cdp_mcp.clock import Clock, SystemClock
from cdp_mcp.sandbox.app import create_sandbox_app
from cdp_mcp.sandbox.options import SAMPLE_SPECS, SampleCustomer, SandboxOptions
from cdp_mcp.sandbox.store import Store
from cdp_mcp.sandbox.tokens import iso

__all__ = ["Sandbox", "open_sandbox", "sample_customers"]


def sample_customers() -> list[SampleCustomer]:
    """The well-known customers (gcrId 1..17, the hostile ones last) plus the `ambiguous` entry whose email matches
    two of them."""
    samples = [s.sample for s in SAMPLE_SPECS]
    household = [s for s in samples if s.label.startswith("household")]
    ambiguous = SampleCustomer("ambiguous", None, household[0].email, None, None, "the Garcia household",
                               "email shared by household_1 and household_2: 409 unless narrowed")
    return [*samples, ambiguous]


@dataclass(eq=False)
class Sandbox:
    """One open sandbox tenant. Secrets stay out of `repr`."""

    options: SandboxOptions
    clock: Clock
    store: Store = field(repr=False)
    app: Starlette = field(repr=False)
    samples: list[SampleCustomer] = field(default_factory=sample_customers, repr=False)

    @property
    def tenant_hash(self) -> str:
        return self.options.tenant_hash

    @property
    def oauth_key_secret(self) -> str | None:
        return self.options.oauth_key_secret

    @property
    def context_path(self) -> str:
        return self.options.context_path

    def sample(self, label: str) -> SampleCustomer:
        """A sample customer by label (`vip`, `regular`, `lapsed`, `new`, `opted_out`, ..., `ambiguous`)."""
        return next(s for s in self.samples if s.label == label)

    async def reset_tokens(self) -> None:
        """Forget every token and the creation ledger (tests sharing one sandbox start from zero)."""
        await anyio.to_thread.run_sync(self.store.reset_tokens)

    async def token_counts(self) -> dict[str, int]:
        """`created_today` and `updated_today` (UTC day of the clock) and the tenant's unexpired `live_tokens`."""
        now = self.clock.now()
        day = now.astimezone(UTC).date().isoformat()
        return await anyio.to_thread.run_sync(self.store.token_counts, self.options.tenant_hash, day, iso(now))


@asynccontextmanager
async def open_sandbox(options: SandboxOptions | None = None, *, clock: Clock | None = None) -> AsyncIterator[Sandbox]:
    """Open (seeding in a worker thread, or reusing a database built with the same seed and size) and close."""
    options = options or SandboxOptions()
    clock = clock or SystemClock()
    store = await anyio.to_thread.run_sync(lambda: Store.open(seed=options.seed, customers=options.customers,
                                                              db_path=options.db_path))
    try:
        yield Sandbox(options=options, clock=clock, store=store, app=create_sandbox_app(store, options, clock))
    finally:
        await anyio.to_thread.run_sync(store.close)
