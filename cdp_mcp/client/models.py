"""What every domain model shares: the frozen base, money, and the paging of lists.

Each resource's own models live with its reader (`client/resources/`). Upstream quirks end in those models:
`customerId` string or integer becomes a string, money strings such as `"$ 55.9"` become
`Money(amount=55.9, currency="USD")`, the date formats become `datetime.date` (ISO 8601 in JSON), placeholders
(`""`, `" "`, "Not available") become `None`. Field names are ours, snake_case, stable across tenants whatever
spelling the upstream used. Optional fields are `None` when absent (unknown, never a made-up 0) and are
dropped from tool results (`exclude_none`). `Listed` says what the tools rely on in a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DomainModel", "Listed", "Money", "PageInfo", "PageRequest"]

Row_co = TypeVar("Row_co", covariant=True)


class DomainModel(BaseModel):
    """Base: frozen, extra keys forbidden (upstream extras are recognised or dropped by the reader)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # built on first use: not at start-up


class Money(DomainModel):
    amount: float = Field(description="Amount as a number")
    currency: str | None = Field(None, description="ISO 4217 code when known (USD for '$'), else the symbol")


class PageRequest(DomainModel):
    """One page to ask for, in whichever paging style the resource uses (see catalog.Paging)."""

    page: int | None = Field(None, ge=1)
    page_size: int | None = Field(None, ge=1, le=1000)
    last_key: dict[str, Any] | None = None


class PageInfo(DomainModel):
    """Paging facts of a response: the total when stated, and the request for the next page if any."""

    total: int | None = None
    next: PageRequest | None = None


class Listed(Protocol[Row_co]):
    """A domain model that holds a list of rows (`SegmentPage`, `Recommendations`...): the rows, and the page facts
    (the total the API stated, the next page when it pages the list)."""

    @property
    def items(self) -> Sequence[Row_co]: ...

    @property
    def page(self) -> PageInfo: ...
