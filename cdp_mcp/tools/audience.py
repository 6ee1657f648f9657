"""screen_audience, get_screening and cancel_screening: campaign screening at audience scale.

An audience comes from one source: `customers` inline, an `audience_file` in CDP_AUDIENCE_DIR (the export a person
downloaded from the CDP's segment builder: the API cannot list a segment's members), or an `audience_id` uploaded
with `POST /audiences`. Up to `SYNC_ROWS` rows are screened in the call and come back whole. A larger audience is
a job (`cdp_mcp.jobs`): the call answers at once with a screening_id, or, to a request that declared the Tasks
extension, a task (`cdp_mcp.tasks`). Above CDP_SCREEN_CONFIRM_ABOVE rows the person confirms the estimate first:
through elicitation (the SDK's `Resolve`/`Elicit`, asked before the tool body runs, on either protocol era) when
the client supports it, else the call fails saying the estimate and asking for `confirm: true`.
"""

from __future__ import annotations

from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import AcceptedElicitation, Elicit, ElicitationResult, Resolve
from mcp.types import ToolAnnotations
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, WithJsonSchema

from cdp_mcp import metrics
from cdp_mcp.access.caller import current_caller, must_redact
from cdp_mcp.catalog import Scope
from cdp_mcp.errors import CdpError, ConfirmationRequiredError, InvalidInputError
from cdp_mcp.jobs.estimate import Estimate, spoken
from cdp_mcp.jobs.model import Checks, Job, Member, Only, Outcomes, ScreenedRow
from cdp_mcp.jobs.rows import NameSearch, screen_member
from cdp_mcp.tools.audience_results import (
    AudienceScreening,
    ScreeningState,
    csv_text,
    screening_result,
    shown_rejections,
    shown_rows,
)
from cdp_mcp.tools.params import CHANNEL, CURSOR, INTEGER, SEGMENT_ID, SEGMENT_NAME, TEXT
from cdp_mcp.tools.results import policy_for
from cdp_mcp.tools.screening import check, check_segment, screened_each
from cdp_mcp.tools.spec import Param, ToolCall, ToolSpec
from cdp_mcp.tools.upstream import readable
from cdp_mcp.views import SCREENING_URI

if TYPE_CHECKING:  # the job service is the lifespan's: imported when a server starts, not with the tool surface
    from cdp_mcp.access.caller import Caller
    from cdp_mcp.jobs.service import Intake, Screenings
    from cdp_mcp.settings import Settings

__all__ = ["AUDIENCE_RESOURCES", "SCREENING_TOOLS", "SYNC_ROWS", "CsvText", "TaskSlot", "audience_specs",
           "caller_of_call", "screening_csv", "task_slot"]

VIA = "screen_audience"
"""How the metrics name the rows screened within the call (a job's are the engine's)."""
SYNC_ROWS = 100
"""Audiences up to this size are screened within the call, like screen_customers."""
SCREENING_TOOLS = ("screen_audience", "get_screening", "cancel_screening")
AUDIENCE_RESOURCES = (Scope.BASIC, Scope.OPT_IN, Scope.IS_CUSTOMER_IN_SEGMENT)
"""What screening reads for every row (and what uploading an audience for it needs)."""
_OPTIONAL = (Scope.SEARCH_SEGMENTS, Scope.GCR_ID)
_ELICITATION_VERSION = "2026-07-28"
_CANNOT_ASK = "cannot ask"
_NOT_NEEDED = "not needed"


@dataclass(eq=False)
class TaskSlot:
    """Set by the Tasks extension around a tools/call that may become a task; the tool puts its job here."""

    job: Job | None = None


task_slot: ContextVar[TaskSlot | None] = ContextVar("cdp_mcp_task_slot", default=None)


class Confirmation(BaseModel):
    """What the person is asked before a large screening (an elicitation form)."""

    proceed: bool = Field(description="Screen the audience now")


@dataclass(frozen=True, slots=True)
class Plan:
    """The audience of a call and its estimate, worked out before the tool body runs (the confirmation needs
    them); `error` is reported by the body, under the call guard."""

    intake: Intake | None = None
    estimate: Estimate | None = None
    error: CdpError | None = None


