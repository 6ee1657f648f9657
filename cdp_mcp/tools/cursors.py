"""Opaque paging cursors: sealed (AES-GCM) JSON that wraps whichever paging style a resource uses.

A cursor names the tool (and search text) it belongs to, the customer whose list it pages (their gcr_id, when
known), the upstream page request (`page`, `lastKey`, `pageSize`) and our own item offset, so `remaining` can
be stated and pageSize-only lists can be paged by slicing. It is sealed with the server's cursor key
(CDP_MCP_CURSOR_KEY, else a key kept in the state directory; `Backend.cursor_key`): encrypted and
authenticated, so it shows the caller no gcr_id, no paging key (the API's `lastKey` carries the tenant's own
customer code) and nothing else, and a changed one is refused, as is one sealed by another key (a replica
configured differently). Models treat it as an opaque string; a cursor from another tool, another search or
another customer, or a mangled one, is refused with a hint naming the `cursor` argument instead of silently
returning page 1 again (or page 2 of one customer's purchases as another's).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cdp_mcp.client.models import PageRequest
from cdp_mcp.errors import InvalidInputError

__all__ = ["Cursor", "decode_cursor", "encode_cursor", "upstream_refusal"]

_TOOL_NAME = re.compile(r"^[a-z_]{1,64}$")
_HINT = "Pass next_cursor exactly as the previous result of this tool gave it, or omit cursor to start again."
_SEALED_BY = ("cursors sealed by another key are refused: servers behind one load balancer need the same "
              "CDP_MCP_CURSOR_KEY")
_VERSION = b"\x01"
_NONCE = 12
_CONTEXT = b"cdp-mcp cursor v1"


def _cipher_key(key: bytes) -> bytes:
    """The AES-256 key for cursors, derived from the server's cursor key (a setting's text or a kept key)."""
    return hmac.new(key, _CONTEXT, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: the upstream request (None for offset-only lists), the items of it to skip and the
    item (or group) offset, for `customer` (their gcr_id; None when the list could not name them)."""

    tool: str
    offset: int
    page: PageRequest | None = None
    query: str | None = None
    customer: int | None = None
    skip: int = 0  # items of `page` that earlier pages showed (a grouped list's next group starts after them)

    def check_customer(self, gcr_id: int | None) -> None:
        """Refuse this cursor for a customer other than the one whose list it pages (unknown ones pass).

        Raises:
            InvalidInputError: naming the `cursor` argument.
        """
        if self.customer is not None and gcr_id is not None and gcr_id != self.customer:
            raise InvalidInputError(
                f"The cursor belongs to the list of another customer (gcr_id {self.customer}).",
                hint="Use cursor only with the customer whose result gave it as next_cursor, or omit cursor to "
                     "start this customer's list from the first page.")


def encode_cursor(cursor: Cursor, key: bytes) -> str:
    """`cursor` sealed with `key`: base64url of a version byte, a random nonce and the AES-GCM ciphertext."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415 - loaded with the first list

    payload: dict[str, Any] = {"t": cursor.tool, "o": cursor.offset}
    if cursor.page is not None:
        payload["p"] = cursor.page.model_dump(mode="json", exclude_none=True)
    if cursor.query is not None:
        payload["q"] = cursor.query
    if cursor.customer is not None:
        payload["g"] = cursor.customer
    if cursor.skip:
        payload["s"] = cursor.skip
    nonce = secrets.token_bytes(_NONCE)
    sealed = AESGCM(_cipher_key(key)).encrypt(nonce, json.dumps(payload, separators=(",", ":")).encode(), _CONTEXT)
    return base64.urlsafe_b64encode(_VERSION + nonce + sealed).rstrip(b"=").decode()


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _unsealed(text: str, key: bytes) -> Any:
    """The payload of a cursor sealed with `key`; raises InvalidInputError when it is not one."""
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415 - loaded with the first list
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if raw[:1] != _VERSION or len(raw) <= 1 + _NONCE:
            raise ValueError("not a sealed cursor")
        return json.loads(AESGCM(_cipher_key(key)).decrypt(raw[1:1 + _NONCE], raw[1 + _NONCE:], _CONTEXT))
    except (binascii.Error, ValueError, InvalidTag):
        raise InvalidInputError("The cursor is not valid: it was changed, or was not given by this server.",
                                hint=f"{_HINT} ({_SEALED_BY}.)") from None


def decode_cursor(text: str, key: bytes, *, tool: str, query: str | None = None) -> Cursor:
    """Open a cursor given to `tool`; raise `InvalidInputError` when it is not sealed with `key`, malformed or not
    this tool's (or this search's)."""
    payload = _unsealed(text, key)
    try:
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        owner, offset, customer, skip = payload["t"], payload["o"], payload.get("g"), payload.get("s", 0)
        if not isinstance(owner, str) or not _TOOL_NAME.match(owner):
            raise ValueError("bad owner")
        if not _count(offset) or not _count(skip) or not (customer is None or _count(customer)):
            raise ValueError("bad offset, skip or customer")
        page = PageRequest.model_validate(payload["p"]) if "p" in payload else None
    except (ValueError, KeyError, TypeError, ValidationError):
        raise InvalidInputError("The cursor is not valid.", hint=_HINT) from None
    if owner != tool:
        raise InvalidInputError(f"The cursor belongs to {owner}, not {tool}.",
                                hint=f"Call {owner} with it, or omit cursor to start {tool} from the first page.")
    if payload.get("q") != query:
        raise InvalidInputError("The cursor belongs to another search text.",
                                hint="Repeat the same search text with the cursor, or omit cursor to start again.")
    return Cursor(tool=owner, offset=offset, page=page, query=query, customer=customer, skip=skip)


def upstream_refusal(error: InvalidInputError) -> InvalidInputError:
    """The API's refusal of a page a cursor asked for (a customer the cursor could not be checked against), with
    a hint that names the `cursor` argument."""
    advice = "If cursor came from another customer's list, omit cursor to start this customer's list again."
    return InvalidInputError(error.message, hint=f"{error.hint} {advice}" if error.hint else advice)
