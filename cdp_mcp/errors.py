"""Typed, actionable errors. Anticipated failures are `CdpError`s; anything else is a crash.

Every error carries a `hint`: the next step a model or a person can take. Messages never contain
secrets (tenant hash, OAuth key secret, tokens) nor upstream bodies.

    CdpError
    ├── ConfigurationError          a setting is missing or malformed (start-up)
    ├── AuthenticationError         unknown tenant hash or bad OAuth key secret
    ├── TokenError
    │   ├── TokenExpiredError       401: the access token is dead, whatever the clock says
    │   ├── TokenRejectedError      401 again with a token renewed for the call: retrying will not help
    │   ├── ScopeMissingError       the token does not name the resource
    │   └── TokenQuotaError         the tenant's daily token creations are spent (retry_at)
    ├── CustomerError
    │   ├── CustomerNotFoundError   no customer matches the identifiers
    │   ├── AmbiguousCustomerError  the identifiers match several customers
    │   └── ConflictingIdentifiersError  the identifiers name different customers (a gcr_id and another's email)
    ├── InvalidInputError           bad identifier, query or paging, refused before or by the API
    ├── RateLimitedError            429 that outlived the retry budget
    ├── RateLimitStoreUnavailableError  the shared rate limit (Redis) cannot be reached: calls are refused
    ├── AuditUnavailableError       the call's audit line cannot be written: the call is refused
    ├── CallTimeoutError            a tool call outlived CDP_CALL_TIMEOUT; its upstream requests were cancelled
    └── UpstreamError
        ├── UpstreamUnavailableError    connection failures, 5xx, a response past its deadline
        │   └── OutcomeUnknownError     a token creation failed after reaching the API: not repeated
        └── UpstreamResponseError       a response whose shape is not usable (names the resource)
            └── TokenUnreadableError    a token creation answered with success but no readable token: creation
                                        for that scope stops for a while, rather than spend one on every call
"""

from __future__ import annotations

from datetime import datetime

from cdp_mcp.catalog import IDENTIFIERS

__all__ = [
    "AmbiguousCustomerError",
    "AuditUnavailableError",
    "AuthenticationError",
    "CallTimeoutError",
    "CdpError",
    "ConfigurationError",
    "ConflictingIdentifiersError",
    "CustomerError",
    "CustomerNotFoundError",
    "InvalidInputError",
    "OutcomeUnknownError",
    "RateLimitStoreUnavailableError",
    "RateLimitedError",
    "ScopeMissingError",
    "TokenError",
    "TokenExpiredError",
    "TokenQuotaError",
    "TokenRejectedError",
    "TokenUnreadableError",
    "UpstreamError",
    "UpstreamResponseError",
    "UpstreamUnavailableError",
]


class CdpError(Exception):
    """Base of every anticipated failure; `str()` is the message, `hint` the next step."""

    code: str = "CDP_ERROR"
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def for_model(self) -> str:
        """The message and hint as one line a model can act on."""
        return f"{self.message} {self.hint}".strip() if self.hint else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(CdpError):
    code = "CONFIGURATION"


class AuthenticationError(CdpError):
    """The API refused the tenant's credentials. `setting`: the one its answer named (`CDP_TENANT_HASH` when it
    spoke of the tenant, `CDP_OAUTH_KEY_SECRET` of the OAuth key secret), None when it did not say which."""

    code = "AUTHENTICATION"
    default_hint = "Check CDP_TENANT_HASH and CDP_OAUTH_KEY_SECRET (run `cdp-mcp doctor`)."

    def __init__(self, message: str, *, setting: str | None = None, hint: str | None = None) -> None:
        if hint is None and setting is not None:
            hint = f"Check {setting} (run `cdp-mcp doctor`)."
        super().__init__(message, hint=hint)
        self.setting = setting


class TokenError(CdpError):
    code = "TOKEN"


