"""The tools' one door to the API: fetch a resource for a customer, and learn the customer's gcr_id cheaply.

`gcr_id_for` answers from what the call already knows (the gcr_id argument, the backend's session cache) and
only otherwise asks the gcrId resource once, caching identity -> gcr_id for the session (the documented `basic`
carries no gcrId, so this is how every tool names the customer, as against a real tenant). It asks only when
this call may read gcrId (`readable`: the tenant grants it and the signed-in person's scopes reach it), and
answers from the cache on the same condition, so a person never learns a gcr_id through someone else's lookup.
A lookup that fails leaves gcr_id out of the result rather than failing the call.

`fetch_beside_gcr_id` is the one way a tool fetches and names the customer: its fetches run concurrently with
the lookup, and the one rule for which gcr_id the result names is applied there (a gcr_id a fetched profile
states, else the lookup's). `gcr_id_exists` checks a bare gcr_id through `basic` instead: the gcr lookup
documents no gcrId key, so it cannot be trusted to find one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar, cast

import anyio

from cdp_mcp.access.caller import may_read, require_resource
from cdp_mcp.catalog import Scope
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.models import PageRequest
from cdp_mcp.client.reading import Reader
from cdp_mcp.client.resources.gcr import GCR_ID
from cdp_mcp.client.resources.profile import BASIC, Profile
from cdp_mcp.errors import CdpError, CustomerNotFoundError, ScopeMissingError

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend
    from cdp_mcp.settings import Settings

__all__ = [
    "Answers",
    "PlannedFetch",
    "fetch",
    "fetch_beside_gcr_id",
    "fetch_with_gcr_id",
    "gcr_id_exists",
    "gcr_id_for",
    "granted",
    "readable",
]

logger = logging.getLogger(__name__)

Model = TypeVar("Model")
Model_co = TypeVar("Model_co", covariant=True)


def granted(settings: Settings, resource: str) -> bool:
    """Whether the tenant grants `resource` (CDP_RESOURCES unset: all of them)."""
    return settings.api.resources is None or resource in settings.api.resources


def readable(settings: Settings, resource: str) -> bool:
    """Whether this call may read `resource`: the tenant grants it and the caller's sign-in reaches it."""
    return granted(settings, resource) and may_read(settings, resource)


async def fetch(backend: Backend, reader: Reader[Model], identity: CustomerIdentity, *, query: str | None = None,
                page: PageRequest | None = None) -> Model:
    """One resource for one customer, through the client (which gets a token scoped to exactly it)."""
    require_resource(backend.settings, reader.scope)  # the signed-in person's grants; noted for the audit line
    return await backend.client.fetch(reader, identity, query=query, page=page)


def _needs_lookup(backend: Backend, identity: CustomerIdentity) -> bool:
    """Whether naming the customer takes a gcr lookup: no gcr_id given or cached, and this call may read gcrId."""
    return identity.gcr_id is None and readable(backend.settings, GCR_ID.scope) and identity not in backend.gcr_ids


def _known_gcr_id(backend: Backend, identity: CustomerIdentity) -> int | None:
    """The gcr_id known without a request: given, or cached when this call may read gcrId."""
    if identity.gcr_id is not None:
        return identity.gcr_id
    return backend.gcr_ids.get(identity) if readable(backend.settings, GCR_ID.scope) else None


async def gcr_id_for(backend: Backend, identity: CustomerIdentity) -> int | None:
    """The customer's gcr_id: given, or (when this call may read gcrId) cached or resolved once (None if unknown)."""
    if not _needs_lookup(backend, identity):
        return _known_gcr_id(backend, identity)
    try:
        match = await fetch(backend, GCR_ID, identity)
    except CdpError as exc:  # the main call reports the real problem; gcr_id is a courtesy
        logger.debug("gcr_id lookup failed: %s", type(exc).__name__)
        return None
    if match.found and match.gcr_id is not None:
        backend.remember_gcr_id(identity, match.gcr_id)
        return match.gcr_id
    return None


async def gcr_id_exists(backend: Backend, identity: CustomerIdentity) -> bool | None:
    """Whether the customer of a bare gcr_id exists, read through `basic` (identifiers in headers, as documented);
    None when this call may not read basic (the id stays unverified). Never asks the gcr lookup, which a real
    tenant may answer "Not available" for a gcrId it does not look up by."""
    if not readable(backend.settings, Scope.BASIC):
        return None
    try:
        await fetch(backend, BASIC, identity)
    except CustomerNotFoundError:
        return False
    except ScopeMissingError:  # the tenant does not grant basic after all (CDP_RESOURCES unset)
        return None
    return True


