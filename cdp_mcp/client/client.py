"""The async data client: one generic request path for every profile resource, built from the catalog.

`CdpClient.fetch` takes a resource's `Reader` (`client/resources/`) and returns its domain model, typed; it
also takes a resource name, for callers that choose one at run time, and then returns a `DomainModel`. It asks
the token source for a token scoped to the resource, posts to the catalog route with
the credential and identifier headers (for gcr also the documented identifier keys in the body, never gcrId),
the query parameter and the paging body, and parses the envelope into the resource's domain model. A 401
means the token is dead whatever the clock says: the client tells the token source, acquires again and
retries exactly once; a second 401 with the renewed token is a `TokenRejectedError` (retrying will not help).
"""

from __future__ import annotations

import logging
from typing import TypeVar, overload

import httpx2
from pydantic import ValidationError

from cdp_mcp.catalog import Header, Resource
from cdp_mcp.catalog import resource as catalog_resource
from cdp_mcp.client.calls import ApiCaller
from cdp_mcp.client.envelopes import unwrap
from cdp_mcp.client.failures import not_one_customer
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.models import DomainModel, PageRequest
from cdp_mcp.client.paging import paging_body
from cdp_mcp.client.protocols import TokenSource
from cdp_mcp.client.reading import Reader
from cdp_mcp.client.resources import READERS
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.clock import Clock
from cdp_mcp.errors import (
    AmbiguousCustomerError,
    InvalidInputError,
    TokenExpiredError,
    TokenRejectedError,
    UpstreamResponseError,
)
from cdp_mcp.settings import Settings

__all__ = ["CdpClient"]

logger = logging.getLogger(__name__)

Model = TypeVar("Model")


class CdpClient:
    """Reads customer data from the Customer Profile B2B API (or the sandbox) into domain models."""

    def __init__(self, http: httpx2.AsyncClient, settings: Settings, tokens: TokenSource, *,
                 retry: RetryPolicy | None = None, clock: Clock | None = None) -> None:
        self._caller = ApiCaller(http, settings, retry=retry, clock=clock)
        self._tokens = tokens

    def __repr__(self) -> str:
        return f"CdpClient({self._caller!r})"

    @overload
    async def fetch(self, resource: Reader[Model], identity: CustomerIdentity, *, query: str | None = None,
                    page: PageRequest | None = None) -> Model: ...

    @overload
    async def fetch(self, resource: str | Resource, identity: CustomerIdentity, *, query: str | None = None,
                    page: PageRequest | None = None) -> DomainModel: ...

    async def fetch(
        self,
        resource: Reader[Model] | str | Resource,
        identity: CustomerIdentity,
        *,
        query: str | None = None,
        page: PageRequest | None = None,
    ) -> Model | DomainModel:
        """Fetch one resource about one customer.

        Args:
            resource: the resource's reader (the result is its model), or a catalog resource or its name.
            identity: the customer's identifiers (validated; at least one).
            query: the value of the resource's query parameter (segment name, campaign name, segment id).
            page: which page, in the resource's paging style; the result's `page.next` is the next one.

        Raises:
            CdpError: a typed error (see `cdp_mcp.errors`); never an upstream body or a traceback.
        """
        if isinstance(resource, Reader):
            return await self._read(resource, identity, query, page)
        return await self._read(_reader(resource), identity, query, page)

    async def _read(self, reader: Reader[Model], identity: CustomerIdentity, query: str | None,
                    page: PageRequest | None) -> Model:
        spec = reader.resource
        params = _params(spec, query)
        body = paging_body(spec, page)
        if spec.identity_in_body:
            body = {**(body or {}), **identity.wire(gcr_body=True)} or None
        payload = await self._post_with_token(spec, identity, identity.wire(), params, body)
        return _parse(reader, payload, page, identity)

    async def _post_with_token(self, spec: Resource, identity: CustomerIdentity, identifiers: dict[str, str],
                               params: dict[str, str] | None, body: dict[str, object] | None) -> object:
        """Send with a token for exactly this resource; on a 401, renew once and send once more."""
        scope = frozenset({spec.name})

        async def send(token: str) -> object:
            headers = {Header.ACCESS_TOKEN.value: token, **identifiers}
            return await self._caller.post(spec.route, what=spec.name, headers=headers, params=params, body=body,
                                           identity=identity)

        token = await self._tokens.acquire(scope)
        try:
            return await send(token)
        except TokenExpiredError:
            logger.debug("%s: token refused; renewing once", spec.name)
            await self._tokens.invalidate(scope, token)
        try:
            return await send(await self._tokens.acquire(scope))
        except TokenExpiredError as exc:
            raise TokenRejectedError(f"The API refused the access token for {spec.name} again right after it was "
                                     f"renewed (HTTP 401 twice{f', {exc.upstream_code}' if exc.upstream_code else ''})."
                                     ) from None


def _reader(resource: str | Resource) -> Reader[DomainModel]:
    name = resource.name if isinstance(resource, Resource) else resource
    try:
        return READERS[catalog_resource(name).name]
    except KeyError as exc:
        raise InvalidInputError(str(exc.args[0]), hint="Use one of the catalog's resource names.") from None


def _params(spec: Resource, query: str | None) -> dict[str, str] | None:
    if spec.query_param is None:
        if query is not None:
            raise InvalidInputError(f"{spec.name} takes no query.", hint="Call it without a query.")
        return None
    if query is None or not query.strip():
        raise InvalidInputError(f"{spec.name} needs {spec.query_param}.",
                                hint=f"Give the {spec.query_param} to look for.")
    return {spec.query_param: query.strip()}


def _parse(reader: Reader[Model], payload: object, page: PageRequest | None, identity: CustomerIdentity) -> Model:
    spec = reader.resource
    try:
        return reader.read(spec, unwrap(spec, payload), page)
    except AmbiguousCustomerError as exc:  # several golden records in the gcr list
        raise not_one_customer(identity, matches=exc.matches) from None
    except (ValidationError, ValueError, TypeError) as exc:
        # Log the kind of failure only: validation messages quote input values (personal data).
        logger.debug("%s: unusable response (%s)", spec.name, type(exc).__name__)
        raise UpstreamResponseError(f"The API answered {spec.name} in a shape cdp-mcp cannot read.") from None
