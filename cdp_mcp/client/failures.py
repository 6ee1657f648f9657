"""One table from an HTTP status plus the error envelope to the `cdp_mcp.errors` tree.

The vendor documents only "401 means the token expired"; the sandbox picks codes (CONTRACT.md), and a real
tenant may pick others. So the upstream `errorCode` (or `code`/`error`) is read by meaning through a keyword
table, the human message refines only statuses that leave room (400, 403, a 200 that says ERROR), and the
status alone decides when nothing else is known. What the call was matters (`RequestKind`): a 401 on a data call means
the access token is dead unless an explicit code says the tenant's credentials are wrong, while on token create
it means the credentials; a refusal that speaks of a daily or creation limit is the token quota on the token
calls only, whatever its status (401 and 403 included). Messages are ours: the upstream body is never quoted, only
a sanitised error code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx2

from cdp_mcp.client.identity import CustomerIdentity, identity_help
from cdp_mcp.client.values import as_instant, as_int
from cdp_mcp.errors import (
    AmbiguousCustomerError,
    AuthenticationError,
    CdpError,
    ConflictingIdentifiersError,
    CustomerNotFoundError,
    InvalidInputError,
    RateLimitedError,
    ScopeMissingError,
    TokenExpiredError,
    TokenQuotaError,
    UpstreamResponseError,
    UpstreamUnavailableError,
)
from cdp_mcp.settings import env_name

__all__ = ["Failure", "FailureKind", "RequestKind", "classify", "error_for", "is_error_envelope", "not_one_customer"]

_ERROR_STATUSES = frozenset({"error", "fail", "failed", "failure", "ko", "false"})
_OK_STATUSES = frozenset({"ok", "success", "succeeded", "200", "0", "true", "none"})
_SAFE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,47}$")
_SECONDS = re.compile(r"[0-9]+")  # ASCII: str.isdigit() also accepts "²", which float() refuses


class RequestKind(StrEnum):
    """What kind of request failed: it decides what a 401 means, whether a limit is the token quota, and whether
    the request may be repeated (a creation may not: it spends the tenant's daily allowance)."""

    DATA = "data"
    TOKEN_CREATE = "token create"
    TOKEN_UPDATE = "token update"


class FailureKind(StrEnum):
    """What went wrong, by meaning."""

    CONFLICT = "conflict"
    AMBIGUOUS = "ambiguous"
    QUOTA = "quota"
    SCOPE = "scope"
    AUTH = "auth"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"
    RATE = "rate"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


# Checked in order: the first kind with a keyword (whole words, after upper-casing and turning _ - . into
# spaces) in the code or message wins. Specific meanings come before the generic words they contain
# ("TOKEN_LIMIT_REACHED" is a quota, not an expired token; "SCOPE_MISSING" is a scope, not bad input).
_KEYWORDS: tuple[tuple[FailureKind, tuple[str, ...]], ...] = (
    (FailureKind.CONFLICT, ("IDENTIFIERS CONFLICT", "CONFLICTING IDENTIFIERS", "IDENTIFIER CONFLICT",
                            "DIFFERENT CUSTOMERS", "IDENTIFIERS MISMATCH", "IDENTIFIER MISMATCH")),
    (FailureKind.AMBIGUOUS, ("MULTIPLE", "MORE THAN ONE", "AMBIGUOUS", "SEVERAL", "DUPLICATE CUSTOMERS")),
    (FailureKind.QUOTA, ("TOKEN LIMIT", "TOKEN QUOTA", "QUOTA", "DAILY LIMIT", "CREATION LIMIT")),
    (FailureKind.SCOPE, ("SCOPE", "PERMISSION", "NOT PERMITTED", "NOT GRANTED", "NOT ALLOWED", "NOT AUTHORIZED FOR")),
    (FailureKind.AUTH, ("TENANT", "OAUTH", "SECRET", "CREDENTIAL", "CREDENTIALS", "API KEY", "APIKEY")),
    (FailureKind.EXPIRED, ("TOKEN", "EXPIRED", "UNAUTHORIZED", "UNAUTHORISED", "UNAUTHENTICATED")),
    (FailureKind.NOT_FOUND, ("NOT FOUND", "NOTFOUND", "NO CUSTOMER", "DOES NOT EXIST", "NO MATCH", "NO RECORD",
                      "UNKNOWN CUSTOMER", "NO PROFILE")),
    (FailureKind.RATE, ("RATE LIMIT", "RATE LIMITED", "THROTTLED", "THROTTLING", "TOO MANY REQUESTS", "SLOW DOWN")),
    (FailureKind.INVALID, ("IDENTIFIER", "PAGING", "PAGE", "QUERY", "INVALID", "REQUIRED", "MISSING", "BAD REQUEST",
                    "MALFORMED", "VALIDITY", "UNKNOWN RESOURCE", "VALIDATION")),
)
_STATUS_DEFAULT = {400: FailureKind.INVALID, 401: FailureKind.EXPIRED, 403: FailureKind.AUTH,
                   404: FailureKind.NOT_FOUND, 409: FailureKind.AMBIGUOUS, 422: FailureKind.INVALID,
                   429: FailureKind.RATE}
# Statuses specific enough that a message may only choose among these kinds (None: any kind).
_MESSAGE_MAY_CHOOSE: dict[int, frozenset[FailureKind]] = {
    401: frozenset({FailureKind.EXPIRED, FailureKind.AUTH}),
    403: frozenset({FailureKind.AUTH, FailureKind.SCOPE, FailureKind.QUOTA, FailureKind.EXPIRED}),
    404: frozenset({FailureKind.NOT_FOUND}),
    409: frozenset({FailureKind.AMBIGUOUS, FailureKind.CONFLICT}),
    429: frozenset({FailureKind.RATE, FailureKind.QUOTA}),
}
_TOKEN_WORDS = ("TOKEN", "EXPIRED", "SESSION")
"""A 401 whose code (or, on update, message) speaks of these is about the access token."""
_CREDENTIAL_WORDS = next(words for kind, words in _KEYWORDS if kind is FailureKind.AUTH)
_QUOTA_TEXT = re.compile(
    r" (QUOTA|(TOKEN|CREATION|GENERATION|DAILY) LIMIT|TOO MANY TOKENS|MAXIMUM (NUMBER OF )?TOKENS"
    r"|TOKENS? (PER|A) DAY|LIMIT\b.*\b(DAY|DAILY|TODAY|24 HOURS?|PER DAY|TOKENS?)"
    r"|(DAILY|TODAY|PER DAY)\b.*\bLIMIT) ")
"""A refusal of a token call that speaks of a daily or token-creation limit: the quota, not a rate limit."""
_INVALID_HINTS: tuple[tuple[str, str], ...] = (
    ("IDENTIFIER", identity_help()),
    ("PAGING", "Ask for the first page again, or pass the next-page request from the previous result unchanged."),
    ("PAGE", "Ask for the first page again, or pass the next-page request from the previous result unchanged."),
    ("QUERY", "Give the search text or segment id the call needs."),
    ("VALIDITY", "Set CDP_TOKEN_VALIDITY within the API's bounds and CDP_TOKEN_VALIDITY_UNIT to the tenant's unit."),
    ("RESOURCE", "Remove the resource from CDP_RESOURCES; the tenant does not know it."),
)


def _words(text: str | None) -> str:
    return " " + " ".join(re.sub(r"[^A-Za-z0-9]+", " ", text or "").upper().split()) + " "


def _says(text: str | None, keywords: tuple[str, ...]) -> bool:
    words = _words(text)
    return any(f" {keyword} " in words for keyword in keywords)


def _kind_of(text: str | None) -> FailureKind | None:
    return next((kind for kind, keywords in _KEYWORDS if _says(text, keywords)), None)


def is_error_envelope(payload: object) -> bool:
    """A 200 whose envelope says it failed (a limit or error hidden in a success status)."""
    if not isinstance(payload, dict):
        return False
    status = payload.get("status")
    if isinstance(status, str) and status.strip().lower() in _ERROR_STATUSES:
        return True
    if isinstance(status, str) and status.strip().lower() in _OK_STATUSES:
        return False
    code = payload.get("errorCode") or payload.get("error_code")
    return bool(code) and str(code).strip().lower() not in _OK_STATUSES


@dataclass(frozen=True, slots=True)
class Failure:
    """The facts of an error response, read once. `message` is for classification only, never shown."""

    status: int
    code: str | None = None
    message: str | None = None
    data: Any = None
    retry_after: float | None = None
    enveloped: bool = False

    @classmethod
    def of(cls, response: httpx2.Response, payload: Any, now: datetime) -> Failure:
        code = message = data = None
        if isinstance(payload, dict):
            raw = next((payload[k] for k in ("errorCode", "error_code", "code", "error") if payload.get(k)), None)
            code = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
            text = payload.get("message") or payload.get("errorMessage") or payload.get("error_description")
            message = text if isinstance(text, str) else None
            data = payload.get("data")
        return cls(status=response.status_code, code=code, message=message, data=data,
                   retry_after=_retry_after(response.headers.get("Retry-After"), now),
                   enveloped=isinstance(payload, dict))


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from `Retry-After` given as delta-seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds()) if when.tzinfo else None


