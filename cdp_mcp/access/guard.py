"""Around every tool call: the rate limit, the grants, a request id, unexpected failures, the audit line.

`CallGuard.run(spec, arguments, ctx, answer)` is the one hook every tool call and every read of the customer
overview resource goes through (`tools/registry.guarded_call`): it takes one call from the caller's bucket,
refuses a tool their scopes do not fully reach (naming the scope to ask for), runs the call (which opens the
backend if needed), turns an unexpected exception into an error carrying a request id (logged with the
traceback under that id), and writes the audit line whatever happened, cancellation included. The request id
is also set on the SDK's span for the call, and bound with the principal for the log lines the call causes
(`call_context`). Each call is counted in the metrics (tool, outcome, duration; refusals by the rate limit).
`stop_calls()` is the end of a drain: calls still running are stopped, each answering `ShuttingDownError` and
writing its audit line. `AccessMiddleware` applies the same grants to `tools/list` (each person sees the tools
their scopes reach). `RefusedCalls` accounts for the calls the SDK refuses before any tool runs (arguments that
break the schema, an unknown tool, an overview URI that is no gcr_id): each is counted against the caller's rate
limit, audited (`INVALID_ARGUMENTS`, `UNKNOWN_TOOL`, `INVALID_RESOURCE`) and counted in the metrics (an unknown
tool's name never becomes a label), so probing costs what calling does.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
from mcp import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent
from opentelemetry import trace
from pydantic import BaseModel

from cdp_mcp import call_context, metrics
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
from cdp_mcp.access.narrowing import untrusted_mode
from cdp_mcp.access.ratelimit import RateLimiter, rate_limiter_for
from cdp_mcp.client.identity import CustomerIdentity, identity_arguments
from cdp_mcp.errors import (
    AuditUnavailableError,
    CallRateLimitedError,
    CdpError,
    ShuttingDownError,
    UnexpectedFailureError,
)

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import Context

    from cdp_mcp.settings import Settings

__all__ = ["INVALID_ARGUMENTS", "INVALID_RESOURCE", "UNKNOWN_TOOL", "AccessMiddleware", "CallGuard", "RefusedCalls",
           "new_request_id"]

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


INVALID_ARGUMENTS = "INVALID_ARGUMENTS"
UNKNOWN_TOOL = "UNKNOWN_TOOL"
INVALID_RESOURCE = "INVALID_RESOURCE"
"""Audit outcomes of calls the SDK refused before any tool ran."""
_UNKNOWN_TOOL_LABEL = "(unknown tool)"
"""How the metrics name a call of a tool that is not served: the caller chose the name, so it is no label."""
_NAMED = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")


@dataclass(slots=True)
class _Accounting:
    """One request under `RefusedCalls`: whether a tool ran it under the guard (which then audited it)."""

    guarded: bool = False


_ACCOUNTING: ContextVar[_Accounting | None] = ContextVar("cdp_mcp_accounting", default=None)


class CallGuard:
    """Rate limit, grants and audit for the tools of one server (see the module docstring)."""

    def __init__(self, settings: Settings, *, limiter: RateLimiter | None = None,
                 audit: AuditTrail | None = None) -> None:
        self.settings = settings
        self.limiter = limiter if limiter is not None else rate_limiter_for(settings)
        self.audit = audit if audit is not None else AuditTrail(audit_destination(settings), settings)
        self._running: set[anyio.CancelScope] | None = None  # each call's scope, once allow_stopping() was called
        self._stopped_after: float | None = None  # seconds of drain, once stop_calls() was called

    def allow_stopping(self) -> None:
        """Let `stop_calls` stop running calls (the HTTP transport's drain): each call then runs in a cancel scope of
        its own, a few microseconds paid only where a drain can happen."""
        if self._running is None:
            self._running = set()

    def stop_calls(self, drain_seconds: float) -> int:
        """Stop every call still running (the drain's time ran out) and refuse any that starts from now on; each
        answers `ShuttingDownError` and writes its audit line. Returns how many were stopped."""
        self._stopped_after = drain_seconds
        for scope in self._running or ():
            scope.cancel()
        return len(self._running or ())

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
        if (accounting := _ACCOUNTING.get()) is not None:
            accounting.guarded = True
        started = time.perf_counter()
        request_id = new_request_id()
        trace.get_current_span().set_attribute("cdp.request_id", request_id)
        request = ctx.request_context.request if ctx is not None else None
        caller = current_caller(self.settings, request)
        outcome, model = "ok", None
        with noting_reads() as reads, call_context.bound(request_id, caller.principal):
            try:
                model = await self._answer(spec, name, caller, answer)
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
                try:
                    if self.audit.enabled:
                        self.audit.write(self._line(spec, name, arguments, caller, model, outcome, sorted(reads),
                                                    request_id, started))
                except AuditUnavailableError:
                    outcome = AuditUnavailableError.code  # refused after all: no answer goes out unaudited
                    raise
                finally:
                    metrics.tool_call(name, outcome, time.perf_counter() - started)

    async def _answer(self, spec: GuardedCall, name: str, caller: Caller,
                      answer: Callable[[], Awaitable[BaseModel]]) -> BaseModel:
        """Admit the call and answer it, unless `stop_calls` stops it first (then `ShuttingDownError`)."""
        if self._stopped_after is not None:
            raise ShuttingDownError(self._stopped_after)
        running = self._running
        if running is None:  # nothing may stop calls (stdio, in process)
            await self._admit(spec, name, caller)
            return await answer()
        scope = anyio.CancelScope()
        running.add(scope)
        try:
            with scope:
                await self._admit(spec, name, caller)
                return await answer()
        finally:
            running.discard(scope)
        raise ShuttingDownError(self._stopped_after or 0)  # only stop_calls cancels this scope

    async def refused(self, name: str, outcome: str, arguments: dict[str, Any], request: Any,
                      started: float) -> CdpError | None:
        """Account for a call the SDK refused before any tool ran: take it from the caller's bucket and audit it.

        Returns the rate limit's refusal (over the limit, or its store unavailable) for the caller to see instead.
        """
        caller = current_caller(self.settings, request)
        label = _UNKNOWN_TOOL_LABEL if outcome == UNKNOWN_TOOL else name  # never a name the caller made up
        error: CdpError | None = None
        try:
            await self._take(caller)
        except CdpError as exc:
            error, outcome = exc, exc.code
        metrics.tool_call(label, outcome, time.perf_counter() - started)
        if self.audit.enabled:
            kinds = sorted({*_identifier_kinds(arguments),
                            *(k for k, v in identity_arguments(arguments).items() if v is not None)})
            try:
                self.audit.write(self._entry(caller, name, [], {}, kinds, outcome, new_request_id(), started))
            except AuditUnavailableError as exc:
                error = exc
        return error

    async def problems(self) -> dict[str, str]:
        """What keeps this server from serving calls, for /healthz: {} when nothing does."""
        failure = await self.audit.recheck()
        return {"audit": f"failing ({failure}): calls are refused"} if failure else {}

    async def _take(self, caller: Caller) -> None:
        if self.limiter is not None:
            wait = await self.limiter.take(caller.principal)
            if wait is not None:
                metrics.rate_limit_refused()
                raise CallRateLimitedError(self.limiter.per_minute, wait)

    async def _admit(self, spec: GuardedCall, name: str, caller: Caller) -> None:
        if (hidden := hidden_tool_error(spec.name)) is not None:
            raise hidden
        await self._take(caller)
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
        return self._entry(caller, name, reads, _customers(model, arguments), identifiers, outcome, request_id,
                           started)

    def _entry(self, caller: Caller, name: str, reads: list[str], customers: dict[str, Any],
               identifiers: dict[str, str] | list[str], outcome: str, request_id: str,
               started: float) -> dict[str, Any]:
        return {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "principal": caller.principal, "client_id": caller.client_id, "tool": name, "resources": reads,
            **customers, "identifiers": identifiers, "redacted": must_redact(self.settings),
            "untrusted": untrusted_mode(self.settings.server.untrusted),
            "outcome": outcome, "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "request_id": request_id, "transport": caller.transport,
        }


class AccessMiddleware:
    """SDK server middleware: each person's `tools/list` shows only the tools their scopes reach and the request
    keeps (`Narrowed`, before it, holds what the request asked to be spared)."""

    def __init__(self, guard: CallGuard, specs: Sequence[GuardedCall]) -> None:
        self._guard = guard
        self._specs = list(specs)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "tools/list":
            names = visible_tools(self._guard.settings, self._specs)
            if names is not None:
                result = _only(result, names)
        return result


class RefusedCalls:
    """SDK server middleware: a `tools/call`, or a read of a resource under `guarded_uris` (the customer overview),
    that no tool ran under the guard (the SDK refused it first) is a call all the same: counted against the
    caller's rate limit and audited (the read under `resource_name`). Over the limit, the caller sees the rate
    limit's refusal instead of the SDK's."""

    def __init__(self, guard: CallGuard, tools: Sequence[str], *, guarded_uris: str, resource_name: str) -> None:
        self._guard = guard
        self._tools = frozenset(tools)
        self._uris = guarded_uris
        self._resource = resource_name

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        overview = ctx.method == "resources/read" and str(params.get("uri", "")).startswith(self._uris)
        if not (ctx.method == "tools/call" or overview) or (self._guard.limiter is None
                                                             and not self._guard.audit.enabled):
            return await call_next(ctx)
        started = time.perf_counter()
        accounting = _Accounting()
        reset = _ACCOUNTING.set(accounting)
        try:
            result = await call_next(ctx)
        except MCPError:
            if overview and not accounting.guarded:
                error = await self._guard.refused(self._resource, INVALID_RESOURCE, {}, ctx.request, started)
                if error is not None:
                    raise MCPError(code=INVALID_PARAMS, message=error.for_model()) from None
            raise
        finally:
            _ACCOUNTING.reset(reset)
        if accounting.guarded or overview or not (isinstance(result, dict) and result.get("isError")):
            return result
        name = params.get("name")
        arguments = params.get("arguments")
        known = isinstance(name, str) and name in self._tools
        error = await self._guard.refused(
            name if isinstance(name, str) and _NAMED.fullmatch(name) else "(unreadable tool name)",
            INVALID_ARGUMENTS if known else UNKNOWN_TOOL, arguments if isinstance(arguments, dict) else {},
            ctx.request, started)
        if error is None:
            return result
        refusal = CallToolResult(content=[TextContent(type="text", text=error.for_model())], is_error=True)
        return refusal.model_dump(mode="json", by_alias=True, exclude_none=True)


def _only(result: HandlerResult, names: set[str]) -> HandlerResult:
    """The tools/list result (the wire dict the SDK's chain returns) with only `names`, private to this caller."""
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        tools = [t for t in result["tools"] if isinstance(t, dict) and t.get("name") in names]
        return {**result, "tools": tools, **({"cacheScope": "private"} if "cacheScope" in result else {})}
    return result
