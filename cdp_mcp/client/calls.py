"""The generic request path, written once: POST, credential headers, a deadline, bounded safe retries, typed errors.

Both the token API and the data client go through `ApiCaller.post`. Every request must complete, body included,
within `CDP_CONNECT_TIMEOUT + CDP_READ_TIMEOUT` (httpx2's timeouts bound each read, so a server trickling its
answer could hold a call for ever). Reads are retried on connection failures, 5xx and 429 that is not the
token-creation limit; other 4xx fail at once because they will not change. A token creation (which spends the
tenant's daily allowance) is repeated only when the request cannot have reached the server (connection refused,
DNS, connect timeout): after any response, or a failure once the request was sent, it is not repeated but
reported as `OutcomeUnknownError`, since a gateway may answer 502 after the vendor created the token. The OAuth
key secret goes with the token calls only, where the vendor documents it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2

from cdp_mcp import metrics
from cdp_mcp.catalog import Header
from cdp_mcp.client.failures import Failure, FailureKind, RequestKind, classify, error_for, is_error_envelope
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.clock import Clock, SystemClock
from cdp_mcp.errors import CdpError, OutcomeUnknownError, UpstreamResponseError, UpstreamUnavailableError
from cdp_mcp.settings import SANDBOX_TENANT_HASH, Settings
from cdp_mcp.tracing import traced_upstream

__all__ = ["ApiCaller", "TextBody"]

logger = logging.getLogger(__name__)

_NOT_JSON = object()
# Failures where the request cannot have been processed: safe to repeat even a token creation.
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
_WILL_NOT_CHANGE = (httpx2.UnsupportedProtocol, httpx2.LocalProtocolError)


def _decode(response: httpx2.Response, what: str) -> Any:
    """The JSON of a body; bytes that are not UTF-8 inside it become U+FFFD, so one bad byte in a customer's
    name costs that character, not the whole answer (said in the log)."""
    try:
        return response.json()
    except UnicodeDecodeError:
        try:
            payload = json.loads(response.content.decode("utf-8", errors="replace"))
        except ValueError:
            return _NOT_JSON
        logger.warning("The API answered %s with bytes that are not UTF-8; each became U+FFFD.", what)
        return payload
    except ValueError:  # json.JSONDecodeError among them
        return _NOT_JSON


@dataclass(frozen=True, slots=True)
class TextBody:
    """A successful answer to a token call whose body is not JSON (a tenant may send the token as plain text)."""

    text: str = field(repr=False)
    media_type: str


@dataclass(frozen=True, slots=True)
class _Outcome:
    payload: Any = None
    error: CdpError | None = None
    delay: float | None = None


class ApiCaller:
    """Posts JSON to the API with the tenant's credentials and turns every failure into a `CdpError`."""

    def __init__(self, http: httpx2.AsyncClient, settings: Settings, *, retry: RetryPolicy | None = None,
                 clock: Clock | None = None) -> None:
        self._http = http
        self._settings = settings
        self._retry = retry or RetryPolicy.from_settings(settings)
        self._clock = clock or SystemClock()
        self._deadline = settings.requests.deadline

    def __repr__(self) -> str:
        return f"ApiCaller(base_url={str(self._http.base_url)!r}, retry={self._retry!r})"

    def _credentials(self, call: RequestKind) -> dict[str, str]:
        """Built per request so no secret is ever stored on the shared client; the OAuth key secret only on token
        calls, where it is documented."""
        tenant = self._settings.api.tenant_hash
        headers = {Header.TENANT_HASH.value: tenant.get_secret_value() if tenant else SANDBOX_TENANT_HASH}
        if call is not RequestKind.DATA and self._settings.api.oauth_key_secret is not None:
            headers[Header.OAUTH_KEY_SECRET.value] = self._settings.api.oauth_key_secret.get_secret_value()
        return headers

    @traced_upstream
    async def post(
        self,
        path: str,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        identity: CustomerIdentity | None = None,
        call: RequestKind = RequestKind.DATA,
    ) -> Any:
        """POST and return the decoded JSON of a successful answer (a token call's non-JSON answer as `TextBody`).

        Args:
            path: relative to the client's base URL (from the catalog).
            what: the resource name or token call, for messages and logs.
            headers: call-specific headers (access token, identifiers); credentials are added here.
            params: query string parameters (never secrets).
            body: JSON body, or None to send none.
            identity: who the call is about, to word customer errors.
            call: what the request is: decides the credentials sent, the meaning of errors and whether it may
                be repeated (a token creation only when it cannot have reached the server).

        Raises:
            CdpError: the mapped error once retries (where safe) are spent; `OutcomeUnknownError` for a token
                creation that failed after reaching the API.
        """
        policy = self._retry
        started = policy.monotonic()
        retries = 0
        while True:
            outcome = await self._attempt(path, what, headers, params, body, identity, call, retries)
            if outcome.error is None:
                return outcome.payload
            error, delay = outcome.error, outcome.delay
            if delay is None:
                raise error
            retries += 1
            remaining = policy.budget - (policy.monotonic() - started)
            if retries > policy.max_retries or delay > remaining:
                logger.debug("%s: giving up after %d attempt(s) (%s)", what, retries, error.code)
                raise error
            logger.debug("%s: retry %d in %.2f s (%s)", what, retries, delay, error.code)
            await policy.sleep(delay)

    async def _attempt(
        self,
        path: str,
        what: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        identity: CustomerIdentity | None,
        call: RequestKind,
        retries: int,
    ) -> _Outcome:
        """One request: its payload, or its error and the wait before a retry (None: do not retry)."""
        request_headers = {**self._credentials(call), **(headers or {})}
        once = call is RequestKind.TOKEN_CREATE  # never repeated once it may have reached the server
        try:
            response = await self._send(path, what, request_headers, params, body)
        except TimeoutError:
            late = f"The Customer Profile API did not complete its answer to {what} within {self._deadline:g} s"
            if once:
                return _Outcome(error=_unknown_outcome(f"{late}."))
            return _Outcome(error=UpstreamUnavailableError(f"{late} (CDP_CONNECT_TIMEOUT + CDP_READ_TIMEOUT)."))
        except httpx2.TransportError as exc:
            reason = f"Could not reach the Customer Profile API for {what} ({type(exc).__name__})"
            if isinstance(exc, _WILL_NOT_CHANGE):
                return _Outcome(error=UpstreamUnavailableError(f"{reason}."))
            if once and not isinstance(exc, _NOT_SENT):
                return _Outcome(error=_unknown_outcome(f"The request for {what} failed after it was sent "
                                                       f"({type(exc).__name__})."))
            return _Outcome(error=UpstreamUnavailableError(f"{reason}."), delay=self._retry.backoff(retries))
        except httpx2.RequestError as exc:  # the body could not be decoded (DecodingError) and the like
            unreadable = f"The API answered {what} with a body that could not be read ({type(exc).__name__})."
            return _Outcome(error=_unknown_outcome(unreadable) if once else UpstreamResponseError(unreadable))
        payload = _decode(response, what)
        if response.is_success and not is_error_envelope(payload):
            if payload is _NOT_JSON:
                if call is not RequestKind.DATA:  # the token API reads what it can from it
                    return _Outcome(payload=TextBody(response.text, response.headers.get("content-type", "")))
                return _Outcome(error=UpstreamResponseError(f"The API answered {what} with a body that is not JSON."))
            return _Outcome(payload=payload)
        now = self._clock.now()
        failure = Failure.of(response, payload if payload is not _NOT_JSON else None, now)
        kind = classify(failure, call)
        if once and kind is FailureKind.UNAVAILABLE:
            return _Outcome(error=_unknown_outcome(f"The API failed on {what} (HTTP {failure.status})."))
        error = error_for(failure, what=what, identity=identity, now=now, call=call)
        # A rate limit is retried even when hidden in a 200 envelope (some APIs do that; it must not defeat backoff).
        if once or kind not in (FailureKind.UNAVAILABLE, FailureKind.RATE):
            return _Outcome(error=error)
        wait = failure.retry_after if failure.retry_after is not None else self._retry.backoff(retries)
        return _Outcome(error=error, delay=wait)


    async def _send(self, path: str, what: str, headers: Mapping[str, str], params: Mapping[str, str] | None,
                    body: Mapping[str, Any] | None) -> httpx2.Response:
        """One request, body included, within the deadline; counted in the metrics by its HTTP status, or as
        unanswered (`error`) when it failed or timed out first."""
        status = None
        try:
            with anyio.fail_after(self._deadline):
                response = await self._http.post(path, headers=headers, params=params,
                                                 json=dict(body) if body is not None else None)
            status = response.status_code
            return response
        finally:
            metrics.upstream_request(what, status)


def _unknown_outcome(what_happened: str) -> OutcomeUnknownError:
    return OutcomeUnknownError(f"{what_happened} The API may have created the token anyway (that counts against the "
                               "tenant's daily allowance), so the creation was not repeated.")
