"""The token create/update endpoints (`protocols.TokenApi`), tolerant of the open response shape.

The docs leave the response open: the token may sit at `data.token`, `token`, `data.access_token` or
`access_token`, and an expiry may or may not be stated (as an instant, as seconds to live, or as the
validity in a unit). A tenant may also answer with the token as `data` itself, under another key (`jwt`,
`authorizationToken`, an object `{"value": T}`), or as a plain-text body: each is read, but only where one value
can be the token (never a guess between two). An update answered OK without a token extends the same token.
What is stated is passed on in `IssuedToken`; what is not stays None and the broker computes it conservatively.
A creation spends the tenant's daily allowance, so it is repeated only when the request cannot have reached the
server; one that failed after reaching it is an `OutcomeUnknownError`, and a success without a token cdp-mcp can
read a `TokenUnreadableError` (the broker counts both as spent, and stops creating for that scope after the
second kind, whose shape it logs: keys only, never values). An update is idempotent and retried like a read.
These calls may go to their own base URL (`CDP_TOKEN_API_URL`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx2

from cdp_mcp import metrics
from cdp_mcp.catalog import TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, TokenKey
from cdp_mcp.client.calls import ApiCaller, TextBody
from cdp_mcp.client.failures import RequestKind
from cdp_mcp.client.protocols import IssuedToken
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.client.values import as_float, as_instant, as_text
from cdp_mcp.clock import Clock
from cdp_mcp.errors import TokenUnreadableError, UpstreamResponseError
from cdp_mcp.settings import Settings
from cdp_mcp.tracing import outcome_of, outcome_span

__all__ = ["TokenApiClient", "answer_shape", "parse_issued_token"]

logger = logging.getLogger(__name__)

_TOKEN_KEYS = ("token", "accesstoken", "authtoken")
_EXPIRES_AT_KEYS = ("expiresat", "expiry", "expiration", "expirationtime", "expireson", "validuntil", "expires")
_EXPIRES_IN_KEYS = ("expiresin", "ttl")
_VALIDITY_KEYS = ("validity",)
_UNIT_KEYS = ("validityunit", "unit", "timeunit")
_UNIT_SECONDS = {"second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1, "minute": 60, "minutes": 60, "min": 60,
                 "mins": 60, "m": 60, "hour": 3600, "hours": 3600, "h": 3600, "hr": 3600, "hrs": 3600}
_NOT_TOKENS = frozenset({"status", "message", "code", "errorcode", "result", "resource", "resources", "scope",
                         "tokentype", "type", "refreshtoken", "idtoken", "requestid", "traceid", "correlationid",
                         "uuid", "id", "tenant", "tenanthash",
                         *_EXPIRES_AT_KEYS, *_EXPIRES_IN_KEYS, *_VALIDITY_KEYS, *_UNIT_KEYS})
"""Keys whose value is something else than the token, whatever it looks like."""
_TOKEN_TEXT = re.compile(r"[\x21-\x7e]{16,8192}")
"""What a token found by guess must look like: 16+ printable ASCII characters without spaces (it travels in a
header). Documented keys take any non-empty string."""
_NOT_PLAIN = ("html", "xml", "json")


def _normalised(layer: dict[Any, Any]) -> dict[str, Any]:
    return {str(k).lower().replace("_", "").replace("-", ""): v for k, v in layer.items()}


def _layers(payload: Any) -> list[dict[str, Any]]:
    """The places a field may sit, keys normalised: a token given as an object (`{"token": {"value": T}}`), `data`,
    the other objects of the top level (`result`...), then the top level itself."""
    if not isinstance(payload, dict):
        return []
    top = _normalised(payload)
    nested = [_normalised(value) for key, value in sorted(top.items(), key=lambda item: item[0] != "data")
              if isinstance(value, dict)]
    objects = [_normalised(layer[key]) for layer in (*nested, top) for key in _TOKEN_KEYS
               if isinstance(layer.get(key), dict)]
    return [*objects, *nested, top]


def _first(layers: list[dict[str, Any]], keys: tuple[str, ...]) -> Any:
    for layer in layers:
        for key in keys:
            if layer.get(key) is not None:
                return layer[key]
    return None


def _token_like(value: Any) -> str | None:
    """`value` when it can only be a token: long, no spaces, neither a URL nor an instant."""
    if not isinstance(value, str) or not _TOKEN_TEXT.fullmatch(text := value.strip()):
        return None
    return None if "://" in text or as_instant(text) is not None else text


def _one(values: list[str]) -> str | None:
    return values[0] if len(set(values)) == 1 else None


def _guess(payload: Any, layers: list[dict[str, Any]]) -> str | None:
    """The token where the documented keys do not hold it: `data` itself, a key naming a token (`jwt`,
    `authorizationToken`), or the one token-like value of a key with no other meaning; None when nothing or several
    candidates qualify (never a guess between two)."""
    if isinstance(payload, TextBody):
        plain = not any(kind in payload.media_type.lower() for kind in _NOT_PLAIN)
        return _token_like(payload.text) if plain else None
    if isinstance(payload, str):  # a JSON string body
        return _token_like(payload)
    if isinstance(payload, dict) and (data := _token_like(payload.get("data"))) is not None:
        return data
    named = [text for layer in layers for key, value in layer.items()
             if (key == "jwt" or ("token" in key and key not in _NOT_TOKENS)) and (text := _token_like(value))]
    if named:
        return _one(named)
    for layer in layers:
        loose = [text for key, value in layer.items()
                 if key not in _NOT_TOKENS and not key.endswith("id") and (text := _token_like(value))]
        if loose:
            return _one(loose)
    return None


def answer_shape(payload: Any) -> str:
    """The shape of an answer for a log line: keys and value types, never a value."""
    if isinstance(payload, TextBody):
        return f"a {payload.media_type or 'untyped'} body of {len(payload.text)} characters"
    if isinstance(payload, dict):
        inner = ", ".join(f"{k}: {answer_shape(v)}" for k, v in list(payload.items())[:12])
        return "{" + inner + (", …" if len(payload) > 12 else "") + "}"
    if isinstance(payload, list):
        return f"[{len(payload)} items]"
    return "null" if payload is None else type(payload).__name__


def parse_issued_token(payload: Any, resources: frozenset[str], *, default_unit: str, what: str,
                       current: str | None = None) -> IssuedToken:
    """Read a create/update response into an `IssuedToken` (resources as requested).

    The token is read from the documented keys first, then from where a tenant may put it instead (`_guess`).
    `current`: the token an update was asked to extend; an update answered without a token extends it.

    Raises:
        UpstreamResponseError: the response carries no token that can be read (and `current` is None).
    """
    layers = _layers(payload)
    documented = _first(layers, _TOKEN_KEYS)
    token = documented.strip() if isinstance(documented, str) and documented.strip() else _guess(payload, layers)
    if token is None and current is not None:
        token = current  # "OK" without a token: the same token, extended
    if token is None:
        raise UpstreamResponseError(f"The {what} response carries no token cdp-mcp can read (looked for data.token, "
                                    "token, data.access_token, access_token and other spellings).")
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
    return IssuedToken(token=token, resources=frozenset(resources), expires_at=expires_at,
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
            try:
                issued = await self._issued(path, call, body, resources, what, token)
            except BaseException as exc:
                metrics.token_operation(operation, outcome_of(exc))
                raise
        metrics.token_operation(operation, "ok")
        logger.debug("%s: %d resource(s), expiry %s", what, len(resources),
                     issued.expires_at.isoformat() if issued.expires_at else "not stated")
        return issued

    async def _issued(self, path: str, call: RequestKind, body: dict[str, Any], resources: frozenset[str],
                      what: str, token: str | None) -> IssuedToken:
        payload = await self._caller.post(path, what=what, body=body, call=call)
        try:
            return parse_issued_token(payload, resources, default_unit=self._settings.tokens.token_validity_unit,
                                      what=what, current=token)
        except UpstreamResponseError:  # a creation (an update without a token extends the same one)
            # A success without a token we can read: a token was probably created (and counted) all the same.
            logger.warning("The API answered a token creation with success, but no token could be read in its "
                           "answer, shaped %s", answer_shape(payload))
            raise TokenUnreadableError(f"The API answered the token creation for {', '.join(sorted(resources))} "
                                       "with success, but cdp-mcp could not read a token in its answer.") from None