def caller_of_call(ctx: Context[Any, Any], settings: Settings) -> Caller:
    return current_caller(settings, ctx.request_context.request)


def _checks(arguments: dict[str, Any], settings: Settings) -> Checks:
    check_segment(settings, arguments.get("segment_id"), arguments.get("segment_name"))
    return Checks(segment_id=arguments.get("segment_id"), segment_name=arguments.get("segment_name"),
                  channel=arguments["channel"], recent_days=arguments.get("recent_days"))


async def _plan(ctx: Context[Any, Any], customers: Any, audience_file: Any, audience_id: Any, segment_id: Any,
                segment_name: Any, channel: Any, recent_days: Any) -> Plan:
    """Resolver: the audience and its estimate. Skipped (an empty plan) for a caller the guard will refuse."""
    screenings: Screenings = ctx.request_context.lifespan_context.screenings
    caller = caller_of_call(ctx, screenings.settings)
    allowed = caller.resources()
    if allowed is not None and not set(AUDIENCE_RESOURCES) <= allowed:
        return Plan()
    try:
        checks = _checks({"segment_id": segment_id, "segment_name": segment_name, "channel": channel,
                          "recent_days": recent_days}, screenings.settings)
        intake = await screenings.intake(caller, customers=customers, audience_file=audience_file,
                                         audience_id=audience_id)
        if len(intake.audience.members) > SYNC_ROWS:  # a job: say so now if it could not start, before asking
            await screenings.room_for(caller)
        if len(intake.audience.members) <= screenings.settings.screening.screen_confirm_above:
            return Plan(intake)
        lookups = readable(screenings.settings, Scope.GCR_ID)
        return Plan(intake, await screenings.estimate(intake, checks, gcr_lookups=lookups))
    except CdpError as exc:
        return Plan(error=exc)


