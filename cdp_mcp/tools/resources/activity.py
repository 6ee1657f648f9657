"""userActivity as the get_customer_activity tool: the customer's recent events, newest first."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from cdp_mcp import wire
from cdp_mcp.client.resources.activity import USER_ACTIVITY, ActivityEvent
from cdp_mcp.tools.kinds import LeftOut, ListTool
from cdp_mcp.tools.origins import OURS, wired
from cdp_mcp.tools.outputs import Listing, Number, OutputModel, Priced, Withholds, currency_of
from cdp_mcp.tools.shaping import clean, lower, money

__all__ = ["GET_CUSTOMER_ACTIVITY", "Activities", "ActivityItem", "Event", "activity_item"]


class Event(OutputModel):
    date: Annotated[str, wired(wire.ActivityDay, "date")]
    event: Annotated[str | None, wired(wire.ActivityItem, "description", "type")] = None
    channel: Annotated[str | None, wired(wire.ActivityItem, "channel")] = None
    amount: Number | None = None


class ActivityItem(Event):
    currency: Annotated[str | None, OURS] = None


class Activities(Listing, Priced, Withholds):
    amount_keys: ClassVar[frozenset[str]] = frozenset({"amount"})
    events: list[Event]

    @classmethod
    def publish(cls, rows: list[Any]) -> Any:
        return [r.model_dump(include=set(cls.rows_model.model_fields), exclude_none=True) for r in rows]


def activity_item(e: ActivityEvent) -> ActivityItem:
    """The event in the API's words: its description, or its type when it has none."""
    return ActivityItem(date=e.occurred_on.isoformat(), event=clean(e.description) or clean(e.type),
                        channel=lower(e.channel), amount=money(e.amount), currency=currency_of(e.amount))


GET_CUSTOMER_ACTIVITY = ListTool(
    reader=USER_ACTIVITY, tool="get_customer_activity", title="Customer activity",
    description="Recent web, app and store events (date, what happened, channel, amount), newest first.",
    output=Activities, item=activity_item, pages=False,
    summary="recent web, app and store events",
    left_out=LeftOut(("id", "activityType"),
                     "internal event ids; the type is the `event` only when the API gives no description, which says "
                     "it in words"),
)
