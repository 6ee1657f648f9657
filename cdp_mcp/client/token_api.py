"""The token create/update endpoints (`protocols.TokenApi`), tolerant of the open response shape.

The docs leave the response open: the token may sit at `data.token`, `token`, `data.access_token` or
`access_token`, and an expiry may or may not be stated (as an instant, as seconds to live, or as the
validity in a unit). What is stated is passed on in `IssuedToken`; what is not stays None and the broker
computes it conservatively. A creation spends the tenant's daily allowance, so it is repeated only when the
request cannot have reached the server; one that failed after reaching it, or was answered without a token
cdp-mcp can read, is an `OutcomeUnknownError` (the broker counts it as spent). An update is idempotent and
retried like a read. These calls may go to their own base URL (`CDP_TOKEN_API_URL`).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2

from cdp_mcp.catalog import TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, TokenKey
from cdp_mcp.client.calls import ApiCaller
from cdp_mcp.client.failures import RequestKind
from cdp_mcp.client.protocols import IssuedToken
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.client.values import as_float, as_instant, as_text
from cdp_mcp.clock import Clock
from cdp_mcp.errors import OutcomeUnknownError, UpstreamResponseError
from cdp_mcp.settings import Settings
from cdp_mcp.tracing import outcome_span

__all__ = ["TokenApiClient", "parse_issued_token"]

logger = logging.getLogger(__name__)

_TOKEN_KEYS = ("token", "accesstoken", "authtoken")
_EXPIRES_AT_KEYS = ("expiresat", "expiry", "expiration", "expirationtime", "expireson", "validuntil", "expires")
_EXPIRES_IN_KEYS = ("expiresin", "ttl")
_VALIDITY_KEYS = ("validity",)
_UNIT_KEYS = ("validityunit", "unit", "timeunit")
_UNIT_SECONDS = {"second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1, "minute": 60, "minutes": 60, "min": 60,
                 "mins": 60, "m": 60, "hour": 3600, "hours": 3600, "h": 3600, "hr": 3600, "hrs": 3600}


def _flat(payload: Any) -> list[dict[str, Any]]:
    """The places a field may sit: `data` first, then the top level; keys normalised."""
    layers = []
    if isinstance(payload, dict):
        if isinstance(payload.get("data"), dict):
            layers.append(payload["data"])
        layers.append(payload)
    return [{str(k).lower().replace("_", "").replace("-", ""): v for k, v in layer.items()} for layer in layers]


def _first(layers: list[dict[str, Any]], keys: tuple[str, ...]) -> Any:
    for layer in layers:
        for key in keys:
            if layer.get(key) is not None:
                return layer[key]
    return None


def parse_issued_token(payload: Any, resources: frozenset[str], *, default_unit: str, what: str) -> IssuedToken:
    """Read a create/update response into an `IssuedToken` (resources as requested).

    Raises:
        UpstreamResponseError: the response carries no token string.
    """
    layers = _flat(payload)
    token = _first(layers, _TOKEN_KEYS)
    if not isinstance(token, str) or not token.strip():
        raise UpstreamResponseError(f"The {what} response carries no token (looked for data.token, token, "
                                    "data.access_token, access_token).")
    raw_expiry = _first(layers, _EXPIRES_AT_KEYS)
    expires_at = as_instant(raw_expiry)
    ttl = as_float(_first(layers, _EXPIRES_IN_KEYS))
    if expires_at is not None and expires_at.year < 2000:  # a small number under an "expiry" key: seconds to live
        expires_at, ttl = None, ttl if ttl is not None else as_float(raw_expiry)
    validity_seconds = None
    if ttl is not None and ttl > 0:
        validity_seconds = int(ttl)
    elif (validity := as_float(_first(layers, _VALIDITY_KEYS))) is not None and validity > 0:
        unit = as_text(_first(layers, _UNIT_KEYS)) or default_unit
        factor = _UNIT_SECONDS.get(unit.lower())
        if factor is None:
            logger.debug("%s: unknown validity unit; ignoring the stated validity", what)
        else:
            validity_seconds = int(validity * factor)
    return IssuedToken(token=token.strip(), resources=frozenset(resources), expires_at=expires_at,
                       validity_seconds=validity_seconds)


class TokenApiClient:
    """Creates and updates access tokens for sets of resources (the broker's `TokenApi`)."""

    def __init__(self, http: httpx2.AsyncClient, settings: Settings, *, retry: RetryPolicy | None = None,
                 clock: Clock | None = None) -> None:
        self._settings = settings
        self._caller = ApiCaller(http, settings, retry=retry, clock=clock)

    def __repr__(self) -> str:
        return f"TokenApiClient({self._caller!r})"

    async def create_token(self, resources: frozenset[str]) -> IssuedToken:
        """Create a token naming exactly `resources` (spends one of the tenant's daily creations).

        Raises:
            OutcomeUnknownError: the creation failed after reaching the API (it may have been made); not repeated.
        """
        return await self._issue(TOKEN_CREATE_PATH, RequestKind.TOKEN_CREATE, resources, token=None)

    async def update_token(self, token: str, resources: frozenset[str]) -> IssuedToken:
        """Extend `token` and set its resources to `resources` (does not count as a creation)."""
        return await self._issue(TOKEN_UPDATE_PATH, RequestKind.TOKEN_UPDATE, resources, token=token)

    async def _issue(self, path: str, call: RequestKind, resources: frozenset[str], *,
                     token: str | None) -> IssuedToken:
        what = call.value
        operation = what.removeprefix("token ")
        body: dict[str, Any] = {
            TokenKey.RESOURCE.value: sorted(resources),
            TokenKey.VALIDITY.value: self._settings.tokens.token_validity,
        }
        if token is not None:
            body[TokenKey.TOKEN.value] = token
        with outcome_span(f"cdp.token {operation}", {"cdp.token.operation": operation,
                                                     "cdp.token.resources": sorted(str(r) for r in resources)}):
            payload = await self._caller.post(path, what=what, body=body, call=call)
            try:
                issued = parse_issued_token(payload, resources, default_unit=self._settings.tokens.token_validity_unit,
                                            what=what)
            except UpstreamResponseError as exc:
                if call is not RequestKind.TOKEN_CREATE:
                    raise
                # A success without a token we can read: a token was probably created (and counted) all the same.
                raise OutcomeUnknownError(f"{exc.message} A token may have been created anyway (that counts against "
                                          "the tenant's daily allowance), so the creation was not repeated.") from None
        logger.debug("%s: %d resource(s), expiry %s", what, len(resources),
                     issued.expires_at.isoformat() if issued.expires_at else "not stated")
        return issued
