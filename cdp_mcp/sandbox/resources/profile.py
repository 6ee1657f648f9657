"""basic, as the sandbox serves it: the profile card from the customer's row and their orders."""

from __future__ import annotations

from datetime import date

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest, money, status_color

__all__ = ["BASIC", "basic"]

def basic(req: ViewRequest) -> wire.BasicData:
    (row,) = req.store.query(
        "SELECT salutation, first_name, last_name, gender, dob, city, state, address, tier, total_visits, "
        "total_web_sessions, EXISTS(SELECT 1 FROM channel_consents c WHERE c.gcr_id = customers.gcr_id "
        "AND c.opted_in) FROM customers WHERE gcr_id = ?", (req.gcr_id,))
    salutation, first, last, gender, dob, city, state, address, tier, visits, web, opted_in = row
    orders, sales, last_days, first_days = req.store.query(
        "SELECT COUNT(*), COALESCE(SUM(total), 0), MIN(days_ago), MAX(days_ago) FROM orders WHERE gcr_id = ?",
        (req.gcr_id,))[0]
    born = date.fromisoformat(dob)
    age = req.today.year - born.year - ((req.today.month, req.today.day) < (born.month, born.day))
    return wire.BasicData(
        customerId=str(req.gcr_id), profileImageUrl=f"https://img.example.com/customers/{req.gcr_id}.jpg",
        salutation=salutation, fullName=f"{first} {last}", gender=gender, age=age, dob=born.strftime("%d/%m/%Y"),
        statusColor=status_color(last_days, first_days), membershipType=tier, city=city, state=state,
        residenceAddress=address, totalSales=money(sales), totalOrders=orders,
        avgBasketVal=round(sales / orders, 2) if orders else None, totalVisits=visits, daySinceLastPur=last_days,
        totalWebSessions=web, optInStatus="Opted in" if opted_in else "Opted out",
    )


BASIC = SandboxResource(
    Scope.BASIC, basic,
    contract="`customerId` is a string; `avgBasketVal` and `daySinceLastPur` are a number or null. The vendor mentions "
             "further fields without naming them (\"one begins with `op`\"): one is sent, *`optInStatus`* (`\"Opted "
             "in\"` when the customer consents to at least one channel, else `\"Opted out\"`), which the client "
             "keeps as the tenant's own field (`more` in the profile result)",
)
