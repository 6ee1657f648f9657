"""Around every tool call: the rate limit, the grants, a request id, unexpected failures, the audit line.

`CallGuard.run(spec, arguments, ctx, answer)` is the one hook every tool call and every read of the customer
overview resource goes through (`tools/registry.guarded_call`): it takes one call from the caller's bucket,
refuses a tool their scopes do not fully reach (naming the scope to ask for), runs the call (which opens the
backend if needed), turns an unexpected exception into an error carrying a request id (logged with the
traceback under that id), and writes the audit line whatever happened, cancellation included. The request id
is also set on the SDK's span for the call. `AccessMiddleware` applies the same grants to `tools/list` (each
person sees the tools their scopes reach).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
from opentelemetry import trace
from pydantic import BaseModel

from cdp_mcp.access.audit import AuditTrail, audit_destination, identifier_hashes
from cdp_mcp.access.caller import (
    Caller,
    GuardedCall,
    current_caller,
    hidden_tool_error,
    missing_scopes_error,
    must_redact,
    noting_reads,
    visible_tools,
)
from cdp_mcp.access.narrowing import narrowed, narrowing_of, untrusted_mode
from cdp_mcp.access.ratelimit import RateLimiter, rate_limiter_for
from cdp_mcp.client.identity import CustomerIdentity, identity_arguments
from cdp_mcp.errors import CallRateLimitedError, CdpError, UnexpectedFailureError

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import Context

    from cdp_mcp.settings import Settings

__all__ = ["AccessMiddleware", "CallGuard", "new_request_id"]

logger = logging.getLogger(__name__)


def new_request_id() -> str:
    """12 hex digits: unique enough to find one call in a day of logs, short enough to read out."""
    return secrets.token_hex(6)


def _identifier_kinds(arguments: dict[str, Any]) -> list[str]:
    """The identifier kinds of a screening's customers (values never leave the call)."""
    kinds: set[str] = set()
    for ref in arguments.get("customers") or ():
        kinds.update(k for k, v in (ref.model_dump() if isinstance(ref, BaseModel) else dict(ref)).items() if v)
    return sorted(kinds)


def _customers(model: BaseModel | None, arguments: dict[str, Any]) -> dict[str, Any]:
    """`gcr_id` (or `gcr_ids` for a screening) from the result, else from the arguments."""
    rows = getattr(model, "rows", None)
    if isinstance(rows, list):
        return {"gcr_ids": [r.gcr_id for r in rows if getattr(r, "gcr_id", None) is not None]}
    gcr_id = getattr(model, "gcr_id", None) if model is not None else None
    gcr_id = gcr_id if gcr_id is not None else arguments.get("gcr_id")
    return {"gcr_id": gcr_id} if gcr_id is not None else {}


class CallGuard:
    """Rate limit, grants and audit for the tools of one server (see the module docstring)."""

    def __init__(self, settings: Settings, *, limiter: RateLimiter | None = None,
                 audit: AuditTrail | None = None) -> None:
        self.settings = settings
        self.limiter = limiter if limiter is not None else rate_limiter_for(settings)
        self.audit = audit if audit is not None else AuditTrail(audit_destination(settings), settings)

    def __repr__(self) -> str:
        return f"CallGuard(limiter={self.limiter!r}, audit={self.audit!r})"

    @asynccontextmanager
    async def running(self) -> AsyncIterator[CallGuard]:
        """Open the audit trail for the server's lifetime; close it and the limiter's connection after."""
        await self.audit.open()
        try:
            yield self
        finally:
            with anyio.CancelScope(shield=True):
                await self.audit.aclose()
                if self.limiter is not None:
                    await self.limiter.aclose()

    async def run(self, spec: GuardedCall, arguments: dict[str, Any], ctx: Context[Any, Any] | None,
                  answer: Callable[[], Awaitable[BaseModel]], *, name: str | None = None) -> BaseModel:
        """Run `answer()` as a call of `spec` with `arguments`; CdpErrors (refusals included) propagate.

        `name` is what the audit line and an unexpected failure call it (default: the tool's name).
        """
        name = name or spec.name
        started = time.perf_counter()
        request_id = new_request_id()
        trace.get_current_span().set_attribute("cdp.request_id", request_id)
        request = ctx.request_context.request if ctx is not None else None
        caller = current_caller(self.settings, request)
        outcome, model = "ok", None
        with noting_reads() as reads:
            try:
                await self._admit(spec, name, caller)
                model = await answer()
                return model
            except CdpError as exc:
                outcome = exc.code
                raise
            except Exception as exc:
                outcome = UnexpectedFailureError.code
                logger.exception("%s failed unexpectedly (request id %s)", name, request_id)
                raise UnexpectedFailureError(name, request_id) from exc
            except BaseException:
                outcome = "cancelled"
                raise
            finally:
                if self.audit.enabled:
                    self.audit.write(self._line(spec, name, arguments, caller, model, outcome, sorted(reads),
                                                      request_id, started))

    async def _admit(self, spec: GuardedCall, name: str, caller: Caller) -> None:
        if (hidden := hidden_tool_error(spec.name)) is not None:
            raise hidden
        if self.limiter is not None:
            wait = await self.limiter.take(caller.principal)
            if wait is not None:
                raise CallRateLimitedError(self.limiter.per_minute, wait)
        allowed = caller.resources()
        if allowed is not None and not set(spec.resources) <= allowed:
            raise missing_scopes_error(self.settings, name, set(spec.resources) - allowed)

    def _line(self, spec: GuardedCall, name: str, arguments: dict[str, Any], caller: Caller, model: BaseModel | None,
              outcome: str, reads: list[str], request_id: str, started: float) -> dict[str, Any]:
        identifiers: dict[str, str] | list[str]
        if spec.customer:
            try:
                identifiers = identifier_hashes(self.audit.key,
                                                CustomerIdentity.parse(**identity_arguments(arguments)))
            except CdpError:  # invalid identifiers: name the kinds only
                identifiers = sorted(k for k, v in identity_arguments(arguments).items() if v is not None)
        else:
            identifiers = _identifier_kinds(arguments)
        return {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "principal": caller.principal, "client_id": caller.client_id, "tool": name, "resources": reads,
            **_customers(model, arguments), "identifiers": identifiers, "redacted": must_redact(self.settings),
            "untrusted": untrusted_mode(self.settings.server.untrusted),
            "outcome": outcome, "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "request_id": request_id, "transport": caller.transport,
        }


class AccessMiddleware:
    """SDK server middleware: holds the request's narrowing (`X-CDP-*` headers) while it is served, and each
    person's `tools/list` shows only the tools their scopes reach and the request keeps."""

    def __init__(self, guard: CallGuard, specs: Sequence[GuardedCall]) -> None:
        self._guard = guard
        self._specs = list(specs)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        request = ctx.request
        with narrowed(narrowing_of(getattr(request, "headers", None))):
            return await self._serve(ctx, call_next)

    async def _serve(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "tools/list":
            names = visible_tools(self._guard.settings, self._specs)
            if names is not None:
                result = _only(result, names)
        return result


def _only(result: HandlerResult, names: set[str]) -> HandlerResult:
    """The tools/list result (the wire dict the SDK's chain returns) with only `names`, private to this caller."""
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        tools = [t for t in result["tools"] if isinstance(t, dict) and t.get("name") in names]
        return {**result, "tools": tools, **({"cacheScope": "private"} if "cacheScope" in result else {})}
    return result
