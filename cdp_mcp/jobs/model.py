"""What a screening job is, as stored: the job document, its audience rows, its result rows, its control flags.

A job screens an audience chunk by chunk. The document (`Job`) holds everything a poller needs (state, progress,
counts per outcome, the reason it paused or stopped) and the checkpoint (`done_chunks`): the chunks before it are
screened and their result rows stored. A cancel request from any replica lives apart from the document
(`Control`), so the running replica's writes never overwrite it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cdp_mcp.client.identity import CustomerIdentity

__all__ = [
    "CHUNK_ROWS",
    "GROUPS",
    "OUTCOMES",
    "Audience",
    "AudienceRecord",
    "Checks",
    "Control",
    "Given",
    "Job",
    "JobState",
    "Member",
    "Only",
    "Outcome",
    "Outcomes",
    "Owner",
    "Rejection",
    "ResultPart",
    "ScreenedRow",
    "new_id",
    "now",
]

CHUNK_ROWS = 100
"""Audience rows per chunk: the unit of checkpointing (a restart repeats at most this many rows) and of audit."""

Outcome = Literal["eligible", "not_in_segment", "not_contactable", "lapsed", "not_found", "error"]
OUTCOMES: tuple[Outcome, ...] = ("eligible", "not_in_segment", "not_contactable", "lapsed", "not_found", "error")
Only = Literal["eligible", "not_eligible", "errors"]
GROUPS: dict[str, frozenset[str]] = {
    "eligible": frozenset({"eligible"}),
    "not_eligible": frozenset({"not_in_segment", "not_contactable", "lapsed"}),
    "errors": frozenset({"not_found", "error"}),
}
"""The rows `only` keeps: `errors` are the rows that could not be screened (identifiers matching nobody included)."""

_ID_BYTES = 16
"""128 bits: screening, task and audience ids are bearer handles nobody can guess."""


def new_id(prefix: str) -> str:
    """An unguessable id, e.g. `scr_3q2...` (the prefix says what it names)."""
    return f"{prefix}_{secrets.token_urlsafe(_ID_BYTES)}"


def now() -> datetime:
    return datetime.now(UTC)


class _Stored(BaseModel):
    """Only the job engine and the stores read these: their validators are built when first used, not when a server
    that may never screen starts (the result parts below are built at once: output schemas are made of them)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class ResultPart(BaseModel):
    """Stored, and shown in a tool's result as is (the tools publish its shape: `tools.audience_results`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Given(ResultPart):
    """The identifiers of one audience row, as the audience gave them (echoed in its result row)."""

    gcr_id: int | None = None
    email: str | None = None
    mobile: str | None = None
    customer_code: str | None = None


class JobState(StrEnum):
    """Where a job is. Queued, running and paused jobs are active: some replica runs (or will run) them."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"  # the API is failing or throttling: retried by itself
    STOPPED = "stopped"  # cannot go on without a person (quota spent, credentials refused, outage too long)
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"  # crashed (a bug): the message names a request id

    @property
    def active(self) -> bool:
        return self in (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED)

    @property
    def finished(self) -> bool:
        return self in (JobState.COMPLETED, JobState.CANCELLED, JobState.FAILED)


@dataclass(frozen=True, slots=True)
class Member:
    """One audience row to screen: its line (in the file, or position in `customers`) and its identifiers, already
    validated and normalised (a plain record: an audience of 50,000 rows is held as 50,000 of these)."""

    line: int
    gcr_id: int | None = None
    email: str | None = None
    mobile: str | None = None
    customer_code: str | None = None

    def identity(self) -> CustomerIdentity:
        return CustomerIdentity.parse(gcr_id=self.gcr_id, email=self.email, mobile=self.mobile,
                                      customer_code=self.customer_code)

    def given(self) -> Given:
        """The identifiers as the audience gave them, for the result row."""
        return Given(gcr_id=self.gcr_id, email=self.email, mobile=self.mobile, customer_code=self.customer_code)

    def compact(self) -> list[object]:
        """`[line, gcr_id, email, mobile, customer_code]`: how rows are stored."""
        return [self.line, self.gcr_id, self.email, self.mobile, self.customer_code]

    @classmethod
    def from_compact(cls, raw: list[Any]) -> Member:
        line, gcr_id, email, mobile, code = raw
        return cls(int(line), gcr_id, email, mobile, code)