def _unauthorized(failure: Failure, call: RequestKind) -> FailureKind:
    """A 401: the credentials on token create; on update, the token when its code or message says so, else the
    credentials; on a data call, the token unless an explicit code speaks of the credentials and not of the token
    ("Token expired for this tenant" is a dead token)."""
    if call is RequestKind.TOKEN_CREATE:
        return FailureKind.AUTH
    if call is RequestKind.TOKEN_UPDATE:
        about_token = _says(failure.code, _TOKEN_WORDS) or _says(failure.message, _TOKEN_WORDS)
        return FailureKind.EXPIRED if about_token else FailureKind.AUTH
    credentials = _says(failure.code, _CREDENTIAL_WORDS) and not _says(failure.code, _TOKEN_WORDS)
    return FailureKind.AUTH if credentials else FailureKind.EXPIRED


def _speaks_of_quota(failure: Failure) -> bool:
    return any(_QUOTA_TEXT.search(_words(text)) for text in (failure.code, failure.message))


def classify(failure: Failure, call: RequestKind = RequestKind.DATA) -> FailureKind:
    """The meaning of an error response to a `call`: explicit code, then status, refined by the message where
    allowed. The token quota is a meaning of token calls only (a data call's daily limit is a rate limit)."""
    if failure.status >= 500:
        return FailureKind.UNAVAILABLE
    if call is not RequestKind.DATA and _speaks_of_quota(failure):
        return FailureKind.QUOTA  # whatever the status: a 401 "daily creation limit reached" is no credentials problem
    if failure.status == 401:
        return _unauthorized(failure, call)
    kind = _kind_of(failure.code) if failure.code else None
    if kind is None:
        allowed = _MESSAGE_MAY_CHOOSE.get(failure.status)
        kind = _kind_of(failure.message)
        if kind is None or (allowed is not None and kind not in allowed):
            kind = _STATUS_DEFAULT.get(failure.status, FailureKind.UNKNOWN)
    return FailureKind.RATE if kind is FailureKind.QUOTA and call is RequestKind.DATA else kind