class TokenExpiredError(TokenError):
    """`upstream_code`: the API's own error code, when it gave a safe one (for the follow-up message)."""

    code = "TOKEN_EXPIRED"
    default_hint = "The token broker renews it; retry the call."

    def __init__(self, message: str, *, upstream_code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.upstream_code = upstream_code


class TokenRejectedError(TokenError):
    """The API refused a token that was renewed for this very call: the tenant set-up is wrong, not the token."""

    code = "TOKEN_REJECTED"
    default_hint = ("Retrying will not help. Check the tenant configuration: CDP_B2B_API_URL (and CDP_TOKEN_API_URL) "
                    "must be the tenant's, and the tenant must grant this resource (run `cdp-mcp doctor`).")


class ScopeMissingError(TokenError):
    code = "SCOPE_MISSING"
    default_hint = "The tenant may not grant this resource; check CDP_RESOURCES."


class TokenQuotaError(TokenError):
    """The daily allowance of token creations is spent. `retry_at` says when one frees up."""

    code = "TOKEN_QUOTA"

    def __init__(self, message: str, *, retry_at: datetime | None = None, hint: str | None = None) -> None:
        if hint is None:
            when = f" at {retry_at:%Y-%m-%d %H:%M} UTC" if retry_at else " tomorrow"
            hint = (
                f"Token creation is possible again{when}. Ask the vendor to raise the tenant's daily limit, "
                "then set CDP_TOKEN_DAILY_LIMIT to match; CDP_TOKEN_POLICY=shared needs fewer creations."
            )
        super().__init__(message, hint=hint)
        self.retry_at = retry_at


class CustomerError(CdpError):
    code = "CUSTOMER"


class CustomerNotFoundError(CustomerError):
    code = "CUSTOMER_NOT_FOUND"
    default_hint = "Check the identifiers, or look the customer up with resolve_customer."


class AmbiguousCustomerError(CustomerError):
    """The identifiers lead to more than one customer; `matches` is how many when known."""

    code = "AMBIGUOUS_CUSTOMER"

    def __init__(self, message: str, *, matches: int | None = None, sent: tuple[str, ...] = (),
                 hint: str | None = None) -> None:
        if hint is None:
            others = [i.argument for i in IDENTIFIERS if i.in_gcr_body and i.argument not in sent]  # not gcr_id
            add = " or ".join(others) if others else "another identifier"
            hint = f"Add {add} to narrow it to one customer, or use gcr_id."
        super().__init__(message, hint=hint)
        self.matches = matches


class ConflictingIdentifiersError(CustomerError):
    """The identifiers given name different customers (each may name one, together they name none): not an
    ambiguity another identifier would narrow, but a mix-up of two people's details."""

    code = "CONFLICTING_IDENTIFIERS"

    def __init__(self, message: str, *, sent: tuple[str, ...] = (), hint: str | None = None) -> None:
        if hint is None:
            given = ", ".join(sent) if sent else "the identifiers"
            hint = (f"Check that {given} belong to the same person, or call with one of them (gcr_id alone names "
                    "exactly one customer).")
        super().__init__(message, hint=hint)


class InvalidInputError(CdpError):
    code = "INVALID_INPUT"


class RateLimitedError(CdpError):
    code = "RATE_LIMITED"
    default_hint = "The API is throttling requests; wait a moment and retry."


class RateLimitStoreUnavailableError(CdpError):
    """The per-person rate limit is kept in Redis and Redis cannot be reached: the call is refused (fails closed)."""

    code = "RATE_LIMIT_UNAVAILABLE"
    default_hint = ("Retry in a moment. If it persists, the operator should check the Redis server CDP_REDIS_URL "
                    "names (`cdp-mcp doctor` pings it).")

    def __init__(self, location: str, *, hint: str | None = None) -> None:
        super().__init__(f"The rate limit store is unavailable (Redis at {location}), so the call was refused: "
                         "the per-person limit cannot be enforced.", hint=hint)


class AuditUnavailableError(CdpError):
    """The audit trail cannot be written: the call is refused, so no customer data is read unaudited."""

    code = "AUDIT_UNAVAILABLE"
    default_hint = ("Retry later. The operator should check the audit trail (CDP_AUDIT_LOG: the path, disk space, "
                    "permissions); /healthz reports it failing meanwhile.")

    def __init__(self, message: str = "The call was refused: its audit line could not be written, and no customer "
                                      "data is read unaudited.", *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)


class CallTimeoutError(CdpError):
    code = "CALL_TIMEOUT"
    default_hint = ("The Customer Profile API is answering slowly: retry in a moment, ask for less (a smaller limit, "
                    "fewer customers), or raise CDP_CALL_TIMEOUT.")


class UpstreamError(CdpError):
    code = "UPSTREAM"


class UpstreamUnavailableError(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"
    default_hint = "The Customer Profile API is not reachable right now; retry later or run `cdp-mcp doctor`."


class OutcomeUnknownError(UpstreamUnavailableError):
    """A request that must not be repeated (a token creation) failed after reaching the API, which may have acted on
    it: it is counted as done (a creation against the daily allowance) and not sent again."""

    code = "OUTCOME_UNKNOWN"
    default_hint = ("Retry the call in a moment: cdp-mcp looks for a token before creating another. If it keeps "
                    "failing, the Customer Profile API is unavailable (run `cdp-mcp doctor`).")


class UpstreamResponseError(UpstreamError):
    code = "UPSTREAM_RESPONSE"
    default_hint = "The API answered in a shape cdp-mcp does not understand; please report it."


class TokenUnreadableError(UpstreamResponseError):
    """A token creation answered with success, but without a token cdp-mcp can read. It counts against the daily
    allowance, and creation for that scope stops until `retry_at` instead of spending one on every call."""

    code = "TOKEN_UNREADABLE"
    default_hint = ("Report the shape of the answer, which the server logged at WARNING (keys only, never values), "
                    "to the cdp-mcp maintainers: a cdp-mcp version that reads it lifts the stop. Tools that need "
                    "other resources still work.")

    def __init__(self, message: str, *, retry_at: datetime | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_at = retry_at
