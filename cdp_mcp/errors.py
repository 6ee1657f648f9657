"""Typed, actionable errors. Anticipated failures are `CdpError`s; anything else is a crash.

Every error carries a `hint`: the next step a model or a person can take. Messages never contain
secrets (tenant hash, OAuth key secret, tokens) nor upstream bodies. Every `CdpError` subclass lives here,
whichever layer raises it: the tree below is all of them.

    CdpError
    ├── ConfigurationError          a setting is missing or malformed (start-up), or CDP_STATE_DIR unusable
    ├── AuthenticationError         unknown tenant hash or bad OAuth key secret
    ├── TokenError
    │   ├── TokenExpiredError       401: the access token is dead, whatever the clock says
    │   ├── TokenRejectedError      401 again with a token renewed for the call: retrying will not help
    │   ├── ScopeMissingError       the token does not name the resource
    │   ├── TokenQuotaError         the tenant's daily token creations are spent (retry_at)
    │   └── TokenStoreError         the broker's token state cannot be read or written
    │       └── TokenStoreLockedError   another process or replica held its lock past the timeout
    ├── CustomerError
    │   ├── CustomerNotFoundError   no customer matches the identifiers
    │   ├── AmbiguousCustomerError  the identifiers match several customers
    │   └── ConflictingIdentifiersError  the identifiers name different customers (a gcr_id and another's email)
    ├── InvalidInputError           bad identifier, query or paging, refused before or by the API
    ├── RateLimitedError            429 that outlived the retry budget (retry_after: the wait the API asked for)
    │   └── CallRateLimitedError    this person's tool calls a minute are spent (CDP_MCP_RATE_LIMIT)
    ├── ScopeNotGrantedError        the signed-in person's scopes do not reach what the call needs
    ├── ToolHiddenError             the request's X-CDP-Tools header leaves the tool out
    ├── RateLimitStoreUnavailableError  the shared rate limit (Redis) cannot be reached: calls are refused
    ├── AuditUnavailableError       the call's audit line cannot be written: the call is refused
    ├── CallTimeoutError            a tool call outlived CDP_CALL_TIMEOUT; its upstream requests were cancelled
    ├── UnexpectedFailureError      a crash inside a tool, as the model sees it: the request id to report
    ├── ScreeningError
    │   ├── ScreeningNotFoundError  no screening or audience of the caller's has that id (or it expired)
    │   ├── ScreeningLimitError     the caller already runs CDP_SCREEN_MAX_JOBS screenings
    │   ├── ConfirmationRequiredError   a large screening needs the person's go-ahead (confirm: true)
    │   └── ScreeningStateError     the screening state (CDP_STATE_DIR or Redis) cannot be read or written
    ├── ShuttingDownError           the server stopped this call: SIGTERM's drain time (CDP_MCP_DRAIN_SECONDS) ran out
    ├── SignInError                 an access token sent to the HTTP server (never a tool's error: 401 or 503)
    │   ├── AccessTokenRejectedError    the token is not acceptable; `reason` is a fixed, header-safe sentence
    │   └── SignInUnavailableError      it cannot be checked now (issuer unreachable, new key id); `retry_after`
    └── UpstreamError
        ├── UpstreamUnavailableError    connection failures, 5xx, a response past its deadline
        │   └── OutcomeUnknownError     a token creation failed after reaching the API: not repeated
        └── UpstreamResponseError       a response whose shape is not usable (names the resource)
            └── TokenUnreadableError    a token creation answered with success but no readable token

Not in the tree: the embedded sandbox's `SandboxError` (sandbox/contract.py) is the emulated API's own refusal,
which the sandbox app turns into the vendor's error envelope; cdp-mcp meets it only as an HTTP answer, which the
client classifies like any tenant's.
"""

from __future__ import annotations

from datetime import datetime

from cdp_mcp.catalog import IDENTIFIERS

