"""Audiences from what people have: inline rows, a CSV export (delimiter sniffed, UTF-8 with or without BOM), or
JSON lines, turned into unique rows to screen and per-row rejections with line numbers.

A row names a customer by any of the four identifiers; a header (or JSON key) is recognised under the spellings a
segment builder exports (`Email Address`, `Mobile Number`, `GCR ID`, `customer_code_external`...). A row without an
identifier, with a malformed one, or with two columns disagreeing about one identifier is rejected with its line
and reason, and never stops the rest; a row repeating an earlier one is screened once. Memory stays bounded: rows
are read as a stream, only the first `KEPT_REJECTIONS` rejections are kept (the rest counted), and an audience
over `max_rows` or `MAX_BYTES` is refused with a message saying so. Everything here blocks: run it in a worker
thread.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from cdp_mcp.catalog import IDENTIFIERS
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.errors import InvalidInputError
from cdp_mcp.jobs.formats import JSON_LINES_SUFFIXES, MAX_BYTES
from cdp_mcp.jobs.model import Audience, Member, Rejection

__all__ = ["KEPT_REJECTIONS", "column_for", "from_customers", "parse_bytes", "read_file"]

KEPT_REJECTIONS = 20
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 20
_DELIMITERS = ",;\t|"
_IDENTIFIER_NAMES = ", ".join(i.argument for i in IDENTIFIERS)


def _folded(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_SYNONYMS: dict[str, tuple[str, ...]] = {
    "gcr_id": ("gcr", "gcrnumber", "goldencustomerrecordid", "goldenrecordid"),
    "email": ("mail", "emailid", "emailaddr"),
    "mobile": ("mobilephone", "phone", "phonenumber", "cell", "cellphone", "msisdn"),
    "customer_code": ("code", "customerno", "customernumber", "externalcustomercode"),
}
_COLUMNS: dict[str, str] = {
    folded: i.argument
    for i in IDENTIFIERS
    for folded in (_folded(i.argument), _folded(i.header), *_SYNONYMS[i.argument])
}


@functools.lru_cache(maxsize=256)
def column_for(name: str) -> str | None:
    """The identifier a header or JSON key names (`Email Address` -> email), or None for any other column."""
    return _COLUMNS.get(_folded(name))


class _Collector:
    """Unique members in audience order, rejections (the first few kept), duplicates counted."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.audience = Audience()
        self._seen: set[tuple[int | None, str | None, str | None, str | None]] = set()

    def reject(self, line: int, reason: str) -> None:
        self.audience.rejected += 1
        if len(self.audience.rejections) < KEPT_REJECTIONS:
            self.audience.rejections.append(Rejection(line=line, reason=reason))

    def add(self, line: int, values: dict[str, Any]) -> None:
        given = {k: v for k, v in values.items() if v is not None and not (isinstance(v, str) and not v.strip())}
        if not given:
            self.reject(line, f"no identifier ({_IDENTIFIER_NAMES})")
            return
        try:
            identity = CustomerIdentity.parse(**given)
        except InvalidInputError as exc:
            self.reject(line, exc.message.removeprefix("Invalid customer identifier: ").rstrip("."))
            return
        key = (identity.gcr_id, identity.email, identity.mobile, identity.customer_code)
        if key in self._seen:
            self.audience.duplicates += 1
            return
        if len(self._seen) >= self.max_rows:
            raise InvalidInputError(f"The audience has more than {self.max_rows:,} customers (CDP_AUDIENCE_MAX).",
                                    hint="Split it into smaller audiences, or ask the operator to raise "
                                         "CDP_AUDIENCE_MAX.")
        self._seen.add(key)
        self.audience.members.append(Member(line, *key))

    def result(self, what: str) -> Audience:
        if not self.audience.members:
            reasons = "; ".join(f"line {r.line}: {r.reason}" for r in self.audience.rejections[:3])
            raise InvalidInputError(f"{what} has no customer to screen"
                                    + (f" ({_rows(self.audience.rejected)} rejected: {reasons})." if reasons else "."),
                                    hint=f"Each row needs at least one of {_IDENTIFIER_NAMES}.")
        return self.audience


def _rows(count: int) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"