def _can_elicit(ctx: Context[Any, Any]) -> bool:
    """Whether this request's client can answer a form: in the result (2026-07-28) or by a request mid-call."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    modern = version is not None and is_version_at_least(version, _ELICITATION_VERSION)
    return modern or ctx.session.can_send_request


async def _confirmation(ctx: Context[Any, Any], plan: Annotated[Plan, Resolve(_plan)],
                        confirm: Any) -> Elicit[Confirmation] | str:
    """Resolver: ask the person to confirm a large run (once per call; the answer rides the retry)."""
    if confirm or plan.estimate is None or plan.intake is None:
        return _NOT_NEEDED
    if not _can_elicit(ctx):
        return _CANNOT_ASK
    return Elicit(f"{spoken(len(plan.intake.audience.members), plan.estimate)} Start the screening?", Confirmation)


_PLAN = Param("plan", Annotated[Plan, Resolve(_plan)])
_ANSWER = Param("confirmation", Annotated[ElicitationResult[Confirmation], Resolve(_confirmation)])


def _screened(rows: list[ScreenedRow], intake: Intake, checks: Checks, search: NameSearch | None) -> AudienceScreening:
    audience = intake.audience
    segment_id, segment_name = checks.segment_id, checks.segment_name
    if search is not None and search.exact is not None:  # the API's spelling of the name, and its id
        segment_id, segment_name = search.exact.id, search.exact.name or segment_name
    return AudienceScreening(status="completed", segment_id=segment_id, segment_name=segment_name,
                             channel=checks.channel, customers=len(rows),
                             summary=Outcomes.none().add(rows), rejected=audience.rejected or None,
                             rejections=shown_rejections(audience.rejections), duplicates=audience.duplicates or None,
                             rows=shown_rows(rows), total=len(rows))


async def _screen_now(call: ToolCall, screenings: Screenings, intake: Intake, checks: Checks) -> AudienceScreening:
    """A small audience, screened within the call (progress reported row by row)."""
    search = NameSearch(checks.segment_name) if checks.segment_name is not None else None

    async def one(_: int, member: Member) -> ScreenedRow:
        return (await screen_member(check, call.backend, member, checks, search=search,
                                    limiter=screenings.pacer)).row

    rows = await screened_each(call, intake.audience.members, one, search)
    for outcome, count in Counter(row.outcome for row in rows).items():
        metrics.screening_rows(VIA, outcome, count)
    return _screened(rows, intake, checks, search)


def _not_started(intake: Intake, checks: Checks, estimate: Estimate | None, why: str) -> AudienceScreening:
    return AudienceScreening(status="not_started", message=why, segment_id=checks.segment_id,
                             segment_name=checks.segment_name, channel=checks.channel,
                             customers=len(intake.audience.members), estimate=estimate)


def _confirmed(call: ToolCall, plan: Plan, intake: Intake, checks: Checks) -> AudienceScreening | None:
    """None when the run may start; else the answer to give instead (or raise ConfirmationRequiredError)."""
    outcome = call.resolved.get("confirmation")
    if not isinstance(outcome, AcceptedElicitation):
        return _not_started(intake, checks, plan.estimate, "Not started: the person did not confirm the estimate.")
    if outcome.data == _CANNOT_ASK and plan.estimate is not None:
        raise ConfirmationRequiredError(
            f"{spoken(len(intake.audience.members), plan.estimate)}",
            hint="Tell the person this estimate; once they agree, call screen_audience again with the same "
                 "arguments and confirm: true.")
    if isinstance(outcome.data, Confirmation) and not outcome.data.proceed:
        return _not_started(intake, checks, plan.estimate, "Not started: the person chose not to screen now.")
    return None


async def screen_audience(call: ToolCall) -> AudienceScreening:
    screenings = call.screenings
    if screenings is None or call.ctx is None:
        raise RuntimeError("screen_audience runs inside a server lifespan")
    plan = call.resolved.get("plan") or Plan()
    if plan.error is not None:
        raise plan.error
    checks = _checks(call.arguments, call.settings)
    caller = caller_of_call(call.ctx, call.settings)
    intake = plan.intake or await screenings.intake(caller, customers=call.arguments.get("customers"),
                                                    audience_file=call.arguments.get("audience_file"),
                                                    audience_id=call.arguments.get("audience_id"))
    if (refusal := _confirmed(call, plan, intake, checks)) is not None:
        return refusal
    if len(intake.audience.members) <= SYNC_ROWS:
        return await _screen_now(call, screenings, intake, checks)
    job = await screenings.start(caller, intake, checks)
    slot = task_slot.get()
    if slot is not None:
        slot.job = job
    return screening_result(job, estimate=plan.estimate, started=True)


def _screening_id(call: ToolCall) -> str:
    return str(call.arguments["screening_id"])


async def _answer(screenings: Screenings, job: Job, *, cursor: str | None = None,
                  only: Only | None = None) -> AudienceScreening:
    """A job's result: rows once it stopped running (all of them, or those screened before it stopped)."""
    if job.state.active or not job.done_rows:
        if cursor is not None:
            raise InvalidInputError("This screening has no rows to page through yet.",
                                    hint="Call get_screening without cursor until its status is completed.")
        return screening_result(job)
    return screening_result(job, page=await screenings.page(job, cursor=cursor, only=only))


async def get_screening(call: ToolCall) -> AudienceScreening:
    screenings = call.screenings
    if screenings is None or call.ctx is None:
        raise RuntimeError("get_screening runs inside a server lifespan")
    caller = caller_of_call(call.ctx, call.settings)
    if call.arguments.get("resume"):
        job = await screenings.resume(caller, _screening_id(call))
    else:
        job = await screenings.find(caller, _screening_id(call))
    return await _answer(screenings, job, cursor=call.arguments.get("cursor"), only=call.arguments.get("only"))


class CsvText(BaseModel):
    """A screening's whole result as CSV (the `cdp://screenings/{id}/results.csv` resource)."""

    text: str


async def screening_csv(call: ToolCall) -> CsvText:
    """Handler of the CSV resource, run under the guard as get_screening: the caller's own screening, redacted as
    their grants say."""
    screenings = call.screenings
    if screenings is None or call.ctx is None:
        raise RuntimeError("the screening CSV is read inside a server lifespan")
    job = await screenings.find(caller_of_call(call.ctx, call.settings), _screening_id(call))
    return CsvText(text=await csv_text(screenings.rows(job), redact_pii=must_redact(call.settings),
                                       policy=policy_for(call.settings)))


