"""Deterministic synthetic tenant: every customer is generated from (seed, gcrId) alone, so data for
customer N is the same whatever the tenant size, and two stores from one seed agree row for row."""

from __future__ import annotations

import contextlib
import queue
import random
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TypeVar

from cdp_mcp.sandbox.options import SAMPLE_SPECS, SampleSpec
from cdp_mcp.sandbox.seed_data import (
    BRANDS, CAMPAIGNS, CATEGORIES, CHANNELS, CITIES, FEMALE_NAMES, LAST_NAMES, MALE_NAMES, PRICE_RANGE,
    PRODUCT_NOUNS, SEGMENTS, STREETS,
)

__all__ = ["normalise_mobile", "seed_database"]

_BATCH = 5000
T = TypeVar("T")
_ORDERS = {"none": (0, 0), "occasional": (1, 4), "regular": (5, 15), "loyal": (16, 40)}
_EVENTS = {"none": (0, 5), "occasional": (2, 12), "regular": (8, 25), "loyal": (20, 45)}
_EVENT_KINDS = (
    ("web_session", "Web", "Visited the website"), ("app_open", "App", "Opened the app"),
    ("product_view", "Web", "Viewed "), ("add_to_cart", "App", "Added to cart: "),
    ("email_open", "Email", "Opened an email"),
)
_CAMPAIGN_CHANNEL = {c.name: c.channel_id for c in CHANNELS}
_SPECS = {s.sample.gcr_id: s for s in SAMPLE_SPECS}
_INSERTS = {
    "customers": 16, "identifiers": 3, "segment_members": 3, "campaign_participation": 5, "orders": 5,
    "order_lines": 5, "activity_events": 7, "affinity_scores": 4, "custom_attributes": 4, "channel_consents": 4,
}


def normalise_mobile(value: str) -> str:
    """Mobile numbers match ignoring spaces, dashes, dots and parentheses."""
    return "".join(ch for ch in value if ch not in " -.()")


def _level(x: float) -> str:
    """Order volume of a generated customer: 12% none, 50% occasional, 30% regular, 8% loyal."""
    return "none" if x < 0.12 else "occasional" if x < 0.62 else "regular" if x < 0.92 else "loyal"


def _order_channel(x: float) -> str:
    return "Web" if x < 0.5 else "App" if x < 0.8 else "Store"


def _season(days_ago: int) -> float:
    """Order likelihood: a holiday peak in the month before "today" of each year, a summer sale half a year back."""
    d = days_ago % 365
    return 1.0 if d < 35 else 0.8 if 170 <= d < 190 else 0.45


def _products(seed: int) -> list[tuple]:
    rng = random.Random(f"products-{seed}")
    rows, pid = [], 0
    for category in CATEGORIES:
        low, high = PRICE_RANGE[category]
        for noun in PRODUCT_NOUNS[category]:
            for brand in rng.sample(BRANDS, 5):
                pid += 1
                price = round(rng.uniform(low, high), 2)
                rows.append((pid, f"SKU-{pid:05d}", f"{brand} {noun}", f"{brand}'s {noun.lower()} ({category.lower()})",
                             category, brand, price, f"https://img.example.com/products/{pid:05d}.jpg"))
    return rows


