"""Every error type of the client, from real sandbox responses (faults and odd shapes live elsewhere)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from cdp_mcp.client.failures import Failure, FailureKind, RequestKind, classify
from cdp_mcp.client.identity import CustomerIdentity, identity_help
from cdp_mcp.client.models import PageRequest
from cdp_mcp.client.resources.profile import Profile
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.errors import (
    AmbiguousCustomerError,
    AuthenticationError,
    ConflictingIdentifiersError,
    CustomerNotFoundError,
    InvalidInputError,
    ScopeMissingError,
    TokenQuotaError,
    TokenRejectedError,
    UpstreamResponseError,
)
from cdp_mcp.sandbox.contract import ERROR_STATUS, MIN_CUSTOMERS, ErrorCode, SandboxError, error_body
from tests.client.rig import ClientRig, FixedToken, OpenRig, settings_for

pytestmark = pytest.mark.anyio

SMALL = {"customers": MIN_CUSTOMERS}  # private sandboxes seed only the well-known customers


def count_requests(rig: ClientRig) -> Counter[str]:
    """Requests sent, by last path segment (create, update or the resource route)."""
    seen: Counter[str] = Counter()

    async def hook(response: httpx2.Response) -> None:
        seen[response.request.url.path.rsplit("/", 1)[-1]] += 1

    rig.http.event_hooks["response"].append(hook)
    return seen


def vip(rig: ClientRig) -> CustomerIdentity:
    return CustomerIdentity(gcr_id=rig.server.sample("vip").gcr_id)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_sandbox_error_code_maps_to_its_meaning(code: ErrorCode) -> None:
    expected = {
        ErrorCode.BAD_REQUEST: FailureKind.INVALID, ErrorCode.TENANT_REQUIRED: FailureKind.AUTH,
        ErrorCode.TENANT_UNKNOWN: FailureKind.AUTH,
        ErrorCode.OAUTH_SECRET_INVALID: FailureKind.AUTH, ErrorCode.TOKEN_REQUIRED: FailureKind.EXPIRED,
        ErrorCode.TOKEN_INVALID: FailureKind.EXPIRED, ErrorCode.TOKEN_EXPIRED: FailureKind.EXPIRED,
        ErrorCode.SCOPE_MISSING: FailureKind.SCOPE,
        ErrorCode.UNKNOWN_RESOURCE: FailureKind.INVALID, ErrorCode.INVALID_VALIDITY: FailureKind.INVALID,
        ErrorCode.TOKEN_LIMIT_REACHED: FailureKind.QUOTA, ErrorCode.IDENTIFIER_REQUIRED: FailureKind.INVALID,
        ErrorCode.IDENTIFIER_INVALID: FailureKind.INVALID, ErrorCode.CUSTOMER_NOT_FOUND: FailureKind.NOT_FOUND,
        ErrorCode.MULTIPLE_CUSTOMERS: FailureKind.AMBIGUOUS, ErrorCode.IDENTIFIERS_CONFLICT: FailureKind.CONFLICT,
        ErrorCode.QUERY_REQUIRED: FailureKind.INVALID,
        ErrorCode.INVALID_PAGING: FailureKind.INVALID, ErrorCode.INTERNAL_ERROR: FailureKind.UNAVAILABLE,
    }
    token_calls = dict.fromkeys((ErrorCode.TOKEN_LIMIT_REACHED, ErrorCode.UNKNOWN_RESOURCE, ErrorCode.INVALID_VALIDITY,
                                 ErrorCode.OAUTH_SECRET_INVALID), RequestKind.TOKEN_CREATE)
    body = error_body(SandboxError(code, "a sentence"))
    failure = Failure(status=ERROR_STATUS[code], code=body["errorCode"], message=body["message"], enveloped=True)
    assert classify(failure, token_calls.get(code, RequestKind.DATA)) is expected[code]


@pytest.mark.parametrize(("status", "body", "call", "kind"), [
    # a data call's 401 is the token, unless an explicit code speaks of the credentials (and not of the token)
    (401, {"message": "Token expired for this tenant"}, RequestKind.DATA, FailureKind.EXPIRED),
    (401, {"message": "Invalid tenant"}, RequestKind.DATA, FailureKind.EXPIRED),
    (401, {"errorCode": "TENANT_TOKEN_EXPIRED"}, RequestKind.DATA, FailureKind.EXPIRED),
    (401, {"errorCode": "INVALID_TENANT"}, RequestKind.DATA, FailureKind.AUTH),
    (401, {}, RequestKind.DATA, FailureKind.EXPIRED),
    # on token create a 401 is the credentials; on update, the token only when the answer says so
    (401, {"errorCode": "TOKEN_EXPIRED"}, RequestKind.TOKEN_CREATE, FailureKind.AUTH),
    (401, {}, RequestKind.TOKEN_CREATE, FailureKind.AUTH),
    (401, {"message": "Token expired"}, RequestKind.TOKEN_UPDATE, FailureKind.EXPIRED),
    (401, {}, RequestKind.TOKEN_UPDATE, FailureKind.AUTH),
    # a refusal of a creation that speaks of a daily or creation limit is the quota, whatever its status
    (429, {"message": "Daily token creation limit exceeded"}, RequestKind.TOKEN_CREATE, FailureKind.QUOTA),
    (429, {"message": "Too many tokens created today"}, RequestKind.TOKEN_CREATE, FailureKind.QUOTA),
    (400, {"error": "LIMIT_EXCEEDED", "message": "Limit of 100 tokens per day reached"}, RequestKind.TOKEN_CREATE,
     FailureKind.QUOTA),
    (403, {"message": "Token generation limit reached"}, RequestKind.TOKEN_CREATE, FailureKind.QUOTA),
    (429, {"message": "Too many requests"}, RequestKind.TOKEN_CREATE, FailureKind.RATE),
    # on a data call a daily limit is a rate limit (of requests), never the token quota
    (429, {"errorCode": "DAILY_LIMIT", "message": "Daily limit reached"}, RequestKind.DATA, FailureKind.RATE),
])
def test_what_a_refusal_means_depends_on_the_call(status: int, body: dict[str, str], call: RequestKind,
                                                  kind: FailureKind) -> None:
    failure = Failure(status=status, code=body.get("errorCode") or body.get("error"), message=body.get("message"),
                      enveloped=True)
    assert classify(failure, call) is kind


async def test_unknown_tenant_is_an_authentication_error(sandbox_server: Any, open_rig: OpenRig) -> None:
    sandbox_server.reset()
    async with open_rig(sandbox_server, tenant_hash="not-the-tenant-hash-0000000000000") as rig:
        with pytest.raises(AuthenticationError, match="refused the tenant hash") as caught:
            await rig.client.fetch("basic", vip(rig))
    assert "CDP_TENANT_HASH" in caught.value.hint and "CDP_OAUTH_KEY_SECRET" not in caught.value.hint
    assert caught.value.setting == "CDP_TENANT_HASH"


async def test_oauth_secret_missing_or_wrong_then_right(start_sandbox_server: Any, open_rig: OpenRig) -> None:
    secret = "0123456789abcdef"
    server = start_sandbox_server(oauth_key_secret=secret, **SMALL)
    for given in (None, "fedcba9876543210"):
        async with open_rig(server, oauth_key_secret=given) as rig:
            with pytest.raises(AuthenticationError, match=r"refused the OAuth key secret.*OAUTH_SECRET_INVALID") \
                    as caught:
                await rig.api.create_token(frozenset({"basic"}))
            assert caught.value.setting == "CDP_OAUTH_KEY_SECRET" and "CDP_TENANT_HASH" not in caught.value.hint
    async with open_rig(server, oauth_key_secret=secret) as rig:
        assert isinstance(await rig.client.fetch("basic", vip(rig)), Profile)


async def test_expired_token_is_renewed_once_and_the_call_retried(rig: ClientRig) -> None:
    identity = vip(rig)
    await rig.client.fetch("basic", identity)
    stale = rig.tokens.tokens[frozenset({"basic"})]
    rig.server.clock.advance(seconds=rig.settings.tokens.validity_seconds + 60)
    sent = count_requests(rig)
    profile = await rig.client.fetch("basic", identity)
    assert isinstance(profile, Profile)
    assert rig.tokens.invalidated == [(frozenset({"basic"}), stale)]
    assert sent == {"basic": 2, "create": 1}


async def test_a_second_401_says_retrying_will_not_help(rig: ClientRig) -> None:
    source = FixedToken("not-a-token-the-sandbox-ever-issued")
    client = type(rig.client)(rig.http, rig.settings, source, retry=rig.timer.policy())
    sent = count_requests(rig)
    with pytest.raises(TokenRejectedError, match="TOKEN_INVALID") as caught:
        await client.fetch("basic", vip(rig))
    assert (source.invalidated, sent["basic"]) == (1, 2)
    assert "will not help" in caught.value.hint and "retry the call" not in caught.value.for_model()


async def test_token_without_the_resource_is_scope_missing_and_not_retried(rig: ClientRig) -> None:
    token = (await rig.api.create_token(frozenset({"basic"}))).token
    source = FixedToken(token)
    client = type(rig.client)(rig.http, rig.settings, source, retry=rig.timer.policy())
    sent = count_requests(rig)
    with pytest.raises(ScopeMissingError, match="segments"):
        await client.fetch("segments", vip(rig))
    assert (source.invalidated, sent["segments"], rig.timer.waits) == (0, 1, [])


async def test_unknown_customer_is_not_found(rig: ClientRig) -> None:
    with pytest.raises(CustomerNotFoundError, match=r"\(gcr_id\)"):
        await rig.client.fetch("basic", CustomerIdentity(gcr_id=987_654))


async def test_shared_email_is_ambiguous_and_says_what_to_add(rig: ClientRig) -> None:
    sample = rig.server.sample("household_1")
    with pytest.raises(AmbiguousCustomerError) as caught:
        await rig.client.fetch("segments", CustomerIdentity(email=sample.email))
    error = caught.value
    assert error.matches == 2 and "(email)" in error.message
    assert "mobile" in error.hint and "customer_code" in error.hint and "email" not in error.hint
    assert sample.email not in error.for_model()


@pytest.mark.parametrize(("first", "second"), [("gcr_id", "email"), ("email", "mobile"), ("customer_code", "gcr_id")])
async def test_identifiers_of_two_people_conflict_rather_than_match_several(rig: ClientRig, first: str,
                                                                           second: str) -> None:
    vip, regular = rig.server.sample("vip"), rig.server.sample("regular")
    who = CustomerIdentity(**{first: getattr(vip, first), second: getattr(regular, second)})
    for name in ("basic", "gcrId"):
        with pytest.raises(ConflictingIdentifiersError) as caught:
            await rig.client.fetch(name, who)
        text = caught.value.for_model()
        assert "name different customers" in text and "same person" in text, text
        assert "match" not in caught.value.message and vip.email not in text and regular.email not in text


async def test_gcr_lookup_of_a_shared_email_is_ambiguous_too(rig: ClientRig) -> None:
    with pytest.raises(AmbiguousCustomerError):
        await rig.client.fetch("gcrId", CustomerIdentity(email=rig.server.sample("household_2").email))


async def test_bad_paging_is_invalid_input_with_a_paging_hint(rig: ClientRig) -> None:
    sent = count_requests(rig)
    with pytest.raises(InvalidInputError, match="INVALID_PAGING") as caught:
        await rig.client.fetch("campaigns", vip(rig), page=PageRequest(page=1, page_size=500))
    assert "page" in caught.value.hint and sent["campaigns"] == 1


async def test_no_identifier_is_invalid_input_naming_the_identifiers(rig: ClientRig) -> None:
    nobody = CustomerIdentity.model_construct()  # bypasses validation to see the API's own answer
    with pytest.raises(InvalidInputError, match="IDENTIFIER_REQUIRED") as caught:
        await rig.client.fetch("basic", nobody)
    assert caught.value.hint == identity_help()


async def test_validity_out_of_bounds_is_invalid_input_naming_the_setting(rig: ClientRig, open_rig: OpenRig) -> None:
    async with open_rig(rig.server, token_validity=100_000) as odd:
        with pytest.raises(InvalidInputError, match="INVALID_VALIDITY") as caught:
            await odd.api.create_token(frozenset({"basic"}))
    assert "CDP_TOKEN_VALIDITY" in caught.value.hint


async def test_daily_limit_is_a_quota_error_with_the_time_it_frees_up(start_sandbox_server: Any,
                                                                      open_rig: OpenRig) -> None:
    server = start_sandbox_server(token_daily_limit=1, **SMALL)
    async with open_rig(server) as rig:
        await rig.api.create_token(frozenset({"basic"}))
        sent = count_requests(rig)
        with pytest.raises(TokenQuotaError) as caught:
            await rig.client.fetch("segments", vip(rig))
    now = server.clock.now()
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    assert caught.value.retry_at == midnight
    assert "CDP_TOKEN_DAILY_LIMIT" in caught.value.hint
    assert (sent["create"], rig.timer.waits) == (1, [])  # a spent quota is never retried


async def test_a_base_url_without_the_context_path_says_so(sandbox_server: Any, tmp_path: Path) -> None:
    wrong = sandbox_server.base_url.removesuffix(sandbox_server.options.context_path)
    settings = settings_for(sandbox_server, tmp_path, b2b_api_url=wrong)
    async with make_http_client(settings, base_url=wrong) as http:
        with pytest.raises(UpstreamResponseError) as caught:
            await TokenApiClient(http, settings).create_token(frozenset({"basic"}))
    assert "context path" in caught.value.hint


@pytest.mark.parametrize("arguments", [
    {"customer_code": "Jos\u00e9"}, {"customer_code": "a\nb"}, {"email": "jos\u00e9@example.com"},
    {"customer_code": "tab\there"},
])
def test_identifiers_a_header_cannot_carry_are_invalid_input(arguments: dict[str, str]) -> None:
    """Refused before any I/O with a clear message, not a UnicodeEncodeError from deep inside httpx2."""
    with pytest.raises(InvalidInputError, match="HTTP header"):
        CustomerIdentity.parse(**arguments)


def test_a_boolean_gcr_id_is_not_customer_one() -> None:
    with pytest.raises(InvalidInputError, match="gcr_id"):
        CustomerIdentity.parse(gcr_id=True)
    assert CustomerIdentity.parse(gcr_id="7").gcr_id == 7  # a digit string is still fine