async def cancel_screening(call: ToolCall) -> ScreeningState:
    screenings = call.screenings
    if screenings is None or call.ctx is None:
        raise RuntimeError("cancel_screening runs inside a server lifespan")
    job = await screenings.cancel(caller_of_call(call.ctx, call.settings), _screening_id(call))
    state = screening_result(job)
    message = state.message if not job.state.active else "Cancelling: it stops at its next chunk of 100 rows."
    return ScreeningState(screening_id=job.id, status=state.status, message=message, customers=job.total,
                          done=job.done_rows)


_SCREENING_ID = Param("screening_id", Annotated[str, Field(description="From screen_audience.", max_length=64), TEXT])
_ONLY = Param("only", Annotated[Only | None, Field(description="Rows to list (errors: not screened or not found).")],
              None)
_RESUME = Param("resume", Annotated[bool, Field(description="true: go on with a stopped screening.")], False)


_Row = Annotated[dict[str, Any], WithJsonSchema({"type": "object"})]
"""An inline audience row: checked row by row (a bad one is rejected with its position, never the whole call)."""
_STOPS_A_JOB = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                               open_world_hint=False)
"""cancel_screening changes the server's own state (a job stops; its rows are kept) and nothing upstream. Starting
or reading a screening changes nothing a person owns: those tools are read-only like the others (`READ_ONLY`)."""


def audience_specs(audience_max: int) -> list[ToolSpec]:
    """The three screening tools; `customers` holds at most `audience_max` rows (CDP_AUDIENCE_MAX)."""
    customers = Param("customers", Annotated[list[_Row] | None, Field(
        description="Rows with gcr_id, email, mobile or customer_code.", min_length=1, max_length=audience_max)],
        None)
    source = (customers,
              Param("audience_file", Annotated[str | None, Field(
                  description="A CSV or JSON-lines file in the audience folder.", max_length=255), TEXT], None),
              Param("audience_id", Annotated[str | None, Field(
                  description="An audience uploaded to POST /audiences.", max_length=64), TEXT], None))
    recent = Param("recent_days", Annotated[int | None, Field(
        description="Also require a purchase within this many days.", ge=1, le=3650), INTEGER], None)
    confirm = Param("confirm", Annotated[bool, Field(description="true once the person approved the estimate.")],
                    False)
    return [
        ToolSpec(
            name="screen_audience", title="Screen an audience",
            description=(
                "Screen a campaign audience (the CDP's export: the API cannot list a segment's members) for "
                "segment membership, consent on the channel and, with recent_days, a recent purchase. Over 100 "
                "rows it runs in the background: poll get_screening."
            ),
            resources=AUDIENCE_RESOURCES, optional_resources=_OPTIONAL,
            params=(*source, SEGMENT_ID, SEGMENT_NAME, CHANNEL, recent, confirm), resolved=(_PLAN, _ANSWER),
            output=AudienceScreening, handler=screen_audience, customer=False, view=SCREENING_URI,
            optional_note="searchSegments by name",
            summary="an audience of any size (up to `CDP_AUDIENCE_MAX`; `customers`, `audience_file` or "
                    "`audience_id`): up to 100 rows at once, else a screening run in the background",
        ),
        ToolSpec(
            name="get_screening", title="Screening progress and results",
            description=("A screen_audience run: its progress, then counts per outcome, pages of rows and links "
                         "to the whole result."),
            resources=AUDIENCE_RESOURCES, params=(_SCREENING_ID, CURSOR, _ONLY, _RESUME), output=AudienceScreening,
            handler=get_screening, customer=False, view=SCREENING_URI,
            summary="progress; once done, counts per outcome, pages of rows, links to the JSON and CSV",
        ),
        ToolSpec(
            name="cancel_screening", title="Cancel a screening",
            description="Cancel a screen_audience run; rows screened so far are kept until it expires.",
            resources=AUDIENCE_RESOURCES, params=(_SCREENING_ID,), output=ScreeningState, handler=cancel_screening,
            customer=False, summary="stops a screening at its next chunk; rows screened so far are kept",
            annotations=_STOPS_A_JOB,
        ),
    ]