class _Generator:
    """Builds all rows of one customer at a time; `order_id`/`event_id` counters make ids deterministic."""

    def __init__(self, seed: int, products: list[tuple]) -> None:
        self.seed = seed
        self.products = products
        self.by_category: dict[str, list[tuple]] = defaultdict(list)
        for p in products:
            self.by_category[p[4]].append(p)
        self.order_id = 0
        self.event_id = 0

    def customer(self, gcr: int, rows: dict[str, list[tuple]]) -> None:  # noqa: PLR0915 - one linear recipe
        rng = random.Random(self.seed * 1_000_003 + gcr)
        r = rng.random  # int(r() * n) instead of randrange/choice: this is the seeder's hot path

        def pick(seq: Sequence[T]) -> T:
            return seq[int(r() * len(seq))]

        def between(low: int, high: int) -> int:
            return low + int(r() * (high - low + 1))
        spec: SampleSpec | None = _SPECS.get(gcr)
        if spec:
            s = spec.sample
            first, last = s.full_name.split(" ", 1)
            gender, salutation, level = spec.gender, spec.salutation, spec.level
            email, mobile, code = s.email, s.mobile, s.customer_code
        else:
            gender = "Female" if r() < 0.52 else "Male"
            first = pick(FEMALE_NAMES if gender == "Female" else MALE_NAMES)
            last = pick(LAST_NAMES)
            salutation = ("Ms." if r() < 0.7 else "Mrs.") if gender == "Female" else "Mr."
            level = _level(r())
            tld = pick(("com", "net", "org"))
            email = None if r() < 0.03 else f"{first}.{last}.{gcr}@example.{tld}".lower()
            mobile = "2" + f"{(gcr * 7919 + 1234567) % 10**9:09d}"
            code = str(1_000_000 + gcr)
        city, state = pick(CITIES)
        dob = date(1946 + int(r() * 60), between(1, 12), between(1, 28)).isoformat()
        address = f"{between(1, 9999)} {pick(STREETS)}, {city}, {state}"
        favourites = rng.sample(CATEGORIES, 2)

        # Orders over two years, with seasonality; samples get their documented recency.
        lo, hi = _ORDERS[level]
        n_orders = between(lo, hi)
        days: list[int] = []
        while len(days) < n_orders:
            d = int(r() * 730)
            if r() < _season(d):
                days.append(d)
        if spec and n_orders:
            if spec.first_order_days is not None:
                days = [between(spec.last_order_days or 0, spec.first_order_days) for _ in days]
                days[-1] = spec.first_order_days
            if spec.last_order_days is not None:
                days = [max(d, spec.last_order_days) for d in days]
                days[0] = spec.last_order_days
        days.sort(reverse=True)
        spend_2y = spend_365 = 0.0
        orders_365 = 0
        cat_spend: dict[str, float] = defaultdict(float)
        brand_spend: dict[str, float] = defaultdict(float)
        recent_orders: list[tuple[int, int, str, float, int]] = []
        store_orders = 0
        for d in days:
            self.order_id += 1
            channel = _order_channel(r())
            store_orders += channel == "Store"
            total, n_lines = 0.0, 1 + (r() < 0.4) + (r() < 0.15)
            for line in range(1, n_lines + 1):
                cat = pick(favourites) if r() < 0.7 else pick(CATEGORIES)
                product = pick(self.by_category[cat])
                qty = 1 if r() < 0.8 else between(2, 3)
                amount = round(product[6] * qty, 2)
                total += amount
                cat_spend[cat] += amount
                brand_spend[product[5]] += amount
                rows["order_lines"].append((self.order_id, line, product[0], qty, amount))
            total = round(total, 2)
            rows["orders"].append((self.order_id, gcr, d, channel, total))
            spend_2y += total
            if d < 365:
                spend_365 += total
                orders_365 += 1
            if d < 90:
                recent_orders.append((self.order_id, d, channel, total, n_lines))
        tier = ("Platinum" if spend_2y >= 3000 else "Gold" if spend_2y >= 1200
                else "Silver" if spend_2y >= 400 else "Bronze")

        # Consent per channel; an opt-out sample and customers without email get none there.
        consents: dict[str, tuple[bool, list[str]]] = {}
        for ch in CHANNELS:
            opted = r() < ch.opt_in_rate
            if (spec and spec.opted_out) or (ch.name == "Email" and email is None):
                opted = False
            cats = ["Promotional"] if opted else []
            if opted and r() < (0.6 if ch.name == "Email" else 0.3):
                cats.append("Newsletter")
            if opted and r() < 0.5:
                cats.append("Transactional")
            consents[ch.name] = (opted, cats)
            rows["channel_consents"].append((gcr, ch.channel_id, int(opted), ",".join(cats)))

        # Web and app activity of the last 90 days, plus the recent orders as transactions.
        counts: dict[str, int] = defaultdict(int)
        app_days: list[int] = []
        for _ in range(between(*_EVENTS[level])):
            kind, channel, text = pick(_EVENT_KINDS)
            if kind == "email_open" and not consents["Email"][0]:
                kind, channel, text = _EVENT_KINDS[0]
            d = int(r() * 90)
            if kind in ("product_view", "add_to_cart"):
                product = pick(self.by_category[pick(favourites)])
                text = text + product[2]
                cat_spend[product[4]] += 1.0  # browsing counts a little towards affinity
            if kind == "app_open":
                app_days.append(d)
            counts[channel] += 1
            self.event_id += 1
            rows["activity_events"].append((self.event_id, gcr, d, kind, channel, text, None))
        for oid, d, channel, total, n_lines in recent_orders:
            self.event_id += 1
            rows["activity_events"].append((self.event_id, gcr, d, "transaction", channel,
                                             f"Order ORD-{oid}: {n_lines} item(s)", total))

        # Affinity: category and brand from spend (and browsing), channel from activity and consent.
        if not cat_spend:
            cat_spend.update({favourites[0]: 2.0, favourites[1]: 1.0})
        top_category = max(sorted(cat_spend), key=cat_spend.__getitem__)
        for dimension, values in (("category", cat_spend), ("brand", brand_spend)):
            top = max(values.values(), default=0.0)
            for label in sorted(values, key=lambda k: (-values[k], k))[:5]:
                rows["affinity_scores"].append((gcr, dimension, label, round(100 * values[label] / top, 1)))
        for ch in CHANNELS:
            score = round(min(100.0, 10 * counts.get(ch.name, 0) + (40 if consents[ch.name][0] else 0)
                              + r() * 10), 1)
            rows["affinity_scores"].append((gcr, "channel", ch.name, score))
        opted_names = [c.name for c in CHANNELS if consents[c.name][0]]
        preferred = pick(opted_names) if opted_names else ""

        web_90 = counts.get("Web", 0)
        total_web = web_90 * 8 + int(r() * 5)
        total_visits = total_web + counts.get("App", 0) * 8 + store_orders
        rows["customers"].append((gcr, code, email, mobile, salutation, first, last, gender, dob, city, state,
                                  address, tier, total_visits, total_web, preferred))
        if email:
            rows["identifiers"].append(("email", email.lower(), gcr))
        if mobile:
            rows["identifiers"].append(("mobile", normalise_mobile(mobile), gcr))
        rows["identifiers"].append(("code", code, gcr))

        attrs = [("loyaltyPoints", str(int(spend_2y)), "integer"), ("preferredStore", f"{city} Central", "string"),
                 ("hasKids", "true" if r() < 0.4 else "false", "boolean"),
                 ("marketingScore", f"{r():.2f}", "float"),
                 ("clothingSize", pick(("XS", "S", "M", "L", "XL")), "string"),
                 ("shoeSize", str(between(36, 46)), "integer")]
        if app_days:
            attrs.append(("lastAppVersion", f"4.{between(0, 9)}.{between(0, 20)}", "string"))
        rows["custom_attributes"].extend((gcr, n, v, t) for n, v, t in attrs)

        # Segments derived from the data above; campaigns reach members who consented to their channel.
        rules = {
            "high_value": (spend_365 >= 800, lambda: int(r() * 60)),
            "lapsed_90": (bool(days) and days[-1] > 90, lambda: days[-1] - 90),
            "newsletter": ("Newsletter" in consents["Email"][1], lambda: int(r() * 700)),
            "new_customer": (bool(days) and days[0] <= 60, lambda: days[0]),
            "app_active": (any(d < 30 for d in app_days), lambda: min(app_days)),
            "gold_plus": (tier in ("Gold", "Platinum"), lambda: int(r() * 365)),
            "frequent": (orders_365 >= 8, lambda: int(r() * 30)),
            "never_purchased": (not days, lambda: int(r() * 700)),
            "sms_reachable": (consents["SMS"][0], lambda: int(r() * 700)),
            "beauty_fans": (top_category == "Beauty", lambda: int(r() * 180)),
            "sports_fans": (top_category == "Sports", lambda: int(r() * 180)),
            "tech_fans": (top_category == "Electronics", lambda: int(r() * 180)),
        }
        member_of = set()
        for seg in SEGMENTS:
            is_member, added = rules[seg.key]
            if is_member:
                member_of.add(seg.segment_id)
                rows["segment_members"].append((gcr, seg.segment_id, added()))
        for camp in CAMPAIGNS:
            if camp.segment_id not in member_of or camp.status == "Scheduled":
                continue
            channel_name = next(c.name for c in CHANNELS if c.channel_id == _CAMPAIGN_CHANNEL[camp.channel])
            if not consents[channel_name][0] or r() >= 0.9:
                continue
            sent = between(max(camp.end_days_ago, 0), camp.start_days_ago)
            opened = r() < 0.45
            clicked = opened and r() < 0.35
            rows["campaign_participation"].append((gcr, camp.campaign_id, sent, int(opened), int(clicked)))