@dataclass(frozen=True, slots=True, eq=False)
class PlannedFetch(Generic[Model_co]):
    """One fetch of a call: a resource's reader, with its query text and page when it takes them. Each ask is its
    own key in the `Answers` (compared by identity: two asks of one resource are two fetches)."""

    reader: Reader[Model_co]
    query: str | None = None
    page: PageRequest | None = None

    @property
    def resource(self) -> str:
        return self.reader.scope


class Answers:
    """What each ask of `fetch_beside_gcr_id` got: the resource's model, or the `CdpError` its fetch raised."""

    def __init__(self, got: dict[PlannedFetch[object], object]) -> None:
        self._got = got

    def __getitem__(self, ask: PlannedFetch[Model]) -> Model | CdpError:
        return cast("Model | CdpError", self._got[ask])  # stored by `fetch_beside_gcr_id` from `fetch(ask.reader)`

    def get(self, ask: PlannedFetch[Model]) -> Model | None:
        """The model `ask` fetched; None when its fetch failed or it was not asked."""
        answer = cast("Model | CdpError | None", self._got.get(ask))
        return None if isinstance(answer, CdpError) else answer

    def errors(self) -> dict[PlannedFetch[object], CdpError]:
        """The asks whose fetch failed, with the error each raised, in the order asked."""
        return {ask: answer for ask, answer in self._got.items() if isinstance(answer, CdpError)}

    def __len__(self) -> int:
        return len(self._got)


async def fetch_beside_gcr_id(
    backend: Backend,
    identity: CustomerIdentity,
    asks: Iterable[PlannedFetch[object]],
    *,
    limiter: AbstractAsyncContextManager[object] | None = None,
    answered: Callable[[PlannedFetch[object], object], Awaitable[None]] | None = None,
) -> tuple[Answers, int | None]:
    """Every ask fetched concurrently and, beside them, the customer's gcr_id (`gcr_id_for`).

    Each answer is the fetched model or the `CdpError` its fetch raised; `answered(ask, answer)` is awaited as each
    arrives; `limiter` bounds the requests in flight (the lookup included). The gcr_id is the one a fetched profile
    states (a tenant whose basic carries gcrId), else the lookup's. When every fetch failed the lookup is abandoned:
    the call has nothing to name. When the gcr_id is known (given or cached) no lookup task is started, and a single
    ask is awaited in the caller's task: most calls are one fetch by gcr_id, and tasks cost time on every call.
    """
    asked = list(asks)
    got: dict[PlannedFetch[object], object] = {}
    looked_up: list[int | None] = []

    async def limited(work: Callable[[], Awaitable[Model]]) -> Model:
        if limiter is None:
            return await work()
        async with limiter:
            return await work()

    async def lookup() -> None:
        looked_up.append(await limited(lambda: gcr_id_for(backend, identity)))

    async def one(ask: PlannedFetch[object]) -> None:
        try:
            got[ask] = await limited(lambda: fetch(backend, ask.reader, identity, query=ask.query, page=ask.page))
        except CdpError as exc:
            got[ask] = exc
        if answered is not None:
            await answered(ask, got[ask])

    async def every_ask() -> None:
        if len(asked) == 1:
            await one(asked[0])
            return
        async with anyio.create_task_group() as fetches:
            for ask in asked:
                fetches.start_soon(one, ask)

    if not _needs_lookup(backend, identity):
        looked_up.append(_known_gcr_id(backend, identity))
        await every_ask()
    else:
        async with anyio.create_task_group() as lookups:
            lookups.start_soon(lookup)
            await every_ask()
            if asked and all(isinstance(a, CdpError) for a in got.values()):
                lookups.cancel_scope.cancel()
    stated = next((a.gcr_id for a in got.values() if isinstance(a, Profile) and a.gcr_id is not None), None)
    answers = Answers({ask: got[ask] for ask in asked})
    return answers, stated if stated is not None else (looked_up[0] if looked_up else None)


async def fetch_with_gcr_id(backend: Backend, reader: Reader[Model], identity: CustomerIdentity, *,
                            query: str | None = None, page: PageRequest | None = None) -> tuple[Model, int | None]:
    """One resource fetched beside the customer's gcr_id (`fetch_beside_gcr_id`); the fetch's error is raised."""
    ask = PlannedFetch(reader, query, page)
    answers, gcr_id = await fetch_beside_gcr_id(backend, identity, [ask])
    if isinstance(answer := answers[ask], CdpError):
        raise answer
    return answer, gcr_id
