"""One synthetic customer from (seed, gcrId) alone: identity, orders, consent, activity, affinity, segments.

Every id is derived from the gcrId (order `gcrId*100+k`, event `gcrId*1000+k`), so a customer's rows do not
depend on the tenant size or on any other customer, and two generators with one seed agree row for row. A
resource whose data no shared table holds brings its own (`OwnData`, declared beside its view in
`sandbox/resources/`): its tables, and rows generated from the finished `Customer` with a random stream of its
own, so adding one leaves every other row as it was.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from cdp_mcp.sandbox.options import SAMPLE_SPECS, SampleSpec
from cdp_mcp.sandbox.seed_data import (
    CAMPAIGNS,
    CATEGORIES,
    CHANNELS,
    CITIES,
    FEMALE_NAMES,
    LAST_NAMES,
    MALE_NAMES,
    SEGMENTS,
    STREETS,
)

__all__ = ["Customer", "Generator", "OwnData", "Rows", "normalise_mobile"]

_T = TypeVar("_T")
Rows = dict[str, list[tuple[Any, ...]]]
"""Rows to insert, by table name."""

_ORDERS = {"none": (0, 0), "occasional": (1, 4), "regular": (5, 15), "loyal": (16, 40)}
_EVENTS = {"none": (0, 5), "occasional": (2, 12), "regular": (8, 25), "loyal": (20, 45)}
_EVENT_KINDS = (
    ("web_session", "Web", "Visited the website"), ("app_open", "App", "Opened the app"),
    ("product_view", "Web", "Viewed "), ("add_to_cart", "App", "Added to cart: "),
    ("email_open", "Email", "Opened an email"),
)
_SPECS = {s.sample.gcr_id: s for s in SAMPLE_SPECS}


def normalise_mobile(value: str) -> str:
    """Mobile numbers match ignoring spaces, dashes, dots and parentheses."""
    return "".join(ch for ch in value if ch not in " -.()")


def _level(x: float) -> str:
    """Order volume of a generated customer: 12% none, 50% occasional, 30% regular, 8% loyal."""
    return "none" if x < 0.12 else "occasional" if x < 0.62 else "regular" if x < 0.92 else "loyal"


def _season(days_ago: int) -> float:
    """Order likelihood: a holiday peak in the month before "today" of each year, a summer sale half a year back."""
    d = days_ago % 365
    return 1.0 if d < 35 else 0.8 if 170 <= d < 190 else 0.45


def _tier(spend_2y: float) -> str:
    return "Platinum" if spend_2y >= 3000 else "Gold" if spend_2y >= 1200 else "Silver" if spend_2y >= 400 \
        else "Bronze"


class _Dice:
    """The customer's own random stream; `int(r() * n)` beats randrange/choice on the seeder's hot path."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.r = self._rng.random

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.r() * len(seq))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.r() * (high - low + 1))

    def below(self, n: int) -> int:
        return int(self.r() * n)

    def sample(self, seq: Sequence[_T], k: int) -> list[_T]:
        return self._rng.sample(seq, k)


@dataclass
class _Facts:
    """What later steps derive from: the customer's orders, consent and activity."""

    favourites: list[str]
    days: list[int] = field(default_factory=list)  # order days, oldest first (largest days-ago first)
    spend_2y: float = 0.0
    spend_365: float = 0.0
    orders_365: int = 0
    store_orders: int = 0
    category_spend: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    brand_spend: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    recent_orders: list[tuple[int, int, str, float, int]] = field(default_factory=list)
    consents: dict[str, tuple[bool, list[str]]] = field(default_factory=dict)
    channel_events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    app_days: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Customer:
    """A generated customer, as a resource's own data may derive from it (`OwnData.rows`)."""

    gcr_id: int
    tier: str
    city: str
    favourite_categories: tuple[str, ...]
    order_days: tuple[int, ...]  # days before "today" of each order, oldest first
    spend_2y: float
    spend_365: float
    opted_in: frozenset[str]  # the channels (Email, SMS...) the customer consents to


