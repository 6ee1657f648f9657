"""Opaque paging cursors: base64url JSON that wraps whichever paging style a resource uses.

A cursor names the tool (and search text) it belongs to, the upstream page request (`page`, `lastKey`,
`pageSize`) and our own item offset, so `remaining` can be stated and pageSize-only lists can be paged
by slicing. Models treat it as an opaque string; a cursor from another tool, or a mangled one, is refused
with a hint instead of silently returning page 1 again.

`customer_bound` also stamps each cursor with the customer whose list it pages (their gcr_id) and refuses
it for another customer before anything is asked upstream, naming the `cursor` argument: page 2 of one
customer's purchases is never served as another's, nor mistaken for an API error.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from cdp_mcp.client.models import PageRequest
from cdp_mcp.errors import InvalidInputError
from cdp_mcp.tools.spec import Handler, ToolCall
from cdp_mcp.tools.upstream import gcr_id_for

__all__ = ["Cursor", "customer_bound", "decode_cursor", "encode_cursor"]

_TOOL_NAME = re.compile(r"^[a-z_]{1,64}$")
_HINT = "Pass next_cursor exactly as the previous result of this tool gave it, or omit cursor to start again."


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: the upstream request (None for offset-only lists) and the item offset."""

    tool: str
    offset: int
    page: PageRequest | None = None
    query: str | None = None


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _payload(text: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def encode_cursor(cursor: Cursor) -> str:
    payload: dict[str, Any] = {"t": cursor.tool, "o": cursor.offset}
    if cursor.page is not None:
        payload["p"] = cursor.page.model_dump(mode="json", exclude_none=True)
    if cursor.query is not None:
        payload["q"] = cursor.query
    return _encode(payload)


def decode_cursor(text: str, *, tool: str, query: str | None = None) -> Cursor:
    """Parse a cursor given to `tool`; raise `InvalidInputError` when it is malformed or not this tool's."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        owner, offset = payload["t"], payload["o"]
        if not isinstance(owner, str) or not _TOOL_NAME.match(owner):
            raise ValueError("bad owner")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError("bad offset")
        page = PageRequest.model_validate(payload["p"]) if "p" in payload else None
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, ValidationError):
        raise InvalidInputError("The cursor is not valid.", hint=_HINT) from None
    if owner != tool:
        raise InvalidInputError(f"The cursor belongs to {owner}, not {tool}.",
                                hint=f"Call {owner} with it, or omit cursor to start {tool} from the first page.")
    if payload.get("q") != query:
        raise InvalidInputError("The cursor belongs to another search text.",
                                hint="Repeat the same search text with the cursor, or omit cursor to start again.")
    return Cursor(tool=owner, offset=offset, page=page, query=query)


_OTHER_CUSTOMER_HINT = ("Use cursor only with the customer whose result gave it as next_cursor, or omit cursor to "
                        "start this customer's list from the first page.")


def _refused(owner: int) -> InvalidInputError:
    return InvalidInputError(f"The cursor belongs to the list of another customer (gcr_id {owner}).",
                             hint=_OTHER_CUSTOMER_HINT)


def _customer_of(cursor: str) -> int | None:
    owner = (_payload(cursor) or {}).get("g")
    return owner if isinstance(owner, int) and not isinstance(owner, bool) else None


def customer_bound(handler: Handler) -> Handler:
    """`handler` of a paged tool, with its cursors tied to the customer they page (see the module docstring).

    Raises:
        InvalidInputError: the cursor was given for another customer; or the listing failed as invalid input
            while a cursor was given (the hint then names `cursor`).
    """

    async def handle(call: ToolCall) -> BaseModel:
        cursor = call.arguments.get("cursor")
        owner = _customer_of(cursor) if isinstance(cursor, str) else None
        if owner is not None:
            current = await gcr_id_for(call.backend, call.identity)
            if current is not None and current != owner:
                raise _refused(owner)
        try:
            result = await handler(call)
        except InvalidInputError as exc:
            if cursor is None or "cursor" in f"{exc.message} {exc.hint}":  # ours already names the argument
                raise
            advice = "If cursor came from another customer's list or another search, omit it to start again."
            raise InvalidInputError(exc.message, hint=f"{exc.hint} {advice}" if exc.hint else advice) from exc
        gcr_id, following = getattr(result, "gcr_id", None), getattr(result, "next_cursor", None)
        if owner is not None and isinstance(gcr_id, int) and gcr_id != owner:  # identified only by this call
            raise _refused(owner)
        if isinstance(following, str) and isinstance(gcr_id, int):
            stamped = {**(_payload(following) or {}), "g": gcr_id}
            result = result.model_copy(update={"next_cursor": _encode(stamped)})
        return result

    return handle
