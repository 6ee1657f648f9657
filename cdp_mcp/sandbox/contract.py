"""The sandbox's choices where the vendor docs are OPEN, as one table (CONTRACT.md documents the same)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "AFFINITY_DEFAULT_PAGE_SIZE",
    "ATTRIBUTES_DEFAULT_PAGE_SIZE",
    "CURRENCY",
    "DEFAULT_VALIDITY",
    "ERROR_STATUS",
    "LAST_KEY_DEFAULT_PAGE_SIZE",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_VALIDITY",
    "MIN_CUSTOMERS",
    "PAGE_DEFAULT_PAGE_SIZE",
    "TOKEN_LENGTH",
    "ErrorCode",
    "SandboxError",
    "error_body",
]

DEFAULT_VALIDITY = 60
"""Validity (in the tenant's unit) of a token when the request omits `validity`."""
MAX_VALIDITY = 1440
TOKEN_LENGTH = 40
CURRENCY = "$"
PAGE_DEFAULT_PAGE_SIZE = 20
LAST_KEY_DEFAULT_PAGE_SIZE = 100
AFFINITY_DEFAULT_PAGE_SIZE = 10
ATTRIBUTES_DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
MAX_PAGE = 2**31 - 1
"""Highest `page` (and `lastKey` offset) accepted: beyond it an offset would not fit SQLite's 64-bit integers."""
MIN_CUSTOMERS = 17
"""The well-known samples occupy gcrId 1..17 (the hostile ones 11..17), so a tenant has at least that many."""


class ErrorCode(StrEnum):
    """`errorCode` values of the error envelope."""

    BAD_REQUEST = "BAD_REQUEST"
    TENANT_REQUIRED = "TENANT_REQUIRED"
    TENANT_UNKNOWN = "TENANT_UNKNOWN"
    OAUTH_SECRET_INVALID = "OAUTH_SECRET_INVALID"
    TOKEN_REQUIRED = "TOKEN_REQUIRED"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    SCOPE_MISSING = "SCOPE_MISSING"
    UNKNOWN_RESOURCE = "UNKNOWN_RESOURCE"
    INVALID_VALIDITY = "INVALID_VALIDITY"
    TOKEN_LIMIT_REACHED = "TOKEN_LIMIT_REACHED"
    IDENTIFIER_REQUIRED = "IDENTIFIER_REQUIRED"
    IDENTIFIER_INVALID = "IDENTIFIER_INVALID"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    MULTIPLE_CUSTOMERS = "MULTIPLE_CUSTOMERS"
    IDENTIFIERS_CONFLICT = "IDENTIFIERS_CONFLICT"
    QUERY_REQUIRED = "QUERY_REQUIRED"
    INVALID_PAGING = "INVALID_PAGING"
    INTERNAL_ERROR = "INTERNAL_ERROR"


ERROR_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.TENANT_REQUIRED: 401,
    ErrorCode.TENANT_UNKNOWN: 403,
    ErrorCode.OAUTH_SECRET_INVALID: 403,
    ErrorCode.TOKEN_REQUIRED: 401,
    ErrorCode.TOKEN_INVALID: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.SCOPE_MISSING: 403,
    ErrorCode.UNKNOWN_RESOURCE: 400,
    ErrorCode.INVALID_VALIDITY: 400,
    ErrorCode.TOKEN_LIMIT_REACHED: 429,
    ErrorCode.IDENTIFIER_REQUIRED: 400,
    ErrorCode.IDENTIFIER_INVALID: 400,
    ErrorCode.CUSTOMER_NOT_FOUND: 404,
    ErrorCode.MULTIPLE_CUSTOMERS: 409,
    ErrorCode.IDENTIFIERS_CONFLICT: 409,
    ErrorCode.QUERY_REQUIRED: 400,
    ErrorCode.INVALID_PAGING: 400,
    ErrorCode.INTERNAL_ERROR: 500,
}
"""HTTP status of each error code: the one table the app's error handler reads."""


class SandboxError(Exception):
    """An anticipated refusal; the app turns it into the error envelope with `ERROR_STATUS[code]`."""

    def __init__(self, code: ErrorCode, message: str, *, data: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]


def error_body(error: SandboxError) -> dict[str, Any]:
    """The error envelope: `{"status": "ERROR", "message", "errorCode", "data"}`."""
    return {"status": "ERROR", "message": error.message, "errorCode": str(error.code), "data": error.data}
