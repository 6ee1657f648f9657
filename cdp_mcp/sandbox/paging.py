"""Paging parameters of the three styles, validated, and the opaque-looking `lastKey` the sandbox hands out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdp_mcp.catalog import Paging, PagingKey
from cdp_mcp.sandbox.contract import (
    LAST_KEY_DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PAGE_DEFAULT_PAGE_SIZE,
    ErrorCode,
    SandboxError,
)
from cdp_mcp.wire import LastKey

__all__ = ["PageParams", "last_key", "parse_paging"]

_HASH_KEY, _RANGE_KEY = LastKey.model_fields  # the two keys of the vendor's example
_TENANT_NO = 1


@dataclass(frozen=True, slots=True)
class PageParams:
    """A validated page request: the page number (1-based), its size, and a lastKey if one was sent."""

    page: int
    page_size: int
    last_key: dict[str, Any] | None = None

    def offset(self, gcr_id: int) -> int:
        """Where the page starts; a lastKey wins over page and must have been issued for this customer."""
        if self.last_key is None:
            return (self.page - 1) * self.page_size
        if self.last_key.get(_HASH_KEY) != f"{_TENANT_NO}_{gcr_id}":
            raise SandboxError(ErrorCode.INVALID_PAGING, "`lastKey` was not issued for this customer; copy it "
                               "from the previous response's data.lastKey.")
        return int(self.last_key[_RANGE_KEY])


def last_key(gcr_id: int, offset: int, total: int) -> LastKey | None:
    """The next page's key (the pointer to the last record sent), like the vendor's example; None after the last."""
    return LastKey(HK_CUSTOMER_CODE=f"{_TENANT_NO}_{gcr_id}", RK_DATE_KEY=offset) if offset < total else None


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SandboxError(ErrorCode.INVALID_PAGING, f"`{key}` must be an integer from {low} to {high}.")
    return value


def parse_paging(body: dict[str, Any], style: Paging, default_size: int | None = None) -> PageParams:
    """Validate the paging keys of `style`; keys of other styles are ignored as the API ignores unknown keys.

    `default_size` overrides the style's default `pageSize` for resources that have their own.
    """
    if style is Paging.NONE:
        return PageParams(1, MAX_PAGE_SIZE)
    if style is Paging.PAGE_SIZE:
        return PageParams(1, _int(body, PagingKey.PAGE_SIZE, default_size or PAGE_DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE))
    default = default_size or (PAGE_DEFAULT_PAGE_SIZE if style is Paging.PAGE else LAST_KEY_DEFAULT_PAGE_SIZE)
    size = _int(body, PagingKey.PAGE_SIZE, default, 1, MAX_PAGE_SIZE)
    page = _int(body, PagingKey.PAGE, 1, 1, MAX_PAGE) if style is not Paging.POINTER else 1
    key = body.get(PagingKey.LAST_KEY) if style in (Paging.LAST_KEY, Paging.POINTER) else None
    if key is not None:
        rk = key.get(_RANGE_KEY) if isinstance(key, dict) else None
        if not isinstance(key, dict) or not isinstance(key.get(_HASH_KEY), str) or isinstance(rk, bool) \
                or not isinstance(rk, int) or not 0 <= rk <= MAX_PAGE * MAX_PAGE_SIZE:
            raise SandboxError(ErrorCode.INVALID_PAGING, "`lastKey` must be the object returned as data.lastKey "
                               "by the previous page.")
    return PageParams(page, size, key)