__all__ = [
    "AccessTokenRejectedError",
    "AmbiguousCustomerError",
    "AuditUnavailableError",
    "AuthenticationError",
    "CallRateLimitedError",
    "CallTimeoutError",
    "CdpError",
    "ConfigurationError",
    "ConfirmationRequiredError",
    "ConflictingIdentifiersError",
    "CustomerError",
    "CustomerNotFoundError",
    "InvalidInputError",
    "OutcomeUnknownError",
    "RateLimitStoreUnavailableError",
    "RateLimitedError",
    "ScopeMissingError",
    "ScopeNotGrantedError",
    "ScreeningError",
    "ScreeningLimitError",
    "ScreeningNotFoundError",
    "ScreeningStateError",
    "ShuttingDownError",
    "SignInError",
    "SignInUnavailableError",
    "TokenError",
    "TokenExpiredError",
    "TokenQuotaError",
    "TokenRejectedError",
    "TokenStoreError",
    "TokenStoreLockedError",
    "TokenUnreadableError",
    "ToolHiddenError",
    "UnexpectedFailureError",
    "UpstreamError",
    "UpstreamResponseError",
    "UpstreamUnavailableError",
    "path_failure",
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


def path_failure(exc: OSError) -> ConfigurationError:
    """A file-system error naming a path (an unwritable CDP_STATE_DIR, typically) as an error a person can act on."""
    return ConfigurationError(f"{exc.strerror or type(exc).__name__}: {exc.filename}",
                              hint="Check CDP_STATE_DIR (token cache, creation ledger, sandbox data) and its "
                                   "permissions.")


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


class TokenStoreError(TokenError):
    """The token state cannot be read or written (a state directory that is not ours or not writable, Redis down)."""

    code = "TOKEN_STATE"


class TokenStoreLockedError(TokenStoreError):
    """Another process held the token state lock for longer than the lock timeout."""

    code = "TOKEN_STATE_LOCKED"


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
    """`retry_after`: the seconds the API asked to wait (Retry-After), when it said."""

    code = "RATE_LIMITED"
    default_hint = "The API is throttling requests; wait a moment and retry."

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class CallRateLimitedError(RateLimitedError):
    """This person made more tool calls than the per-minute limit allows; `retry_after` is in seconds."""

    code = "CALL_RATE_LIMITED"

    def __init__(self, per_minute: int, retry_after: float) -> None:
        wait = max(1, round(retry_after + 0.49))
        super().__init__(f"Too many tool calls: the limit is {per_minute} a minute per person.", retry_after=wait,
                         hint=f"Retry in {wait} s; meanwhile, batch questions (get_customer_overview, "
                              "screen_customers) rather than calling tool after tool.")


class ScopeNotGrantedError(CdpError):
    """The signed-in person's scopes do not reach a resource the call needs (`access.missing_scopes_error` names
    the scope to ask for)."""

    code = "SCOPE_NOT_GRANTED"


class ToolHiddenError(CdpError):
    """The request's X-CDP-Tools header leaves this tool out (`access.hidden_tool_error` names those it keeps)."""

    code = "TOOL_HIDDEN"
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


class UnexpectedFailureError(CdpError):
    """A crash inside a tool, shown to the model with the request id the operator finds it under."""

    code = "INTERNAL"

    def __init__(self, tool: str, request_id: str) -> None:
        super().__init__(f"{tool} failed unexpectedly (request id {request_id}).",
                         hint="Retry once; if it fails again, report the request id: the operator finds the "
                              "details in the server log and the audit trail under it.")


class ScreeningError(CdpError):
    code = "SCREENING"


class ScreeningNotFoundError(ScreeningError):
    code = "SCREENING_NOT_FOUND"
    default_hint = ("Use the screening_id (or audience_id) exactly as it was given; results are deleted after "
                    "CDP_SCREEN_TTL. Start a new screening with screen_audience if it expired.")


class ScreeningLimitError(ScreeningError):
    code = "SCREENINGS_RUNNING"


class ConfirmationRequiredError(ScreeningError):
    code = "CONFIRMATION_REQUIRED"


class ScreeningStateError(ScreeningError):
    code = "SCREENING_STATE"
    default_hint = ("Check CDP_STATE_DIR (or CDP_REDIS_URL when set) and that it is writable and reachable; "
                    "run `cdp-mcp doctor`.")


class ShuttingDownError(CdpError):
    """The server is stopping (SIGTERM) and the time calls in flight had to finish ran out: this one was stopped,
    its upstream requests cancelled. Nothing is wrong with the call: another replica answers it."""

    code = "SHUTTING_DOWN"
    default_hint = "Retry the call: the server was restarting, and another replica (or this one, restarted) answers."

    def __init__(self, drain_seconds: float) -> None:
        super().__init__(f"The server is shutting down: this call was still running {drain_seconds:g} s after it was "
                         "told to stop, so it was stopped.")


class SignInError(CdpError):
    """An access token sent to the HTTP server cannot be accepted. The sign-in layer answers it with a 401 or 503
    before any tool runs; doctor reports it."""

    code = "SIGN_IN"


class AccessTokenRejectedError(SignInError):
    """The token is not acceptable; `reason` is a fixed, header-safe sentence (never the token's own text)."""

    code = "ACCESS_TOKEN_REJECTED"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignInUnavailableError(SignInError):
    """The token cannot be checked now (the issuer's keys or introspection endpoint are unreachable, or a new key
    id cannot be asked about yet); `retry_after`: seconds until it may be, when known; `outage`: False when the
    issuer is fine and only a recent fetch stands in the way (worth an INFO line, not a WARNING per request)."""

    code = "SIGN_IN_UNAVAILABLE"

    def __init__(self, message: str, *, retry_after: float | None = None, outage: bool = True) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.outage = outage


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
