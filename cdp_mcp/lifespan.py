"""The server's lifespan holds a `Runtime`: the `BackendSlot` (client, broker, sandbox, opened when first needed)
and the `ScreeningsSlot` (audience jobs, run in the lifespan's background).

A host starts the server to list its tools; the API client, the token broker (its state files or Redis) and
the sandbox are not needed for that, so neither they nor their modules are loaded before the first call (or
`open_after` seconds after start, so the broker's keep-alive extends tokens a restarted server finds in use).
The job engine and its stores are not needed either: the screening service is made when something first asks for
it, or when its engine's first look for jobs left by an earlier run is due. Kept apart from `backend.py` so that
importing it costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from cdp_mcp.errors import CdpError, UpstreamUnavailableError, path_failure
from cdp_mcp.jobs import SCAN_SECONDS

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend
    from cdp_mcp.jobs.service import Screenings

__all__ = ["BackendFactory", "BackendSlot", "Runtime", "ScreeningsSlot"]

logger = logging.getLogger(__name__)


BackendFactory = Callable[[], AbstractAsyncContextManager["Backend"]]


@dataclass(eq=False)
class _Attempt:
    done: anyio.Event = field(default_factory=anyio.Event)
    backend: Backend | None = None
    error: CdpError | None = None


def _failure(exc: Exception) -> CdpError:
    """An opening failure as an error the calling tool can report (a path problem names the path)."""
    if isinstance(exc, CdpError):
        return exc
    if isinstance(exc, OSError) and exc.filename:
        return path_failure(exc)
    return UpstreamUnavailableError(f"The backend could not open ({type(exc).__name__}).")


class BackendSlot:
    """The backend, opened on the first call (or `open_after` seconds after start) and kept open until shutdown.

    Opening happens in the lifespan's own task (`keep`), so what it enters is also exited there. A failed
    opening fails the calls waiting for it with the reason, and the next call tries again.
    """

    def __init__(self, factory: BackendFactory, *, open_after: float | None = None) -> None:
        self._factory = factory
        self._open_after = open_after
        self._wake = anyio.Event()
        self._stop = anyio.Event()
        self._attempt = _Attempt()

    async def get(self) -> Backend:
        """The open backend, opening it if needed.

        Raises:
            CdpError: it could not open (the reason and what to check).
        """
        attempt = self._attempt
        self._wake.set()
        await attempt.done.wait()
        if attempt.backend is None:
            raise attempt.error or UpstreamUnavailableError("The server is shutting down.")
        return attempt.backend

    async def keep(self) -> None:
        """Open the backend when asked (or `open_after`), hold it until `close()`, then close it."""
        while not self._stop.is_set():
            with anyio.move_on_after(self._open_after if self._open_after is not None else float("inf")):
                await self._wake.wait()
            attempt = self._attempt
            if self._stop.is_set():
                attempt.done.set()
                return
            try:
                async with self._factory() as backend:
                    attempt.backend = backend
                    attempt.done.set()
                    await self._stop.wait()
                return
            except Exception as exc:  # noqa: BLE001 - reported to the calls that wanted the backend
                if attempt.backend is not None:
                    logger.warning("closing the backend failed: %s", type(exc).__name__)
                    return
                attempt.error = _failure(exc)
                logger.warning("the backend could not open: %s", attempt.error.message)
                self._attempt, self._wake, self._open_after = _Attempt(), anyio.Event(), None
                attempt.done.set()

    def close(self) -> None:
        """Let `keep` close the backend (and fail any call still waiting for it)."""
        self._stop.set()
        self._wake.set()


class ScreeningsSlot:
    """The screening service of one lifespan, made by `make` when first asked for (`get`) or when its engine's
    first look for jobs is due (`first_look` seconds after `keep` starts, when an engine started with the server
    would look), and run by `keep` until `stop`.

    A job left by an earlier run is taken when it would have been had the service started with the server; a host
    that starts the server to list its tools waits for none of the job machinery's modules.
    """

    def __init__(self, make: Callable[[], Screenings], *, first_look: float = SCAN_SECONDS) -> None:
        self._make = make
        self._first_look = first_look
        self._screenings: Screenings | None = None
        self._wanted = anyio.Event()
        self._stop = anyio.Event()
        self._stopped = anyio.Event()

    def get(self) -> Screenings:
        """The service, made now if it was not yet (its engine starts at `keep`'s next turn)."""
        if self._screenings is None:
            self._screenings = self._make()
            self._wanted.set()
        return self._screenings

    async def keep(self) -> None:
        """Run the service from its first use (or first look) until `stop()`: its jobs stop and its store closes
        before this returns."""
        due = anyio.current_time() + self._first_look
        try:
            with anyio.move_on_after(self._first_look):
                await self._wanted.wait()
            if self._stop.is_set() and self._screenings is None:
                return
            screenings = self.get()
            async with screenings.running():
                with anyio.CancelScope(deadline=due):
                    await self._stop.wait()
                screenings.engine.wake()  # the first look, when a service started with the server would take it
                await self._stop.wait()
        finally:
            self._stopped.set()

    async def stop(self) -> None:
        """Stop the service (if it was made) and wait until its jobs stopped and its store closed."""
        self._stop.set()
        self._wanted.set()
        await self._stopped.wait()


@dataclass(frozen=True, slots=True)
class Runtime:
    """What every request of one server lifespan shares (the SDK's lifespan context)."""

    backend: BackendSlot
    jobs: ScreeningsSlot

    @property
    def screenings(self) -> Screenings:
        """The screening service (made on first use: see `ScreeningsSlot`)."""
        return self.jobs.get()