_CREDENTIALS = {env_name("oauth_key_secret"): "the OAuth key secret", env_name("tenant_hash"): "the tenant hash"}
_SECRET_WORDS = ("OAUTH", "SECRET", "KEY SECRET")


def _refused_credential(failure: Failure) -> str | None:
    """The setting a credentials refusal names: its code first, then its message; None when neither says."""
    for text in (failure.code, failure.message):
        if _says(text, _SECRET_WORDS):
            return env_name("oauth_key_secret")
        if _says(text, ("TENANT",)):
            return env_name("tenant_hash")
    return None


def _safe_code(failure: Failure) -> str | None:
    return failure.code if failure.code and _SAFE_CODE.match(failure.code) else None


def _code_note(failure: Failure) -> str:
    code = _safe_code(failure)
    return f" ({code})" if code else ""


def _quota_retry_at(failure: Failure, now: datetime) -> datetime | None:
    if isinstance(failure.data, dict):
        for key in ("resetAt", "reset_at", "retryAt", "retry_at", "nextAvailableAt"):
            if (when := as_instant(failure.data.get(key))) is not None:
                return when
    return now + timedelta(seconds=failure.retry_after) if failure.retry_after is not None else None


def _matches(failure: Failure) -> int | None:
    if isinstance(failure.data, dict):
        for key in ("matches", "count", "matchCount", "totalCount"):
            if (count := as_int(failure.data.get(key))) is not None and count > 1:
                return count
    return None


