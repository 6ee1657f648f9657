"""What every resource's view shares: the request it answers, and how the sandbox declares a resource it serves.

Each resource's view lives in `sandbox/resources/`, one module per resource (or family), and builds the
resource's declaration (`cdp_mcp.wire`), so the sandbox sends exactly the documented fields, typed as documented.
Values follow the vendor's quirks where documented (formatted `totalSales`, `DD/MM/YYYY` birth date, `DD-MM-YYYY`
days, `Mon,YY` buckets) and CONTRACT.md where the docs are open. Views read the store (blocking: the app runs
them in a worker thread).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, Protocol

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.contract import CURRENCY
from cdp_mcp.sandbox.generator import OwnData
from cdp_mcp.sandbox.paging import PageParams, last_key

__all__ = [
    "ACTIVE_DAYS",
    "NEW_DAYS",
    "Reads",
    "SandboxResource",
    "View",
    "ViewRequest",
    "day",
    "last_key_after",
    "money",
    "pages",
    "status_color",
]

ACTIVE_DAYS = 90
"""A customer whose last order is more recent than this is `green`; older (or never) is `red`."""
NEW_DAYS = 30
"""A customer whose first order is more recent than this is `blue` (new)."""


class Reads(Protocol):
    """What a view asks of the tenant's store (`store.Store`): parameterised reads, nothing else."""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any: ...


@dataclass(frozen=True, slots=True)
class ViewRequest:
    """Everything a view needs: the customer, "today", the query parameter and the page."""

    store: Reads
    gcr_id: int
    today: date
    query: str | None
    page: PageParams


View = Callable[[ViewRequest], wire.WireModel | Sequence[wire.WireModel]]
"""A resource's view: its declared data (a list of items for a bare-array resource such as optIn)."""


@dataclass(frozen=True, slots=True)
class SandboxResource:
    """How the sandbox serves one catalog resource: its view, its own default `pageSize` when it differs from its
    paging style's, its own data when no other resource's tables hold it (`generator.OwnData`), and what it chooses
    where the vendor's docs are open (`contract`: CONTRACT.md's resource table is generated from it and the
    resource's declaration in `wire.py`)."""

    scope: Scope
    view: View
    default_page_size: int | None = None
    data: OwnData | None = None
    contract: str = ""


def money(amount: float) -> str:
    """`$ 55.9`: the vendor's formatted money (two decimals at most, trailing zeros dropped)."""
    return f"{CURRENCY} {f'{amount:.2f}'.rstrip('0').rstrip('.')}"


def day(today: date, days_ago: int) -> str:
    """A day `days_ago` before `today`, as the vendor writes days (`DD-MM-YYYY`)."""
    return (today - timedelta(days=days_ago)).strftime("%d-%m-%Y")


def pages(total: int, size: int) -> int:
    """How many pages of `size` hold `total` items."""
    return (total + size - 1) // size


def status_color(last_order_days: int | None, first_order_days: int | None) -> Literal["red", "green", "blue"]:
    """`blue` a new customer, `green` an active one, `red` a lapsed one or one who never ordered."""
    if first_order_days is not None and first_order_days < NEW_DAYS:
        return "blue"
    return "green" if last_order_days is not None and last_order_days < ACTIVE_DAYS else "red"


def last_key_after(req: ViewRequest, offset: int, count: int, total: int) -> wire.LastKey | None:
    """The `lastKey` of a page of `count` items from `offset`: the pointer to its last record (None: empty or last)."""
    return last_key(req.gcr_id, offset + count, total) if count else None