class Rejection(ResultPart):
    """An audience row that was not screened, and why."""

    line: int
    reason: str


@dataclass(slots=True)
class Audience:
    """A parsed audience: unique rows to screen, and what was left out (the first rejections, with line numbers)."""

    members: list[Member] = field(default_factory=list)
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    duplicates: int = 0


class AudienceRecord(_Stored):
    """An uploaded audience (`POST /audiences`): its owner and counts; the rows are stored beside it by chunk."""

    id: str
    owner: str
    rows: int
    chunks: int
    rejected: int
    rejections: list[Rejection]
    duplicates: int
    created_at: datetime
    expires_at: datetime


class Checks(_Stored):
    """What each row is screened for."""

    segment_id: str | None = None
    segment_name: str | None = None
    channel: str
    recent_days: int | None = None


class Owner(_Stored):
    """Who started a job: the principal it belongs to, and the scopes it runs with (None: not signed in)."""

    principal: str
    client_id: str | None = None
    transport: str = "stdio"
    scopes: list[str] | None = None


class Outcomes(ResultPart):
    """Rows per outcome: each screened row has exactly one, the first check it failed (or eligible; `lapsed`: the
    last purchase is longer ago than recent_days, or never)."""

    customers: int
    eligible: int
    not_in_segment: int
    not_contactable: int
    lapsed: int
    not_found: int
    errors: int

    @classmethod
    def none(cls) -> Outcomes:
        return cls(customers=0, eligible=0, not_in_segment=0, not_contactable=0, lapsed=0, not_found=0, errors=0)

    def add(self, rows: list[ScreenedRow]) -> Outcomes:
        counts = self.model_dump()
        for row in rows:
            counts["customers"] += 1
            counts["errors" if row.outcome == "error" else row.outcome] += 1
        return Outcomes(**counts)


class ScreenedRow(ResultPart):
    """One audience row screened, keyed by the identifiers the audience used."""

    line: int  # in the audience file, or position in customers from 1
    customer: Given | None = None  # the identifiers the audience used, unless that was just the gcr_id
    gcr_id: int | None = None
    name: str | None = None
    outcome: Outcome
    in_segment: bool | None = None
    contactable: bool | None = None
    days_since_last_purchase: int | None = None
    error: str | None = None


class NameSearchState(_Stored):
    """Across chunks, what searching the rows' segments for `segment_name` found (see rows.NameSearch): the segment
    of exactly that name, as the API spells it and with its id, once a row carries it."""

    searched: int = 0
    exact_id: str | None = None
    exact_name: str | None = None
    similar: list[str] = Field(default_factory=list)


class Control(_Stored):
    """What any replica may ask of a job that another replica is running: to cancel it."""

    cancel: bool = False


class Job(_Stored):
    """One screening. `done_chunks` is the checkpoint; `expires_at` is set once it no longer runs (TTL)."""

    id: str
    owner: Owner
    checks: Checks
    source: str
    total: int
    chunks: int
    state: JobState = JobState.QUEUED
    done_chunks: int = 0
    done_rows: int = 0
    counts: Outcomes = Field(default_factory=Outcomes.none)
    rejected: int = 0
    rejections: list[Rejection] = Field(default_factory=list)
    duplicates: int = 0
    message: str | None = None
    retry_at: datetime | None = None
    stops: int = 0  # times it stopped for a person (the key of each resume question)
    requests: int = 0  # upstream requests made (restarted chunks included)
    ms_per_request: float | None = None
    name_search: NameSearchState = Field(default_factory=NameSearchState)
    error: str | None = None  # a result-level error (a segment name nobody carries)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    finished_at: datetime | None = None
    expires_at: datetime | None = None

    def touch(self) -> Job:
        self.updated_at = now()
        return self

    def settle(self, state: JobState, ttl: float, message: str | None = None) -> Job:
        """Move to a state where no replica runs it: it (and its rows) expire `ttl` seconds from now."""
        self.state = state
        self.message = message
        self.finished_at = now() if state.finished else None
        self.expires_at = now() + timedelta(seconds=ttl)
        return self.touch()
