"""Identity resolution: any combination of the four identifiers must lead to exactly one customer.

Rule (documented in CONTRACT.md): every identifier sent must match at least one customer (else 404), and the
customers matched by all of them together must be exactly one. A household email alone matches two people
(409 MULTIPLE_CUSTOMERS), the same email plus one member's gcrId or mobile narrows it to one, and an email of one
customer with the mobile of another matches nobody jointly (409 IDENTIFIERS_CONFLICT: they name different
customers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cdp_mcp.catalog import IDENTIFIERS
from cdp_mcp.sandbox.contract import ErrorCode, SandboxError
from cdp_mcp.sandbox.generator import normalise_mobile
from cdp_mcp.sandbox.store import Store

__all__ = ["Lookup", "parse_gcr_identifiers", "parse_identifiers", "resolve"]

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²", which int() refuses
_KINDS = dict(zip((i.header for i in IDENTIFIERS), ("gcr", "email", "mobile", "code"), strict=True))
_HEADERS = tuple(i.header for i in IDENTIFIERS)
_BODY_KEYS = tuple(i.header for i in IDENTIFIERS if i.in_gcr_body)


@dataclass(frozen=True, slots=True)
class Lookup:
    """Normalised identifiers of one request, as (store kind, header name, value)."""

    items: tuple[tuple[str, str, str | int], ...]

    def __repr__(self) -> str:  # identifiers are personal data: names only
        return f"Lookup({', '.join(h for _, h, _ in self.items)})"


def _parse(values: Mapping[str, object], headers: tuple[str, ...]) -> list[tuple[str, str, str | int]]:
    """Identifiers under the names `headers`, normalised; blank values count as absent.

    A body value must be a string (or, for a number-like identifier, an integer): an array, object, float or
    boolean is `IDENTIFIER_INVALID`, never silently stringified into a lookup that matches nobody.
    """
    items: list[tuple[str, str, str | int]] = []
    for header in headers:
        kind = _KINDS[header]
        raw = values.get(header)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise SandboxError(ErrorCode.IDENTIFIER_INVALID, f"`{header}` must be a string (or an integer).")
        text = str(raw).strip()
        if kind == "gcr":
            if not _DIGITS.fullmatch(text) or int(text) < 1:
                raise SandboxError(ErrorCode.IDENTIFIER_INVALID, f"`{header}` must be a positive integer.")
            items.append((kind, header, int(text)))
        elif kind == "email":
            items.append((kind, header, text.lower()))
        elif kind == "mobile":
            items.append((kind, header, normalise_mobile(text)))
        else:
            items.append((kind, header, text))
    return items


def _required(items: list[tuple[str, str, str | int]]) -> Lookup:
    if not items:
        names = ", ".join(i.header for i in IDENTIFIERS)
        raise SandboxError(ErrorCode.IDENTIFIER_REQUIRED, f"Send at least one customer identifier: {names}.")
    return Lookup(tuple(items))


def parse_identifiers(headers: Mapping[str, object]) -> Lookup:
    """The identifier headers of a profile call (at least one)."""
    return _required(_parse(headers, _HEADERS))


def parse_gcr_identifiers(headers: Mapping[str, object], body: Mapping[str, object]) -> Lookup:
    """The gcr lookup's identifiers: the headers and the documented body keys together (at least one).

    Every identifier sent must name the customer, wherever it travels; a body key the vendor does not document
    for gcr (`gcrId`) is ignored, like any unknown key.
    """
    return _required(_parse(headers, _HEADERS) + _parse(body, _BODY_KEYS))


def resolve(store: Store, lookup: Lookup) -> int:
    """The one gcrId the identifiers name (blocking); 404 when one matches nobody, 409 when not one customer."""
    joint: set[int] | None = None
    union: set[int] = set()
    for kind, header, value in lookup.items:
        found = store.matches(kind, value)
        if not found:
            raise SandboxError(ErrorCode.CUSTOMER_NOT_FOUND, f"No customer matches `{header}`.",
                               data={"identifier": header})
        union |= found
        joint = found if joint is None else joint & found
    if joint is not None and len(joint) == 1:
        return next(iter(joint))
    sent = ", ".join(h for _, h, _ in lookup.items)
    if not joint:  # each identifier names someone, but not the same one
        raise SandboxError(ErrorCode.IDENTIFIERS_CONFLICT,
                           f"The identifiers ({sent}) name different customers.", data={"matches": len(union)})
    raise SandboxError(ErrorCode.MULTIPLE_CUSTOMERS,
                       f"The identifiers ({sent}) match {len(joint)} customers, not one; add another identifier "
                       "or use gcrId.", data={"matches": len(joint)})
