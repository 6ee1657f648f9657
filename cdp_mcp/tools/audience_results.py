"""What screen_audience, get_screening and cancel_screening answer: one compact shape for a screening at any stage.

A small audience comes back whole (summary and rows). A large one is a handle: its `screening_id`, status and
estimate, then progress while it runs, and once done the summary per outcome, one page of rows (`only` one group
of outcomes), `next_cursor`, and resource links to the whole result as JSON pages (`cdp://screenings/{id}`) and
as CSV (`.../results.csv`), for the marketer's next tool. The rows the job stores (`jobs.model`) are shown here
with the origin of each text (`tools/origins.py`): a row's `name` is customer-written, like the profile's, and is
sanitized or left out as CDP_UNTRUSTED says, in the JSON and in the CSV alike.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.types import ResourceLink
from pydantic import ConfigDict

from cdp_mcp.catalog import IDENTIFIERS
from cdp_mcp.jobs.estimate import Estimate, poll_seconds
from cdp_mcp.jobs.model import Job, JobState, Outcomes, Rejection, ScreenedRow
from cdp_mcp.sanitizer import Withheld, clean_customer_text
from cdp_mcp.tools.origins import OURS, shaped
from cdp_mcp.tools.outputs import OUTPUT_CONFIG, OutputModel, Withholds, collapsed_schema
from cdp_mcp.tools.resources.profile import CustomerProfile
from cdp_mcp.tools.screening import Given
from cdp_mcp.tools.shaping import redact
from cdp_mcp.tools.untrusted import Mode, Policy

if TYPE_CHECKING:
    from cdp_mcp.jobs.service import Page

__all__ = ["CSV_URI", "SCREENING_URI", "AudienceScreening", "ScreeningState", "ShownRejection", "ShownRow", "Status",
           "csv_text", "screening_result", "shown_rejections", "shown_rows"]

SCREENING_URI = "cdp://screenings/{screening_id}"
CSV_URI = "cdp://screenings/{screening_id}/results.csv"
_CSV_COLUMNS = ("line", *(i.argument for i in IDENTIFIERS[1:]), "gcr_id", "name", "outcome", "in_segment",
                "contactable", "days_since_last_purchase", "error")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
Status = Literal["completed", "queued", "running", "paused", "stopped", "cancelled", "failed", "not_started"]


class ScreeningState(OutputModel):
    """Where a screening stands (cancel_screening's answer)."""

    screening_id: Annotated[str | None, OURS] = None
    status: Status
    message: Annotated[str | None, OURS] = None
    customers: int
    done: int | None = None


class ShownRejection(Rejection):
    """An audience row left out, and why (in cdp-mcp's words)."""

    model_config = OUTPUT_CONFIG

    reason: Annotated[str, OURS]


class ShownRow(ScreenedRow):
    """A screened row as a result shows it: the identifiers the audience used are the caller's own, the name is the
    customer's (as the profile card's)."""

    model_config = OUTPUT_CONFIG

    customer: Given | None = None
    name: Annotated[str | None, shaped(CustomerProfile, "name")] = None
    error: Annotated[str | None, OURS] = None


def shown_rows(rows: Sequence[ScreenedRow]) -> list[ShownRow]:
    return [ShownRow.model_validate(row.model_dump()) for row in rows]


def shown_rejections(rejections: Sequence[Rejection]) -> list[ShownRejection] | None:
    return [ShownRejection.model_validate(r.model_dump()) for r in rejections] or None


class AudienceScreening(ScreeningState, Withholds):
    """A screening: whole when small, else a handle, its progress, then its summary and pages of rows. Published
    compact (nested objects described by their keys): the tool descriptions say what the fields mean, and every
    tools/list pays for the schema."""

    model_config = ConfigDict(**{**OUTPUT_CONFIG, "json_schema_extra": collapsed_schema})

    segment_id: Annotated[str | None, OURS] = None
    segment_name: Annotated[str | None, OURS] = None
    channel: Annotated[str, OURS]
    poll_after: int | None = None
    estimate: Estimate | None = None
    summary: Outcomes | None = None
    rejected: int | None = None
    rejections: list[ShownRejection] | None = None
    duplicates: int | None = None
    rows: list[ShownRow] | None = None
    total: int | None = None
    next_cursor: Annotated[str | None, OURS] = None

    def resource_links(self) -> list[ResourceLink]:
        """Links to the whole result, once there are rows to read."""
        if self.screening_id is None or self.rows is None:
            return []
        uri = SCREENING_URI.format(screening_id=self.screening_id)
        return [
            ResourceLink(type="resource_link", uri=uri, name="screening", mime_type="application/json",
                         description="The screening's summary and rows, in pages (?cursor=next_cursor)"),
            ResourceLink(type="resource_link", uri=CSV_URI.format(screening_id=self.screening_id),
                         name="screening_results", mime_type="text/csv",
                         description="Every row screened, as CSV (line, identifiers, outcome, facts)"),
        ]


def _poll_after(job: Job) -> int:
    """Whole seconds, at most 30: a model waits between its polls."""
    return math.ceil(poll_seconds(job, longest=30))


def _message(job: Job) -> str | None:
    share = f"{job.done_rows:,} of {job.total:,} customers ({100 * job.done_rows // max(1, job.total)}%)"
    if job.state is JobState.QUEUED and not job.done_rows:
        return f"Started in the background: {job.total:,} customers to screen. Call get_screening to follow it."
    if job.state is JobState.QUEUED:
        return f"Waiting for a free place on the server: {share} screened so far. Call get_screening to follow it."
    if job.state is JobState.RUNNING:
        return f"Screening in the background: {share} screened. Call get_screening to follow it."
    if job.state is JobState.STOPPED:
        return f"{job.message} To go on, call get_screening with resume=true."
    if job.state is JobState.COMPLETED and job.error is not None:
        return job.error
    return job.message


def screening_result(job: Job, *, page: Page | None = None, estimate: Estimate | None = None,
                     started: bool = False) -> AudienceScreening:
    """The answer about `job`: progress while it runs, the summary and `page` of rows when it has some. The rows
    rejected from the audience are listed when it `started` and with the first page of its result; a poll or a
    later page gives their count alone (every poll would repeat twenty lines)."""
    running = job.state.active
    listed = started or (page is not None and page.first)
    checks, found = job.checks, job.name_search
    segment_id, segment_name = checks.segment_id, checks.segment_name
    if found.exact_id is not None:  # a segment given by name: its id, and its name as the API spells it
        segment_id, segment_name = found.exact_id, found.exact_name or segment_name
    return AudienceScreening(
        screening_id=job.id, status=job.state.value, message=_message(job),
        segment_id=segment_id, segment_name=segment_name, channel=checks.channel, customers=job.total,
        done=job.done_rows if job.state is not JobState.COMPLETED else None,
        poll_after=_poll_after(job) if running else None, estimate=estimate,
        summary=job.counts if job.done_rows and not running else None,
        rejected=job.rejected or None, rejections=shown_rejections(job.rejections) if listed else None,
        duplicates=job.duplicates or None, rows=shown_rows(page.rows) if page is not None else None,
        total=page.total if page is not None else None, next_cursor=page.next_cursor if page is not None else None)


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return "" if value is None else value


def _name_cell(value: Any, policy: Policy) -> str | None:
    """A customer's name as the CSV carries it: sanitized like a result's, empty when CDP_UNTRUSTED=omit."""
    if not isinstance(value, str) or policy.mode is Mode.OMIT:
        return None
    cleaned = clean_customer_text(value, policy.cap)
    return None if isinstance(cleaned, Withheld) else cleaned


async def csv_text(rows: AsyncIterator[ScreenedRow], *, redact_pii: bool, policy: Policy) -> str:
    """Result rows as CSV, one line per audience row, its identifiers first (masked as CDP_REDACT_PII says, the
    customer-written name cleaned or left out as CDP_UNTRUSTED says, no cell a spreadsheet would run)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    async for row in rows:
        given = row.customer.model_dump(exclude_none=True) if row.customer is not None else {}
        data = {"line": row.line, **given, **row.model_dump(exclude_none=True, exclude={"line", "customer"})}
        data["name"] = _name_cell(data.get("name"), policy)
        data = redact(data) if redact_pii else data
        writer.writerow([data.get(c) if c == "mobile" else _cell(data.get(c)) for c in _CSV_COLUMNS])
    return out.getvalue()
