"""Seeding a tenant database: the product catalogue, segments and campaigns, then every customer in batches."""

from __future__ import annotations

import contextlib
import queue
import random
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from cdp_mcp.sandbox.generator import Generator, OwnData, Rows
from cdp_mcp.sandbox.seed_data import BRANDS, CAMPAIGNS, CATEGORIES, PRICE_RANGE, PRODUCT_NOUNS, SEGMENTS

__all__ = ["seed_database"]

_BATCH = 5000


def _products(seed: int) -> list[tuple[Any, ...]]:
    """200 products: 8 categories x 5 nouns x 5 brands, prices within each category's range."""
    rng = random.Random(f"products-{seed}")
    rows, pid = [], 0
    for category in CATEGORIES:
        low, high = PRICE_RANGE[category]
        for noun in PRODUCT_NOUNS[category]:
            for brand in rng.sample(BRANDS, 5):
                pid += 1
                price = round(rng.uniform(low, high), 2)
                description = f"{brand}'s {noun.lower()} ({category.lower()})"
                rows.append((pid, f"SKU-{pid:05d}", f"{brand} {noun}", description, category, brand, price,
                             f"https://img.example.com/products/{pid:05d}.jpg"))
    return rows


def _flush(conn: sqlite3.Connection, rows: Rows) -> None:
    for table, added in rows.items():  # table names come from the generator and the declared own data
        if added:
            conn.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(added[0]))})", added)  # noqa: S608


_Batch = Rows | BaseException | None


def _generate(gen: Generator, customers: int, out: queue.Queue[_Batch], stop: threading.Event) -> None:
    """Producer: batches of rows in gcrId order; None at the end, or the exception that stopped it."""
    try:
        for start in range(1, customers + 1, _BATCH):
            if stop.is_set():
                return
            rows: Rows = defaultdict(list)
            for gcr in range(start, min(start + _BATCH, customers + 1)):
                gen.customer(gcr, rows)
            out.put(rows)
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - re-raised by the consumer
        out.put(exc)


def seed_database(conn: sqlite3.Connection, *, seed: int, customers: int, own: Mapping[str, OwnData] | None = None
                  ) -> None:
    """Fill an empty schema with the tenant for (seed, customers), in the caller's transaction; `own` is the data
    of the resources that bring their own tables (already created).

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
    producer = threading.Thread(target=_generate, args=(Generator(seed, products, own), customers, batches, stop),
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
