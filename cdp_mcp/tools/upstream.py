"""The tools' one door to the API: fetch a resource for a customer, and learn the customer's gcr_id cheaply.

`gcr_id_for` answers from what the call already knows (the gcr_id argument, a profile fetched in the same
call, the backend's session cache) and only otherwise asks the gcrId resource once, concurrently with the
main fetch, caching identity -> gcr_id for the session (the documented `basic` carries no gcrId, so this is
how every tool names the customer, as against a real tenant). A tenant that does not grant gcrId, or a lookup
that fails, leaves gcr_id out of the result rather than failing the call. `gcr_id_exists` checks a bare gcr_id
through `basic` instead: the gcr lookup documents no gcrId key, so it cannot be trusted to find one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio

from cdp_mcp.catalog import Scope
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.models import GcrMatch, PageRequest
from cdp_mcp.errors import CdpError, CustomerNotFoundError, ScopeMissingError
from cdp_mcp.team.access import require_resource

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend
    from cdp_mcp.settings import Settings

__all__ = ["GCR_RESOURCE", "fetch", "fetch_with_gcr_id", "gcr_id_exists", "gcr_id_for", "granted"]

logger = logging.getLogger(__name__)

GCR_RESOURCE = Scope.GCR_ID


def granted(settings: Settings, resource: str) -> bool:
    """Whether the tenant grants `resource` (CDP_RESOURCES unset: all of them)."""
    return settings.resources is None or resource in settings.resources


async def fetch(backend: Backend, resource: str, identity: CustomerIdentity, *, query: str | None = None,
                page: PageRequest | None = None) -> Any:
    """One resource for one customer, through the client (which gets a token scoped to exactly it)."""
    require_resource(backend.settings, resource)  # the signed-in person's grants; noted for the audit line
    return await backend.client.fetch(resource, identity, query=query, page=page)


async def gcr_id_for(backend: Backend, identity: CustomerIdentity) -> int | None:
    """The customer's gcr_id: given, cached, or resolved once through the gcrId resource (None if unknown)."""
    if identity.gcr_id is not None:
        return identity.gcr_id
    cached = backend.gcr_ids.get(identity)
    if cached is not None or not granted(backend.settings, GCR_RESOURCE):
        return cached
    try:
        match: GcrMatch = await fetch(backend, GCR_RESOURCE, identity)
    except CdpError as exc:  # the main call reports the real problem; gcr_id is a courtesy
        logger.debug("gcr_id lookup failed: %s", type(exc).__name__)
        return None
    if match.found and match.gcr_id is not None:
        backend.remember_gcr_id(identity, match.gcr_id)
        return match.gcr_id
    return None


async def gcr_id_exists(backend: Backend, identity: CustomerIdentity) -> bool | None:
    """Whether the customer of a bare gcr_id exists, read through `basic` (identifiers in headers, as documented);
    None when the tenant does not grant basic (the id stays unverified). Never asks the gcr lookup, which a real
    tenant may answer "Not available" for a gcrId it does not look up by."""
    if not granted(backend.settings, Scope.BASIC):
        return None
    try:
        await fetch(backend, Scope.BASIC, identity)
    except CustomerNotFoundError:
        return False
    except ScopeMissingError:  # the tenant does not grant basic after all (CDP_RESOURCES unset)
        return None
    if identity.gcr_id is not None:
        backend.remember_gcr_id(identity, identity.gcr_id)
    return True


async def fetch_with_gcr_id(backend: Backend, resource: str, identity: CustomerIdentity, *,
                            query: str | None = None, page: PageRequest | None = None) -> tuple[Any, int | None]:
    """Fetch `resource` and, concurrently, the customer's gcr_id; the fetch's error wins."""
    found: list[int | None] = []
    error: CdpError | None = None

    async def lookup() -> None:
        found.append(await gcr_id_for(backend, identity))

    async with anyio.create_task_group() as tg:
        tg.start_soon(lookup)
        try:
            data = await fetch(backend, resource, identity, query=query, page=page)
        except CdpError as exc:
            error = exc
            tg.cancel_scope.cancel()
    if error is not None:
        raise error
    return data, (found[0] if found else None)
