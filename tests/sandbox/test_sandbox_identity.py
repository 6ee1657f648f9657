"""Identity resolution: every identifier, their combinations, and the refusals when they do not name one customer."""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import pytest

from cdp_mcp.catalog import IDENTIFIERS, Header, resource

if TYPE_CHECKING:
    from tests.sandbox.conftest import Api

pytestmark = pytest.mark.anyio

_ARGUMENTS = [i.argument for i in IDENTIFIERS]
_COMBINATIONS = [c for n in range(1, len(_ARGUMENTS) + 1) for c in combinations(_ARGUMENTS, n)]


def resolved(data: dict) -> int:
    """The customer a basic answer is about: the sandbox's customerId is the gcrId as a string (CONTRACT.md)."""
    return int(data["customerId"])


async def _error(api: Api, token: str, headers: dict[str, str], status: int, code: str) -> dict:
    response = await api.call("basic", token, headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["status"], body["errorCode"]) == ("ERROR", code)
    assert body["message"]
    return body


@pytest.mark.parametrize("arguments", _COMBINATIONS, ids="+".join)
async def test_any_combination_of_one_customers_identifiers_resolves(api: Api, token: str, arguments) -> None:
    sample = api.server.sample("vip")
    data = await api.data("basic", token, api.ids(sample, *arguments))
    assert resolved(data) == sample.gcr_id


async def test_email_is_case_insensitive_and_mobile_ignores_punctuation(api: Api, token: str) -> None:
    sample = api.server.sample("regular")
    assert sample.email and sample.mobile
    m = sample.mobile
    headers = {"email_address": sample.email.upper(), "mobile_number": f"({m[:3]}) {m[3:6]}-{m[6:]}"}
    assert resolved(await api.data("basic", token, headers)) == sample.gcr_id


async def test_customer_without_email_resolves_by_other_identifiers(api: Api, token: str) -> None:
    sample = api.server.sample("no_email")
    assert sample.email is None
    data = await api.data("basic", token, api.ids(sample, "mobile"))
    assert resolved(data) == sample.gcr_id


async def test_household_email_is_ambiguous_until_narrowed(api: Api, token: str) -> None:
    ambiguous = api.server.sample("ambiguous")
    body = await _error(api, token, api.ids(ambiguous, "email"), 409, "MULTIPLE_CUSTOMERS")
    assert body["data"] == {"matches": 2}
    member = api.server.sample("household_2")
    assert member.email == ambiguous.email
    for extra in ("gcr_id", "mobile", "customer_code"):
        data = await api.data("basic", token, api.ids(member, "email", extra))
        assert resolved(data) == member.gcr_id


async def test_shared_mobile_is_ambiguous(api: Api, token: str) -> None:
    first, second = api.server.sample("shared_mobile_1"), api.server.sample("shared_mobile_2")
    assert first.mobile == second.mobile
    await _error(api, token, api.ids(first, "mobile"), 409, "MULTIPLE_CUSTOMERS")
    assert resolved(await api.data("basic", token, api.ids(second, "mobile", "email"))) == second.gcr_id


async def test_identifiers_of_two_different_customers_are_refused(api: Api, token: str) -> None:
    vip, regular = api.server.sample("vip"), api.server.sample("regular")
    headers = {**api.ids(vip, "email"), **api.ids(regular, "mobile")}
    body = await _error(api, token, headers, 409, "IDENTIFIERS_CONFLICT")
    assert body["data"]["matches"] == 2


async def test_unknown_identifiers_are_not_found(api: Api, token: str) -> None:
    vip = api.server.sample("vip")
    await _error(api, token, {"email_address": "nobody@nowhere.example"}, 404, "CUSTOMER_NOT_FOUND")
    await _error(api, token, {"gcrId": str(api.server.options.customers + 1)}, 404, "CUSTOMER_NOT_FOUND")
    # one identifier that matches nobody spoils the set, even next to a good one
    headers = {**api.ids(vip, "email"), "customer_code_external": "no-such-code"}
    body = await _error(api, token, headers, 404, "CUSTOMER_NOT_FOUND")
    assert body["data"] == {"identifier": "customer_code_external"}


async def test_missing_or_malformed_identifiers_are_bad_requests(api: Api, token: str) -> None:
    await _error(api, token, {}, 400, "IDENTIFIER_REQUIRED")
    await _error(api, token, {"email_address": ""}, 400, "IDENTIFIER_REQUIRED")
    for bad in ("abc", "0", "-3", "1.5"):
        await _error(api, token, {"gcrId": bad}, 400, "IDENTIFIER_INVALID")


@pytest.mark.parametrize(("value", "status", "code"), [
    ("99999999999999999999999", 404, "CUSTOMER_NOT_FOUND"),  # a well-formed id beyond any record (and int64)
    ("\u00b2", 400, "IDENTIFIER_INVALID"),  # byte 0xB2 (headers are latin-1): str.isdigit() yes, int() no
])
async def test_odd_gcr_ids_are_refused_cleanly(api: Api, token: str, value: str, status: int, code: str) -> None:
    raw = [(Header.TENANT_HASH, api.server.tenant_hash), (Header.ACCESS_TOKEN, token), (IDENTIFIERS[0].header, value)]
    response = await api.client.post(resource("basic").route,
                                     headers=[(k.encode(), v.encode("latin-1")) for k, v in raw])
    assert (response.status_code, response.json()["errorCode"]) == (status, code), response.text


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"customer_code_external": 10**25}, 200, None),  # no such record: "Not available", like any other miss
    ({"email_address": ["a@example.com"]}, 400, "IDENTIFIER_INVALID"),
    ({"mobile_number": {"number": "5550100001"}}, 400, "IDENTIFIER_INVALID"),
    ({"mobile_number": True}, 400, "IDENTIFIER_INVALID"),
    ({"gcrId": "1"}, 400, "IDENTIFIER_REQUIRED"),  # not a documented body key: ignored like any unknown key
])
async def test_gcr_body_identifiers_of_the_wrong_type(api: Api, token: str, body: dict, status: int, code) -> None:
    response = await api.call("gcrId", token, body=body)
    assert response.status_code == status, response.text
    if code is None:
        assert response.json()["data"] == [{"status": "Not available", "gcrId": -1}]
    else:
        assert response.json()["errorCode"] == code


async def test_gcr_reads_the_identifier_headers_and_the_documented_body_keys_together(api: Api, token: str) -> None:
    vip, regular = api.server.sample("vip"), api.server.sample("regular")
    for headers, body in ((api.ids(vip, "email"), None), (None, api.ids(vip, "mobile")),
                          (api.ids(vip, "gcr_id"), api.ids(vip, "customer_code"))):
        response = await api.call("gcrId", token, headers, body=body)
        assert response.json()["data"] == [{"status": "Available", "gcrId": vip.gcr_id}], response.text
    mixed = await api.call("gcrId", token, api.ids(vip, "email"), body=api.ids(regular, "mobile"))
    assert (mixed.status_code, mixed.json()["errorCode"]) == (409, "IDENTIFIERS_CONFLICT")
