"""The MCP Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) for screen_audience, on the SDK's Extension API.

A `tools/call` of screen_audience from a client that declared the extension in this request's capabilities (protocol
2026-07-28) and that becomes a screening job is answered with a `CreateTaskResult` (`resultType: "task"`) instead of
the handle; the job is stored before the answer is sent, so a `tasks/get` on any replica finds it. Any confirmation
is asked first, synchronously (MRTR on the same call). Every other call, client and protocol era gets the ordinary
result: a task never goes to a request that did not declare the extension.

The task is the screening job (the same id), so the handle tools and the task methods see one state:
`working` while it is queued, running or paused (the status message says how far it is, or why it waits);
`input_required` when it stopped for a person (the spent token quota, an outage that lasted), asking through an
elicitation whether to resume (`tasks/update` answers it: accept resumes, decline cancels); `completed` with the
result get_screening would give (first page, summary, resource links); `cancelled`; `failed` (a crash) with a
JSON-RPC error. `tasks/cancel` cancels cooperatively. Unknown, expired or another person's task ids are `-32602`;
a client that did not declare the extension calling a task method is `-32021`; over Streamable HTTP the
`Mcp-Name` header must carry the task id (`-32020` otherwise), so load balancers can route by it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_NAME_HEADER, decode_header_value
from mcp_types import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    CallToolRequestParams,
    ClientCapabilities,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    MissingRequiredClientCapabilityErrorData,
    RequestParams,
)
from mcp_types.methods import serialize_server_result
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ConfigDict, Field, ValidationError

from cdp_mcp.access.caller import current_caller, must_redact
from cdp_mcp.errors import AuditUnavailableError, ScreeningNotFoundError
from cdp_mcp.jobs.estimate import poll_seconds
from cdp_mcp.jobs.model import Job, JobState
from cdp_mcp.tools.audience import TaskSlot, task_slot
from cdp_mcp.tools.audience_results import screening_result
from cdp_mcp.tools.results import policy_for, tool_result

if TYPE_CHECKING:
    from cdp_mcp.access.audit import AuditTrail
    from cdp_mcp.access.caller import Caller
    from cdp_mcp.jobs.service import Screenings
    from cdp_mcp.settings import Settings

__all__ = ["EXTENSION_ID", "TASK_TOOLS", "TaskParams", "TasksExtension", "UpdateTaskParams", "declared_tasks"]

EXTENSION_ID = "io.modelcontextprotocol/tasks"
TASK_TOOLS = frozenset({"screen_audience"})
"""The tools whose calls may become tasks."""
_MODERN = frozenset(MODERN_PROTOCOL_VERSIONS)
_STATUS = {JobState.QUEUED: "working", JobState.RUNNING: "working", JobState.PAUSED: "working",
           JobState.STOPPED: "input_required", JobState.COMPLETED: "completed", JobState.CANCELLED: "cancelled",
           JobState.FAILED: "failed"}
_RESUME_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["resume"],
    "properties": {"resume": {"type": "boolean", "title": "Resume",
                              "description": "Go on from where it stopped (no: cancel the screening)"}},
}


class TaskParams(RequestParams):
    """`tasks/get` and `tasks/cancel`: which task (validators built with the first task request, not at start-up)."""

    model_config = ConfigDict(defer_build=True)

    task_id: str = Field(alias="taskId", min_length=1, max_length=200)


class UpdateTaskParams(TaskParams):
    """`tasks/update`: answers to the task's outstanding input requests, by key."""

    input_responses: dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


def declared_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request declared the extension (per-request capabilities exist on 2026-07-28 only)."""
    if ctx.protocol_version not in _MODERN:
        return False
    capabilities = ctx.session.client_capabilities
    return capabilities is not None and EXTENSION_ID in (capabilities.extensions or {})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _progress(job: Job) -> str:
    return f"{job.done_rows:,} of {job.total:,} customers screened ({100 * job.done_rows // max(1, job.total)}%)."


def _status_message(job: Job) -> str:
    if job.state is JobState.QUEUED:
        return f"Queued. {_progress(job)}"
    if job.state in (JobState.RUNNING, JobState.PAUSED) and job.message is None:
        return f"Screening: {_progress(job)}"
    if job.state is JobState.COMPLETED and job.error is not None:
        return job.error
    return job.message or _progress(job)


def _poll_ms(job: Job) -> int:
    """pollIntervalMs: at most every 10 s, since a task requester polls on its own."""
    return math.ceil(poll_seconds(job, longest=10) * 1000)


def task_view(job: Job, ttl_seconds: int) -> dict[str, Any]:
    """The Task fields of a job (SEP-2663): the status, what it says, when, how long it is kept, how often to poll."""
    expires = job.expires_at or (datetime.now(UTC) + timedelta(seconds=ttl_seconds))
    view: dict[str, Any] = {
        "taskId": job.id, "status": _STATUS[job.state], "statusMessage": _status_message(job),
        "createdAt": _iso(job.created_at), "lastUpdatedAt": _iso(job.updated_at),
        "ttlMs": max(0, int((expires - job.created_at).total_seconds() * 1000)),
    }
    if job.state.active:
        view["pollIntervalMs"] = _poll_ms(job)
    return view


def resume_key(job: Job) -> str:
    """The key of the question a stopped job asks: unique over the task's life (one per stop)."""
    return f"resume-{job.stops}"


