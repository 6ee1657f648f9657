"""Opaque paging cursors: base64url JSON that wraps whichever paging style a resource uses.

A cursor names the tool (and search text) it belongs to, the upstream page request (`page`, `lastKey`,
`pageSize`) and our own item offset, so `remaining` can be stated and pageSize-only lists can be paged
by slicing. Models treat it as an opaque string; a cursor from another tool, or a mangled one, is refused
with a hint instead of silently returning page 1 again.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cdp_mcp.client.models import PageRequest
from cdp_mcp.errors import InvalidInputError

__all__ = ["Cursor", "decode_cursor", "encode_cursor"]

_TOOL_NAME = re.compile(r"^[a-z_]{1,64}$")
_HINT = "Pass next_cursor exactly as the previous result of this tool gave it, or omit cursor to start again."


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: the upstream request (None for offset-only lists) and the item offset."""

    tool: str
    offset: int
    page: PageRequest | None = None
    query: str | None = None


def encode_cursor(cursor: Cursor) -> str:
    payload: dict[str, Any] = {"t": cursor.tool, "o": cursor.offset}
    if cursor.page is not None:
        payload["p"] = cursor.page.model_dump(mode="json", exclude_none=True)
    if cursor.query is not None:
        payload["q"] = cursor.query
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


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