def _invalid_hint(failure: Failure) -> str:
    words = _words(f"{failure.code or ''} {failure.message or ''}")
    return next((hint for key, hint in _INVALID_HINTS if f" {key}" in words), "Check the call's arguments.")


def not_one_customer(identity: CustomerIdentity | None, *, matches: int | None,
                     said_conflict: bool = False) -> AmbiguousCustomerError | ConflictingIdentifiersError:
    """The identifiers name no single customer: they conflict when the API says so or one of them is a gcr_id (it
    names exactly one customer) among others; else they are ambiguous (one identifier alone always is)."""
    sent = identity.present() if identity is not None else ()
    given = ", ".join(sent) or "none"
    if len(sent) > 1 and (said_conflict or "gcr_id" in sent):
        return ConflictingIdentifiersError(f"The identifiers given ({given}) name different customers.", sent=sent)
    return AmbiguousCustomerError(f"The identifiers given ({given}) match {matches or 'several'} customers.",
                                  matches=matches, sent=sent)


def error_for(failure: Failure, *, what: str, identity: CustomerIdentity | None, now: datetime,
              call: RequestKind = RequestKind.DATA) -> CdpError:
    """The typed error for an error response of the `what` call (a resource name or "token create")."""
    kind = classify(failure, call)
    given = ", ".join(identity.present()) if identity is not None else ""
    note = _code_note(failure)
    if kind is FailureKind.AUTH:
        setting = _refused_credential(failure)
        refused = _CREDENTIALS.get(setting or "", "the tenant credentials (tenant hash, OAuth key secret)")
        return AuthenticationError(f"The API refused {refused} on {what} (HTTP {failure.status}){note}.",
                                   setting=setting)
    if kind is FailureKind.EXPIRED:
        return TokenExpiredError(f"The access token was refused on {what} (expired or unknown){note}.",
                                 upstream_code=_safe_code(failure))
    if kind is FailureKind.SCOPE:
        return ScopeMissingError(f"The access token does not grant {what}{note}.")
    if kind is FailureKind.QUOTA:
        return TokenQuotaError(f"The tenant's daily token creations are spent{note}.",
                               retry_at=_quota_retry_at(failure, now))
    if kind is FailureKind.NOT_FOUND:
        if not failure.enveloped or identity is None:  # a 404 without a customer to look for: a wrong URL
            return UpstreamResponseError(f"The API answered {what} with HTTP 404 and no error envelope.",
                                         hint="Check that CDP_B2B_API_URL includes the context path (e.g. /rcdpapi).")
        return CustomerNotFoundError(f"No customer matches the identifiers given ({given or 'none'}).")
    if kind in (FailureKind.AMBIGUOUS, FailureKind.CONFLICT):
        return not_one_customer(identity, matches=_matches(failure), said_conflict=kind is FailureKind.CONFLICT)
    if kind is FailureKind.INVALID:
        return InvalidInputError(f"The API refused the {what} request as invalid{note}.", hint=_invalid_hint(failure))
    if kind is FailureKind.RATE:
        hint = (f"The API asks to wait {failure.retry_after:.0f} s; retry after that."
                if failure.retry_after is not None else None)
        return RateLimitedError(f"The API is rate limiting {what} requests{note}.", retry_after=failure.retry_after,
                                hint=hint)
    if kind is FailureKind.UNAVAILABLE:
        return UpstreamUnavailableError(f"The Customer Profile API failed on {what} (HTTP {failure.status}).")
    return UpstreamResponseError(f"The API answered {what} with an unexpected HTTP {failure.status}{note}.")
