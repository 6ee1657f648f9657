"""Token issue, update and validation for the sandbox tenant, against the injected clock.

Creations count per tenant per UTC calendar day against a soft limit; updates never count. Tokens and the
ledger live in the store, so a standalone sandbox keeps both across restarts of the same database file.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread

from cdp_mcp.catalog import RESOURCE_NAMES, RESOURCES
from cdp_mcp.clock import Clock
from cdp_mcp.sandbox.contract import DEFAULT_VALIDITY, MAX_VALIDITY, TOKEN_LENGTH, ErrorCode, SandboxError
from cdp_mcp.sandbox.options import SandboxOptions
from cdp_mcp.sandbox.store import Store, TokenRow

__all__ = ["TokenService", "iso", "parse_resources", "parse_validity"]

_ORDER = {r.name: i for i, r in enumerate(RESOURCES)}
_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also accepts "²", which int() refuses


def iso(when: datetime) -> str:
    """UTC timestamp as `2026-11-28T09:10:00Z`."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_resources(raw: Any, *, required: bool) -> list[str] | None:
    """The resource list of a token request, in catalog order; None when absent and not required."""
    if raw is None:
        if required:
            raise SandboxError(ErrorCode.UNKNOWN_RESOURCE, "Name at least one resource in `resource`, e.g. "
                               f'["{RESOURCES[0].name}"].', data={"known": sorted(RESOURCE_NAMES)})
        return None
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        raise SandboxError(ErrorCode.UNKNOWN_RESOURCE, "`resource` must be a non-empty array of resource names.",
                           data={"known": sorted(RESOURCE_NAMES)})
    unknown = sorted(set(raw) - RESOURCE_NAMES)
    if unknown:
        raise SandboxError(ErrorCode.UNKNOWN_RESOURCE, f"Unknown resource(s): {', '.join(unknown)}.",
                           data={"unknown": unknown, "known": sorted(RESOURCE_NAMES)})
    return sorted(set(raw), key=_ORDER.__getitem__)


def parse_validity(raw: Any, unit: str, default: int | None = DEFAULT_VALIDITY) -> int | None:
    """`validity` as an integer in 1..MAX_VALIDITY (a digit string is tolerated); `default` when absent."""
    if raw is None:
        return default
    if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_VALIDITY:
        raise SandboxError(ErrorCode.INVALID_VALIDITY,
                           f"`validity` must be an integer from 1 to {MAX_VALIDITY} ({unit}).")
    return raw


class TokenService:
    """Creates, updates and checks tokens of one tenant."""

    def __init__(self, store: Store, options: SandboxOptions, clock: Clock) -> None:
        self._store = store
        self._options = options
        self._clock = clock
        self._unit = timedelta(minutes=1) if options.validity_unit == "minutes" else timedelta(seconds=1)

    def _response(self, token: str, validity: int, resources: Iterable[str], expires: datetime) -> dict[str, Any]:
        return {"token": token, "validity": validity, "validityUnit": self._options.validity_unit,
                "resources": list(resources), "expiresAt": iso(expires)}

    async def create(self, resources: list[str], validity: int) -> dict[str, Any]:
        now = self._clock.now()
        token = secrets.token_urlsafe(TOKEN_LENGTH)[:TOKEN_LENGTH]
        expires = now + validity * self._unit
        day = now.astimezone(UTC).date().isoformat()
        count = await anyio.to_thread.run_sync(lambda: self._store.create_token(
            tenant=self._options.tenant_hash, token=token, resources=",".join(resources), validity=validity,
            created_at=iso(now), expires_at=iso(expires), day=day, daily_limit=self._options.token_daily_limit))
        if count is None:
            midnight = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)
            retry_after = max(1, int((midnight - now).total_seconds()))
            raise SandboxError(
                ErrorCode.TOKEN_LIMIT_REACHED,
                f"The tenant's daily limit of {self._options.token_daily_limit} token creations is reached; "
                "update an existing token or retry after the reset.",
                data={"limit": self._options.token_daily_limit, "resetAt": iso(midnight)},
                headers={"Retry-After": str(retry_after)},
            )
        return self._response(token, validity, resources, expires)

    async def update(self, token: str, resources: list[str] | None, validity: int | None) -> dict[str, Any]:
        """Renew from now for `validity` (None: the token's own validity) and replace the resources if given."""
        row = await self.check(token)
        now = self._clock.now()
        kept = resources if resources is not None else row[1].split(",")
        validity = validity if validity is not None else row[2]
        expires = now + validity * self._unit
        await anyio.to_thread.run_sync(lambda: self._store.update_token(
            token=token, tenant=self._options.tenant_hash, resources=",".join(kept), validity=validity,
            expires_at=iso(expires), at=iso(now), day=now.astimezone(UTC).date().isoformat()))
        return self._response(token, validity, kept, expires)

    async def check(self, token: str, resource: str | None = None) -> TokenRow:
        """`checked` in a worker thread."""
        return await anyio.to_thread.run_sync(self.checked, token, resource)

    def checked(self, token: str, resource: str | None = None) -> TokenRow:
        """The live token's row; refuses unknown (401), expired (401) and out-of-scope (403) tokens (blocking)."""
        row = self._store.token(token)
        if row is None or row[0] != self._options.tenant_hash:
            raise SandboxError(ErrorCode.TOKEN_INVALID, "The access token is not known; create a token first.")
        if datetime.fromisoformat(row[3]) <= self._clock.now():
            raise SandboxError(ErrorCode.TOKEN_EXPIRED, "The access token has expired; create or update a token.")
        if resource is not None and resource not in row[1].split(","):
            raise SandboxError(ErrorCode.SCOPE_MISSING, f"The access token does not grant the resource "
                               f"{resource!r}; update the token to add it.", data={"resource": resource})
        return row