def from_customers(customers: Iterable[Any], *, max_rows: int) -> Audience:
    """Inline rows (the `customers` argument): line = position, from 1; keys read as JSON-lines keys are."""
    collector = _Collector(max_rows)
    for position, ref in enumerate(customers, 1):
        if not isinstance(ref, BaseModel | dict):
            collector.reject(position, "not an object")
            continue
        values = _merged(position, (ref.model_dump() if isinstance(ref, BaseModel) else ref).items(), collector)
        if values is not None:
            collector.add(position, values)
    return collector.result("The customers list")


def _merged(line: int, pairs: Iterable[tuple[str, Any]], collector: _Collector) -> dict[str, Any] | None:
    """A row's identifier values by argument; None (rejected) when two columns give one identifier two values."""
    values: dict[str, Any] = {}
    for column, raw in pairs:
        argument = column_for(column)
        if argument is None or raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        value = raw.strip() if isinstance(raw, str) else raw
        if argument in values and str(values[argument]).casefold() != str(value).casefold():
            collector.reject(line, f"conflicting {argument} values")
            return None
        values[argument] = value
    return values


def _csv_rows(text: IO[str], collector: _Collector, sample: str) -> None:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text, dialect)
    header = next(reader, None)
    if header is None:
        raise InvalidInputError("The audience file is empty.", hint="Export the audience with a header row.")
    header = [h.strip().lstrip("\ufeff") for h in header]
    if not any(column_for(h) for h in header):
        shown = ", ".join(repr(h) for h in header[:8]) or "none"
        raise InvalidInputError(f"The audience file's header names no identifier column (columns: {shown}).",
                                hint=f"Name at least one column {_IDENTIFIER_NAMES} (or Email Address, Mobile "
                                     "Number, GCR ID, Customer Code).")
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        values = _merged(reader.line_num, zip(header, record, strict=False), collector)
        if values is not None:
            collector.add(reader.line_num, values)


def _json_rows(text: IO[str], collector: _Collector) -> None:
    for line, raw in enumerate(text, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError:
            row = None
        if not isinstance(row, dict):
            collector.reject(line, "not a JSON object")
            continue
        values = _merged(line, row.items(), collector)
        if values is not None:
            collector.add(line, values)


def _parse(binary: IO[bytes], *, name: str, max_rows: int) -> Audience:
    head = binary.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise InvalidInputError(f"{name} is a binary file, not a CSV or JSON-lines audience.",
                                hint="Export the audience as CSV (UTF-8) or JSON lines.")
    if head.decode("utf-8-sig", errors="ignore").lstrip().startswith("["):
        raise InvalidInputError(f"{name} is a JSON array, not JSON lines or CSV.",
                                hint="Write one object per line (JSON lines, e.g. {\"email\": \"ada@example.com\"}), "
                                     "or export the audience as CSV.")
    binary.seek(0)
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    collector = _Collector(max_rows)
    sample = "\n".join(head.decode("utf-8-sig", errors="ignore").splitlines()[:_SNIFF_LINES])
    try:
        if name.lower().endswith(JSON_LINES_SUFFIXES) or sample.lstrip().startswith("{"):
            _json_rows(text, collector)
        else:
            _csv_rows(text, collector, sample)
    except UnicodeDecodeError:
        raise InvalidInputError(f"{name} is not UTF-8 text.",
                                hint="Save the export as CSV UTF-8 (or JSON lines) and try again.") from None
    except csv.Error as exc:
        raise InvalidInputError(f"{name} is not a readable CSV file ({exc}).",
                                hint="Export the audience as CSV with a header row.") from None
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # the caller owns `binary`
    return collector.result(name)


def read_file(path: Path, *, max_rows: int) -> Audience:
    """An audience file, read as a stream (a file over `MAX_BYTES` is refused before reading)."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InvalidInputError(f"{path.name} is {size / 1024 / 1024:,.0f} MB; audiences are read up to "
                                f"{MAX_BYTES // 1024 // 1024} MB.", hint="Split the export into smaller files.")
    with path.open("rb") as binary:
        return _parse(binary, name=path.name, max_rows=max_rows)


def parse_bytes(data: bytes, *, name: str, max_rows: int) -> Audience:
    """An uploaded audience (already read within `MAX_BYTES`)."""
    with io.BytesIO(data) as binary:
        return _parse(binary, name=name, max_rows=max_rows)


def chunks(members: list[Member], size: int) -> Iterator[list[Member]]:
    """The members in chunks of `size` (the last may be shorter)."""
    for start in range(0, len(members), size):
        yield members[start:start + size]
