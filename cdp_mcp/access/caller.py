"""Who is calling and what they may read: grants by scope applied to one call, a tool list, one fetch.

With OAuth sign-in on, the caller's token (the SDK's `get_access_token()`, set by its auth middleware for
the request) decides: the resources their scopes reach (`grants.py`), and whether contact details are
shown (`cdp:pii`). Without sign-in (stdio, the static token, loopback without a token) nothing changes:
the tenant's grants (CDP_RESOURCES) and CDP_REDACT_PII decide, as before. Sign-in on but no token in the
context (which the transport never allows) reaches nothing: the check fails closed.

A request may narrow what it sees further (`narrowing.py`: `X-CDP-Tools`), never widen it: `visible_tools` and
`hidden_tool_error` apply both.

`require_resource` is the door every upstream fetch passes (`tools/upstream.fetch`): a composite that
asks for a section the person may not read gets this error for that section and degrades, as it does
for resources the tenant does not grant. The resources asked for are noted for the audit line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mcp.server.auth.middleware.auth_context import get_access_token

from cdp_mcp.access.narrowing import TOOLS_HEADER, current_narrowing
from cdp_mcp.errors import ScopeNotGrantedError, ToolHiddenError
from cdp_mcp.grants import BROAD_SCOPE, PII_SCOPE, advertised, granted_resources, normalise_scopes, scopes_for

if TYPE_CHECKING:
    from cdp_mcp.settings import Settings

__all__ = [
    "MACHINE_PREFIX",
    "Caller",
    "GuardedCall",
    "acting_for",
    "current_caller",
    "hidden_tool_error",
    "machine_principal",
    "may_read",
    "missing_scopes_error",
    "must_redact",
    "noting_reads",
    "require_resource",
    "visible_tools",
]

_reads: ContextVar[set[str] | None] = ContextVar("cdp_mcp_reads", default=None)
_acting: ContextVar[Caller | None] = ContextVar("cdp_mcp_acting", default=None)


class GuardedCall(Protocol):
    """What the policy needs to know of a tool (a `tools.spec.ToolSpec` is one): its name, the API resources its
    caller's grants must reach, and whether it is about one customer (whose identifiers the audit line hashes)."""

    @property
    def name(self) -> str: ...

    @property
    def resources(self) -> tuple[str, ...]: ...

    @property
    def customer(self) -> bool: ...


MACHINE_PREFIX = "client:"
"""How a token with no person in it is named (`client:<client id>`); reserved, so no person is named so."""


def machine_principal(client_id: str) -> str:
    return f"{MACHINE_PREFIX}{client_id}"


@dataclass(frozen=True, slots=True)
class Caller:
    """The principal of one call: the signed-in person (CDP_MCP_OAUTH_PRINCIPAL_CLAIM, `sub` by default) or
    `client:<client id>` for a machine token; `static-token` or `local` without sign-in; scopes when signed in."""

    principal: str
    client_id: str | None
    transport: str
    scopes: frozenset[str] | None  # None: not signed in, so no per-person restriction

    def resources(self) -> frozenset[str] | None:
        """The resources this person may read, or None when only the tenant's grants apply."""
        return None if self.scopes is None else granted_resources(self.scopes)


def current_caller(settings: Settings, request: Any = None) -> Caller:
    """The caller of the request being served (`request`: the HTTP request, None over stdio), or the person a
    background job acts for (`acting_for`)."""
    acting = _acting.get()
    if acting is not None:
        return acting
    transport = "stdio" if request is None else "http"
    token = get_access_token()
    if token is not None:
        principal = (token.claims or {}).get("principal")  # set by the verifier (verifiers.principal_of)
        return Caller(principal if isinstance(principal, str) else machine_principal(token.client_id),
                      token.client_id, transport, normalise_scopes(token.scopes, settings.sign_in.mcp_scope_prefix))
    if settings.sign_in.enabled:
        return Caller("anonymous", None, transport, frozenset())
    static = request is not None and settings.http.mcp_auth_token is not None
    return Caller("static-token" if static else "local", None, transport, None)


@contextmanager
def acting_for(caller: Caller) -> Iterator[None]:
    """Background work (a screening job) done for `caller`: their grants and redaction apply, as in their call."""
    token = _acting.set(caller)
    try:
        yield
    finally:
        _acting.reset(token)


def _allowed(settings: Settings) -> frozenset[str] | None:
    return current_caller(settings).resources() if settings.sign_in.enabled else None


def missing_scopes_error(settings: Settings, what: str, missing: Iterable[str]) -> ScopeNotGrantedError:
    """The error naming the scope(s) to ask for as hosts see them, e.g. `cdp:commerce (or cdp:read)`."""
    missing = sorted(missing)
    prefix = settings.sign_in.mcp_scope_prefix
    scopes = " and ".join(advertised(s, prefix) for s in scopes_for(missing))
    return ScopeNotGrantedError(
        f"Your sign-in does not grant {what} ({', '.join(missing)}).",
        hint=f"Ask your administrator for the scope {scopes} (or {advertised(BROAD_SCOPE, prefix)}), then sign in "
             "again.")


def may_read(settings: Settings, resource: str) -> bool:
    """Whether the caller's scopes reach `resource` (always, without sign-in: then the tenant's grants decide)."""
    allowed = _allowed(settings)
    return allowed is None or resource in allowed


def require_resource(settings: Settings, resource: str) -> None:
    """Refuse a fetch the caller's scopes do not reach; note it for the audit line."""
    if not may_read(settings, resource):
        raise missing_scopes_error(settings, "this data", [resource])
    reads = _reads.get()
    if reads is not None:
        reads.add(resource)


@contextmanager
def noting_reads() -> Iterator[set[str]]:
    """Collect the resources fetched in this context (and the tasks it starts) while the block runs."""
    reads: set[str] = set()
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def must_redact(settings: Settings) -> bool:
    """Mask contact details: CDP_REDACT_PII, or a signed-in person without `cdp:pii`."""
    if settings.server.redact_pii:
        return True
    if not settings.sign_in.enabled:
        return False
    scopes = current_caller(settings).scopes
    return scopes is None or PII_SCOPE not in scopes


def visible_tools(settings: Settings, specs: Sequence[GuardedCall]) -> set[str] | None:
    """Names of the tools the caller's scopes reach (every required resource) and the request's X-CDP-Tools keeps;
    None: neither filters."""
    allowed = _allowed(settings)
    narrowing = current_narrowing()
    if allowed is None and narrowing.tools is None:
        return None
    return {s.name for s in specs if (allowed is None or set(s.resources) <= allowed) and narrowing.shows(s.name)}


def hidden_tool_error(name: str) -> ToolHiddenError | None:
    """The refusal of a call to a tool the request's X-CDP-Tools header leaves out (None: it keeps it)."""
    narrowing = current_narrowing()
    if narrowing.shows(name):
        return None
    shown = ", ".join(sorted(narrowing.tools or ())) or "none"
    return ToolHiddenError(f"{name} is not among the tools this request's {TOOLS_HEADER} header keeps.",
                           hint=f"Call one it keeps: {shown}.")