def _flush(conn: sqlite3.Connection, rows: dict[str, list[tuple]]) -> None:
    for table, n in _INSERTS.items():
        if rows[table]:
            conn.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * n)})", rows[table])  # noqa: S608


_Batch = dict[str, list[tuple]] | BaseException | None


def _generate(gen: _Generator, customers: int, out: queue.Queue[_Batch], stop: threading.Event) -> None:
    """Producer: batches of rows in gcrId order; None at the end, or the exception that stopped it."""
    try:
        for start in range(1, customers + 1, _BATCH):
            if stop.is_set():
                return
            rows: dict[str, list[tuple]] = defaultdict(list)
            for gcr in range(start, min(start + _BATCH, customers + 1)):
                gen.customer(gcr, rows)
            out.put(rows)
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - re-raised by the consumer
        out.put(exc)


def seed_database(conn: sqlite3.Connection, *, seed: int, customers: int) -> None:
    """Fill an empty schema with the tenant for (seed, customers), in the caller's transaction.

    Rows are generated on a helper thread while this one inserts the previous batch: sqlite3 releases the GIL
    while it writes, so generation and insertion overlap. Order and content do not depend on the overlap.
    """
    products = _products(seed)
    conn.executemany("INSERT INTO products VALUES (?,?,?,?,?,?,?,?)", products)
    conn.executemany("INSERT INTO segments VALUES (?,?,?,?)",
                     [(s.segment_id, s.name, s.description, s.segment_type) for s in SEGMENTS])
    conn.executemany("INSERT INTO campaigns VALUES (?,?,?,?,?,?,?)", [tuple(c) for c in CAMPAIGNS])
    batches: queue.Queue[_Batch] = queue.Queue(maxsize=2)
    stop = threading.Event()
    producer = threading.Thread(target=_generate, args=(_Generator(seed, products), customers, batches, stop),
                                name="sandbox-seed", daemon=True)
    producer.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            _flush(conn, item)
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        producer.join()
