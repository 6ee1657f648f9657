"""userActivity: the customer's recent web, app and store events."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, Money, PageInfo, PageRequest
from cdp_mcp.client.reading import Reader, customer_of, need_items
from cdp_mcp.client.recognise import Item

__all__ = ["USER_ACTIVITY", "Activity", "ActivityEvent", "read_activity"]

ACTIVITY = ("activity", "event", "transaction")


class ActivityEvent(DomainModel):
    id: str | None = None
    occurred_on: date
    type: str | None = None
    channel: str | None = None
    description: str | None = None
    amount: Money | None = None


class Activity(DomainModel):
    customer_id: str | None = None
    items: list[ActivityEvent] = Field(description="Newest first")

    @property
    def page(self) -> PageInfo:
        """The API neither pages the activity nor states a total."""
        return PageInfo()


def _event(raw: dict[str, object], day: date | None) -> ActivityEvent | None:
    item = Item(raw, ACTIVITY, declared=wire.ActivityItem)
    occurred = item.day("date") or day
    if occurred is None:
        return None
    return ActivityEvent(id=item.text("id"), occurred_on=occurred, type=item.text("type"),
                         channel=item.text("channel"), description=item.text("description"),
                         amount=item.money("amount"))


def read_activity(resource: Resource, data: object, _page: PageRequest | None) -> Activity:
    groups = need_items(resource, data, "activities", "events", "timeline")
    events: list[ActivityEvent] = []
    for group in groups:
        item = Item(group, declared=wire.ActivityDay)
        inner = item.sublist("activities", "events", "items", "list", any_list=False)
        if inner is None:
            event = _event(group, None)
            events.extend([event] if event else [])
            continue
        day = item.day("date")
        events.extend(e for e in (_event(x, day) for x in inner if isinstance(x, dict)) if e is not None)
    events.sort(key=lambda e: e.occurred_on, reverse=True)
    return Activity(customer_id=customer_of(resource, data), items=events)


USER_ACTIVITY = Reader(Scope.USER_ACTIVITY, read_activity)