@dataclass(frozen=True, slots=True)
class OwnData:
    """The data of a resource that no shared table holds: its tables (SQL), and each customer's rows for them.

    `rows(customer, rng)` returns rows by table name; `rng` is the customer's random stream for this resource
    alone (seeded from the tenant seed, the gcrId and the resource name).
    """

    tables: str
    rows: Callable[[Customer, random.Random], Mapping[str, Sequence[tuple[Any, ...]]]]


class Generator:
    """Appends every row of one customer to `rows`; products come from the seeder, own data from `own`."""

    def __init__(self, seed: int, products: list[tuple[Any, ...]], own: Mapping[str, OwnData] | None = None) -> None:
        self.seed = seed
        self.own = dict(own or {})
        self.by_category: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for p in products:
            self.by_category[p[4]].append(p)

    def customer(self, gcr: int, rows: Rows) -> None:
        dice = _Dice(self.seed * 1_000_003 + gcr)
        spec = _SPECS.get(gcr)
        first, last, gender, salutation, level, email, mobile, code = self._person(gcr, dice, spec)
        city, state = dice.pick(CITIES)
        dob = date(1946 + dice.below(60), dice.between(1, 12), dice.between(1, 28)).isoformat()
        address = f"{dice.between(1, 9999)} {dice.pick(STREETS)}, {city}, {state}"
        address = spec.address if spec and spec.address else address
        facts = _Facts(favourites=dice.sample(CATEGORIES, 2))
        self._orders(gcr, dice, spec, level, facts, rows)
        self._consents(gcr, dice, spec, email is not None, facts, rows)
        self._activity(gcr, dice, level, facts, rows, spec)
        top_category = self._affinity(gcr, dice, facts, rows)
        opted = [c.name for c in CHANNELS if facts.consents[c.name][0]]
        preferred = dice.pick(opted) if opted else ""
        total_web = facts.channel_events["Web"] * 8 + dice.below(5)
        total_visits = total_web + facts.channel_events["App"] * 8 + facts.store_orders
        tier = _tier(facts.spend_2y)
        rows["customers"].append((gcr, code, email, mobile, salutation, first, last, gender, dob, city, state,
                                  address, tier, total_visits, total_web, preferred))
        if email:
            rows["identifiers"].append(("email", email.lower(), gcr))
        rows["identifiers"].append(("mobile", normalise_mobile(mobile), gcr))
        rows["identifiers"].append(("code", code, gcr))
        self._attributes(gcr, dice, city, facts, rows, spec)
        self._segments_and_campaigns(gcr, dice, tier, top_category, facts, rows)
        if self.own:
            customer = Customer(gcr, tier, city, tuple(facts.favourites), tuple(facts.days), facts.spend_2y,
                                facts.spend_365, frozenset(n for n, (opted, _) in facts.consents.items() if opted))
            for name, data in self.own.items():
                for table, added in data.rows(customer, random.Random(f"{self.seed}-{gcr}-{name}")).items():
                    rows[table].extend(added)

    @staticmethod
    def _person(gcr: int, dice: _Dice, spec: SampleSpec | None) -> tuple[str, str, str, str, str, str | None, str, str]:
        if spec:
            s = spec.sample
            first, last = s.full_name.split(" ", 1)
            assert s.mobile and s.customer_code
            return first, last, spec.gender, spec.salutation, spec.level, s.email, s.mobile, s.customer_code
        gender = "Female" if dice.r() < 0.52 else "Male"
        first = dice.pick(FEMALE_NAMES if gender == "Female" else MALE_NAMES)
        last = dice.pick(LAST_NAMES)
        salutation = ("Ms." if dice.r() < 0.7 else "Mrs.") if gender == "Female" else "Mr."
        level = _level(dice.r())
        tld = dice.pick(("com", "net", "org"))
        email = None if dice.r() < 0.03 else f"{first}.{last}.{gcr}@example.{tld}".lower()
        mobile = "2" + f"{(gcr * 7919 + 1234567) % 10**9:09d}"  # a bijection: unique, never a sample's 555...
        return first, last, gender, salutation, level, email, mobile, str(1_000_000 + gcr)

    def _orders(self, gcr: int, dice: _Dice, spec: SampleSpec | None, level: str, facts: _Facts,
                rows: Rows) -> None:
        """About two years of orders with seasonality; samples get their documented recency."""
        n_orders = dice.between(*_ORDERS[level])
        if spec and spec.first_order_days is not None:
            n_orders = max(n_orders, 2)  # a first and a latest order
        days: list[int] = []
        while len(days) < n_orders:
            d = dice.below(730)
            if dice.r() < _season(d):
                days.append(d)
        if spec and n_orders:
            if spec.first_order_days is not None:
                days = [dice.between(spec.last_order_days or 0, spec.first_order_days) for _ in days]
                days[-1] = spec.first_order_days
            if spec.last_order_days is not None:
                days = [max(d, spec.last_order_days) for d in days]
                days[0] = spec.last_order_days
        days.sort(reverse=True)
        facts.days = days
        for k, d in enumerate(days, 1):
            order_id = gcr * 100 + k
            x = dice.r()
            channel = "Web" if x < 0.5 else "App" if x < 0.8 else "Store"
            facts.store_orders += channel == "Store"
            total, n_lines = 0.0, 1 + (dice.r() < 0.4) + (dice.r() < 0.15)
            for line in range(1, n_lines + 1):
                category = dice.pick(facts.favourites) if dice.r() < 0.7 else dice.pick(CATEGORIES)
                product = dice.pick(self.by_category[category])
                quantity = 1 if dice.r() < 0.8 else dice.between(2, 3)
                amount = round(product[6] * quantity, 2)
                total += amount
                facts.category_spend[category] += amount
                facts.brand_spend[product[5]] += amount
                rows["order_lines"].append((order_id, line, product[0], quantity, amount))
            total = round(total, 2)
            rows["orders"].append((order_id, gcr, d, channel, total))
            facts.spend_2y += total
            if d < 365:
                facts.spend_365 += total
                facts.orders_365 += 1
            if d < 90:
                facts.recent_orders.append((order_id, d, channel, total, n_lines))

    @staticmethod
    def _consents(gcr: int, dice: _Dice, spec: SampleSpec | None, has_email: bool, facts: _Facts,
                  rows: Rows) -> None:
        """Consent per channel; the opt-out sample and customers without email have none there."""
        for ch in CHANNELS:
            opted = dice.r() < ch.opt_in_rate
            if (spec and spec.opted_out) or (ch.name == "Email" and not has_email):
                opted = False
            categories = ["Promotional"] if opted else []
            if opted and dice.r() < (0.6 if ch.name == "Email" else 0.3):
                categories.append("Newsletter")
            if opted and dice.r() < 0.5:
                categories.append("Transactional")
            facts.consents[ch.name] = (opted, categories)
            rows["channel_consents"].append((gcr, ch.channel_id, int(opted), ",".join(categories)))

    def _activity(self, gcr: int, dice: _Dice, level: str, facts: _Facts, rows: Rows, spec: SampleSpec | None) -> None:
        """Web and app activity of the last 90 days, plus the recent orders as transactions (and a sample's own
        event, yesterday)."""
        event_id = gcr * 1000
        for _ in range(dice.between(*_EVENTS[level])):
            kind, channel, text = dice.pick(_EVENT_KINDS)
            if kind == "email_open" and not facts.consents["Email"][0]:
                kind, channel, text = _EVENT_KINDS[0]
            d = dice.below(90)
            if kind in ("product_view", "add_to_cart"):
                product = dice.pick(self.by_category[dice.pick(facts.favourites)])
                text += product[2]
                facts.category_spend[product[4]] += 1.0  # browsing counts a little towards affinity
            if kind == "app_open":
                facts.app_days.append(d)
            facts.channel_events[channel] += 1
            event_id += 1
            rows["activity_events"].append((event_id, gcr, d, kind, channel, text, None))
        for order_id, d, channel, total, n_lines in facts.recent_orders:
            event_id += 1
            rows["activity_events"].append((event_id, gcr, d, "transaction", channel,
                                            f"Order ORD-{order_id}: {n_lines} item(s)", total))
        if spec and spec.activity:
            rows["activity_events"].append((event_id + 1, gcr, 1, "support_chat", "Web", spec.activity, None))

    @staticmethod
    def _affinity(gcr: int, dice: _Dice, facts: _Facts, rows: Rows) -> str:
        """Category and brand scores from spend (and browsing), channel from activity and consent; top category."""
        if not facts.category_spend:
            facts.category_spend.update({facts.favourites[0]: 2.0, facts.favourites[1]: 1.0})
        for dimension, values in (("category", facts.category_spend), ("brand", facts.brand_spend)):
            top = max(values.values(), default=0.0)
            for label in sorted(values, key=lambda k: (-values[k], k))[:5]:
                rows["affinity_scores"].append((gcr, dimension, label, round(100 * values[label] / top, 1)))
        for ch in CHANNELS:
            engaged = 10 * facts.channel_events.get(ch.name, 0) + (40 if facts.consents[ch.name][0] else 0)
            rows["affinity_scores"].append((gcr, "channel", ch.name, round(min(100.0, engaged + dice.r() * 10), 1)))
        return min(facts.category_spend, key=lambda k: (-facts.category_spend[k], k))

    @staticmethod
    def _attributes(gcr: int, dice: _Dice, city: str, facts: _Facts, rows: Rows, spec: SampleSpec | None) -> None:
        attributes = [
            ("loyaltyPoints", str(int(facts.spend_2y)), "integer"), ("preferredStore", f"{city} Central", "string"),
            ("hasKids", "true" if dice.r() < 0.4 else "false", "boolean"),
            ("marketingScore", f"{dice.r():.2f}", "float"),
            ("clothingSize", dice.pick(("XS", "S", "M", "L", "XL")), "string"),
            ("shoeSize", str(dice.between(36, 46)), "integer"),
        ]
        if facts.app_days:
            attributes.append(("lastAppVersion", f"4.{dice.between(0, 9)}.{dice.between(0, 20)}", "string"))
        attributes += [(name, value, "string") for name, value in (spec.attributes if spec else ())]
        rows["custom_attributes"].extend((gcr, name, value, kind) for name, value, kind in attributes)

    @staticmethod
    def _segments_and_campaigns(gcr: int, dice: _Dice, tier: str, top_category: str, facts: _Facts,
                                rows: Rows) -> None:
        """Segments derived from the data; campaigns reach members who consented to the campaign's channel."""
        days, app_days = facts.days, facts.app_days
        rules = {  # key: (member?, days ago it joined)
            "high_value": (facts.spend_365 >= 800, lambda: dice.below(60)),
            "lapsed_90": (bool(days) and days[-1] > 90, lambda: days[-1] - 90),
            "newsletter": ("Newsletter" in facts.consents["Email"][1], lambda: dice.below(700)),
            "new_customer": (bool(days) and days[0] <= 60, lambda: days[0]),
            "app_active": (any(d < 30 for d in app_days), lambda: min(app_days)),
            "gold_plus": (tier in ("Gold", "Platinum"), lambda: dice.below(365)),
            "frequent": (facts.orders_365 >= 8, lambda: dice.below(30)),
            "never_purchased": (not days, lambda: dice.below(700)),
            "sms_reachable": (facts.consents["SMS"][0], lambda: dice.below(700)),
            "beauty_fans": (top_category == "Beauty", lambda: dice.below(180)),
            "sports_fans": (top_category == "Sports", lambda: dice.below(180)),
            "tech_fans": (top_category == "Electronics", lambda: dice.below(180)),
        }
        member_of = set()
        for segment in SEGMENTS:
            is_member, joined = rules[segment.key]
            if is_member:
                member_of.add(segment.segment_id)
                rows["segment_members"].append((gcr, segment.segment_id, joined()))
        for campaign in CAMPAIGNS:
            if campaign.segment_id not in member_of or campaign.status == "Scheduled":
                continue
            if not facts.consents[campaign.channel][0] or dice.r() >= 0.9:
                continue
            sent = dice.between(max(campaign.end_days_ago, 0), campaign.start_days_ago)
            opened = dice.r() < 0.45
            clicked = opened and dice.r() < 0.35
            rows["campaign_participation"].append((gcr, campaign.campaign_id, sent, int(opened), int(clicked)))
