"""An audience export as a CDP's segment builder writes one, from a sandbox tenant: something real to screen.

The members of a segment (or every customer), one row each, with the columns such exports carry: customer code,
email address, mobile number, GCR ID, first and last name, segment. As in real exports the identifier columns are
mixed (most rows give an email and a customer code, others only a mobile, only a code or only a GCR ID), a few
rows are bad (a mangled email, no identifier at all) and a few customers appear twice (an email in other case).
Deterministic for a seed. Blocking (SQLite): run it in a worker thread or a command.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdp_mcp.errors import InvalidInputError
from cdp_mcp.sandbox.store import Store

__all__ = ["COLUMNS", "Exported", "export_audience", "write_audience"]

COLUMNS = ("Customer Code", "Email Address", "Mobile Number", "GCR ID", "First Name", "Last Name", "Segment")
_BAD_EVERY = 200  # about one row in 200 is bad
_DUPLICATE_EVERY = 100  # about one customer in 100 appears twice


@dataclass(frozen=True, slots=True)
class Exported:
    """What was written: rows in the file, customers among them, and the bad and duplicate rows mixed in."""

    path: Path
    rows: int
    customers: int
    bad: int
    duplicates: int
    segment: str | None


def _segment(store: Store, segment: str) -> tuple[str, str]:
    """(segment id, name) of a segment given by id or exact name (case-insensitive)."""
    rows = store.query("SELECT segment_id, name FROM segments WHERE segment_id = ? OR lower(name) = lower(?)",
                       (segment.strip(), segment.strip()))
    if not rows:
        names = ", ".join(name for (name,) in store.query("SELECT name FROM segments ORDER BY name"))
        raise InvalidInputError(f"The sandbox has no segment {segment!r}.", hint=f"Segments: {names}.")
    return str(rows[0][0]), str(rows[0][1])


def _row(customer: tuple[Any, ...], segment: str, dice: random.Random) -> list[Any]:
    gcr_id, code, email, mobile, first, last = customer
    kind = dice.random()
    if kind < 0.6 and email:
        ids = [code, email, "", ""]
    elif kind < 0.75 and mobile:
        ids = ["", "", mobile, ""]
    elif kind < 0.9:
        ids = [code, "", "", ""]
    else:
        ids = ["", "", "", gcr_id]
    return [*ids, first, last, segment]


def export_audience(store: Store, *, segment: str | None, limit: int | None, seed: int) -> Iterator[list[Any]]:
    """The export's rows (header first): a segment's members (by id or name) or, with `segment` None, everyone."""
    if segment is not None:
        segment_id, name = _segment(store, segment)
        customers = store.query(
            "SELECT c.gcr_id, c.customer_code, c.email, c.mobile, c.first_name, c.last_name FROM customers c "
            "JOIN segment_members m ON m.gcr_id = c.gcr_id WHERE m.segment_id = ? ORDER BY c.gcr_id", (segment_id,))
    else:
        name = ""
        customers = store.query("SELECT gcr_id, customer_code, email, mobile, first_name, last_name FROM customers "
                                "ORDER BY gcr_id")
    dice = random.Random(seed * 7919 + 17)
    yield list(COLUMNS)
    written = 0
    for customer in customers:
        if limit is not None and written >= limit:
            return
        if dice.randrange(_BAD_EVERY) == 0:
            first, last = customer[4], customer[5]
            yield ["", f"{first}.{last} at example.com".lower(), "", "", first, last, name] if dice.random() < 0.5 \
                else ["", "", "", "", first, last, name]
            written += 1
            continue
        row = _row(customer, name, dice)
        yield row
        written += 1
        if dice.randrange(_DUPLICATE_EVERY) == 0 and (limit is None or written < limit):
            again = list(row)
            again[1] = again[1].upper() if again[1] else again[1]
            yield again
            written += 1


def write_audience(store: Store, out: Path, *, segment: str | None, limit: int | None, seed: int) -> Exported:
    """Write the export as CSV (UTF-8 with a BOM, as spreadsheet tools save it) and say what is in it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = bad = duplicates = 0
    seen: set[tuple[str, ...]] = set()
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        for index, row in enumerate(export_audience(store, segment=segment, limit=limit, seed=seed)):
            writer.writerow(row)
            if index == 0:
                continue
            rows += 1
            key = tuple(str(v).lower() for v in row[:4])
            if not any(row[:4]) or " at " in str(row[1]):
                bad += 1
            elif key in seen:
                duplicates += 1
            seen.add(key)
    name = _segment(store, segment)[1] if segment is not None else None
    return Exported(out, rows, rows - bad - duplicates, bad, duplicates, name)
