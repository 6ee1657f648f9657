"""userActivity, as the sandbox serves it: the customer's events of the last 90 days, by day."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest, day

__all__ = ["USER_ACTIVITY", "user_activity"]

_ACTIVITY_DAYS = 90


def user_activity(req: ViewRequest) -> wire.UserActivityData:
    rows = req.store.query(
        "SELECT event_id, days_ago, event_type, channel, description, amount FROM activity_events "
        "WHERE gcr_id = ? AND days_ago < ? ORDER BY days_ago, event_id DESC", (req.gcr_id, _ACTIVITY_DAYS))
    days: dict[int, list[wire.ActivityItem]] = {}
    for event_id, days_ago, kind, channel, text, amount in rows:
        days.setdefault(days_ago, []).append(wire.ActivityItem(id=f"{kind}_{event_id}", activityType=kind,
                                                               channel=channel, description=text, amount=amount))
    return wire.UserActivityData(
        activity=[wire.ActivityDay(date=day(req.today, d), activityList=items) for d, items in days.items()])


USER_ACTIVITY = SandboxResource(
    Scope.USER_ACTIVITY, user_activity,
    contract=f"Days newest first, the last {_ACTIVITY_DAYS} days; *`activityType`* one of `web_session`, `app_open`, "
             "`product_view`, `add_to_cart`, `email_open`, `transaction` (id `transaction_N`, *`amount`* a number; "
             "`null` for the others)",
)