class TasksExtension(Extension):
    """The Tasks extension for this server's screenings (see the module docstring)."""

    identifier = EXTENSION_ID

    def __init__(self, settings: Settings, audit: AuditTrail) -> None:
        self._settings = settings
        self._audit = audit

    def methods(self) -> Sequence[MethodBinding]:
        return [MethodBinding("tasks/get", TaskParams, self._get, protocol_versions=_MODERN),
                MethodBinding("tasks/update", UpdateTaskParams, self._update, protocol_versions=_MODERN),
                MethodBinding("tasks/cancel", TaskParams, self._cancel, protocol_versions=_MODERN)]

    async def intercept_tool_call(self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any],
                                  call_next: CallNext) -> HandlerResult:
        if params.name not in TASK_TOOLS or not declared_tasks(ctx):
            return await call_next(ctx)
        slot = TaskSlot()
        token = task_slot.set(slot)
        try:
            result = await call_next(ctx)
        finally:
            task_slot.reset(token)
        if slot.job is None:  # answered in the call (small, refused, or asking to confirm first)
            return result
        return {"resultType": "task", **task_view(slot.job, self._settings.screening.screen_ttl)}

    # -- the task methods ---------------------------------------------------------------------------------------

    def _admitted(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> None:
        """The checks every task request passes first: the extension declared, the routing header right."""
        capabilities = ctx.session.client_capabilities
        if capabilities is None or EXTENSION_ID not in (capabilities.extensions or {}):
            data = MissingRequiredClientCapabilityErrorData(
                required_capabilities=ClientCapabilities(extensions={EXTENSION_ID: {}}))
            raise MCPError(code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                           message=f"{ctx.method} needs the {EXTENSION_ID} extension declared in this request's "
                                   "client capabilities",
                           data=data.model_dump(by_alias=True, mode="json", exclude_none=True))
        headers = getattr(ctx.request, "headers", None)
        if headers is not None and decode_header_value(headers.get(MCP_NAME_HEADER)) != task_id:
            raise MCPError(code=HEADER_MISMATCH,
                           message=f"The {MCP_NAME_HEADER} header must carry the task id of {ctx.method}")

    async def _job(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> tuple[Screenings, Job]:
        self._admitted(ctx, task_id)
        screenings: Screenings = ctx.lifespan_context.screenings
        try:
            return screenings, await screenings.find(self._caller(ctx), task_id)
        except ScreeningNotFoundError:
            raise MCPError(code=INVALID_PARAMS, message=f"No task {task_id!r} of yours was found (it may have "
                                                        "expired).") from None

    def _caller(self, ctx: ServerRequestContext[Any, Any]) -> Caller:
        return current_caller(self._settings, ctx.request)

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        screenings, job = await self._job(ctx, params.task_id)
        view = task_view(job, self._settings.screening.screen_ttl)
        if job.state is JobState.STOPPED:
            question = ElicitRequest(params=ElicitRequestFormParams(
                message=f"{job.message} Resume the screening?", requested_schema=_RESUME_SCHEMA))
            view["inputRequests"] = {resume_key(job): question.model_dump(by_alias=True, mode="json",
                                                                          exclude_none=True)}
        elif job.state is JobState.COMPLETED:
            page = await screenings.page(job, cursor=None, only=None)
            result = tool_result(screening_result(job, page=page), redact_pii=must_redact(self._settings),
                                 policy=policy_for(self._settings))
            dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
            view["result"] = serialize_server_result("tools/call", ctx.protocol_version, dumped)
            if self._audit.enabled:
                from cdp_mcp.jobs.engine import audit_line  # noqa: PLC0415 - the engine is the lifespan's, not start-up's

                try:
                    self._audit.write(audit_line(job, "read", tool="tasks/get", rows=len(page.rows)))
                except AuditUnavailableError as exc:  # no customer data leaves unaudited
                    raise MCPError(code=INTERNAL_ERROR, message=f"{exc.message} {exc.hint}") from None
        elif job.state is JobState.FAILED:
            view["error"] = {"code": INTERNAL_ERROR, "message": job.message or "The screening failed."}
        return {"resultType": "complete", **view}

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        screenings, job = await self._job(ctx, params.task_id)
        raw = params.input_responses.get(resume_key(job)) if job.state is JobState.STOPPED else None
        if raw is not None:  # anything else is not outstanding: ignored, as SEP-2663 says
            try:
                answer = ElicitResult.model_validate(raw)
            except ValidationError:
                raise MCPError(code=INVALID_PARAMS, message=f"inputResponses.{resume_key(job)} is not an "
                                                            "elicitation result") from None
            resume = answer.action == "accept" and bool((answer.content or {}).get("resume"))
            if resume:
                await screenings.resume(self._caller(ctx), job.id)
            elif answer.action != "cancel":  # declined (or answered no): the person does not want it any more
                await screenings.cancel(self._caller(ctx), job.id)
        return {"resultType": "complete"}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        screenings, job = await self._job(ctx, params.task_id)
        await screenings.cancel(self._caller(ctx), job.id)
        return {"resultType": "complete"}
