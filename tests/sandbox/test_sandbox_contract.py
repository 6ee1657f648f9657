"""The contract table, walked against a live sandbox: every error code, and the published OpenAPI document.

Each `ErrorCode` of `contract.py` is provoked over loopback HTTP and must come back with the status of
`ERROR_STATUS`, the error envelope, a message, no credential, and a status that the OpenAPI document declares
for that operation. The OpenAPI document itself is checked structurally (every served route, unique operation
ids, resolvable references, JSON Schema 2020-12 schemas) and live responses are validated against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import httpx2
import jsonschema  # comes with mcp, a runtime dependency (not declared separately)
import pytest
from pydantic import BaseModel

from cdp_mcp import wire
from cdp_mcp.catalog import RESOURCES, TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Header, resource
from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox import SandboxOptions, contract, views
from cdp_mcp.sandbox.contract import ERROR_STATUS, ErrorCode
from cdp_mcp.sandbox.openapi import OPENAPI_PATH
from cdp_mcp.sandbox.resources import VIEWS
from cdp_mcp.sandbox.server import SandboxThread

if TYPE_CHECKING:
    from tests.sandbox.conftest import Api

pytestmark = pytest.mark.anyio

SECRET = "0123456789abcdef"
LIMIT = 6


class Walk:
    """Plain HTTP against a private sandbox with OAuth on: the calls the error cases are made of."""

    def __init__(self, server: SandboxThread, client: httpx2.AsyncClient) -> None:
        self.server, self.client = server, client
        self.openapi: dict[str, Any] = {}
        self.credentials = {Header.TENANT_HASH: server.tenant_hash, Header.OAUTH_KEY_SECRET: SECRET}

    async def create(self, body: Any = None, headers: dict[str, str] | None = None) -> httpx2.Response:
        return await self.client.post(TOKEN_CREATE_PATH, json=body, headers=self.credentials if headers is None
                                      else headers)

    async def token(self, *names: str, validity: int = 60) -> str:
        response = await self.create({"resource": list(names or [r.name for r in RESOURCES]), "validity": validity})
        assert response.status_code == 200, response.text
        return response.json()["data"]["token"]

    async def call(self, name: str, *, token: str | None, ids: dict[str, str] | None = None, query: str | None = None,
                   **kwargs: Any) -> httpx2.Response:
        r = resource(name)
        headers = {Header.TENANT_HASH: self.server.tenant_hash, **(ids or {})}
        if token is not None:
            headers[Header.ACCESS_TOKEN] = token
        params = {r.query_param: query} if r.query_param and query is not None else None
        return await self.client.post(r.route, headers=headers, params=params, **kwargs)


VIP = {"gcrId": "1"}
Case = Callable[[Walk], Awaitable[tuple[str, httpx2.Response]]]


async def _bad_request(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("campaigns").route, await w.call("campaigns", token=await w.token(), ids=VIP, content=b"{oops")


async def _tenant_required(w: Walk) -> tuple[str, httpx2.Response]:
    return TOKEN_CREATE_PATH, await w.create({"resource": ["basic"]}, headers={})


async def _tenant_unknown(w: Walk) -> tuple[str, httpx2.Response]:
    return TOKEN_CREATE_PATH, await w.create({"resource": ["basic"]}, headers={Header.TENANT_HASH: "f" * 32,
                                                                              Header.OAUTH_KEY_SECRET: SECRET})


async def _oauth_secret_invalid(w: Walk) -> tuple[str, httpx2.Response]:
    missing_secret = {Header.TENANT_HASH: w.server.tenant_hash}
    return TOKEN_CREATE_PATH, await w.create({"resource": ["basic"]}, headers=missing_secret)


async def _token_required(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("basic").route, await w.call("basic", token=None, ids=VIP)


async def _token_invalid(w: Walk) -> tuple[str, httpx2.Response]:
    return TOKEN_UPDATE_PATH, await w.client.post(TOKEN_UPDATE_PATH, headers=w.credentials, json={"token": "forged"})


async def _token_expired(w: Walk) -> tuple[str, httpx2.Response]:
    token = await w.token("basic", validity=1)
    assert isinstance(w.server.clock, ManualClock)
    w.server.clock.advance(minutes=1)
    return resource("basic").route, await w.call("basic", token=token, ids=VIP)


async def _scope_missing(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("segments").route, await w.call("segments", token=await w.token("basic"), ids=VIP)


async def _unknown_resource(w: Walk) -> tuple[str, httpx2.Response]:
    return TOKEN_CREATE_PATH, await w.create({"resource": ["basic", "noSuchResource"]})


async def _invalid_validity(w: Walk) -> tuple[str, httpx2.Response]:
    return TOKEN_CREATE_PATH, await w.create({"resource": ["basic"], "validity": 0})


async def _token_limit_reached(w: Walk) -> tuple[str, httpx2.Response]:
    for _ in range(LIMIT + 1):
        response = await w.create({"resource": ["basic"]})
        if response.status_code != 200:
            break
    return TOKEN_CREATE_PATH, response


async def _identifier_required(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("basic").route, await w.call("basic", token=await w.token())


async def _identifier_invalid(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("basic").route, await w.call("basic", token=await w.token(), ids={"gcrId": "abc"})


async def _customer_not_found(w: Walk) -> tuple[str, httpx2.Response]:
    ids = {"email_address": "nobody@nowhere.example"}
    return resource("basic").route, await w.call("basic", token=await w.token(), ids=ids)


async def _multiple_customers(w: Walk) -> tuple[str, httpx2.Response]:
    ids = {"email_address": str(w.server.sample("ambiguous").email)}
    return resource("basic").route, await w.call("basic", token=await w.token(), ids=ids)


async def _identifiers_conflict(w: Walk) -> tuple[str, httpx2.Response]:
    vip, regular = w.server.sample("vip"), w.server.sample("regular")
    ids = {"gcrId": str(vip.gcr_id), "email_address": str(regular.email)}
    return resource("basic").route, await w.call("basic", token=await w.token(), ids=ids)


async def _query_required(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("searchSegments").route, await w.call("searchSegments", token=await w.token(), ids=VIP)


async def _invalid_paging(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("campaigns").route, await w.call("campaigns", token=await w.token(), ids=VIP, json={"page": 0})


async def _internal_error(w: Walk) -> tuple[str, httpx2.Response]:
    return resource("basic").route, await w.call("basic", token=await w.token(), ids=VIP)


CASES: dict[ErrorCode, Case] = {
    ErrorCode.BAD_REQUEST: _bad_request, ErrorCode.TENANT_REQUIRED: _tenant_required,
    ErrorCode.TENANT_UNKNOWN: _tenant_unknown, ErrorCode.OAUTH_SECRET_INVALID: _oauth_secret_invalid,
    ErrorCode.TOKEN_REQUIRED: _token_required, ErrorCode.TOKEN_INVALID: _token_invalid,
    ErrorCode.TOKEN_EXPIRED: _token_expired, ErrorCode.SCOPE_MISSING: _scope_missing,
    ErrorCode.UNKNOWN_RESOURCE: _unknown_resource, ErrorCode.INVALID_VALIDITY: _invalid_validity,
    ErrorCode.TOKEN_LIMIT_REACHED: _token_limit_reached, ErrorCode.IDENTIFIER_REQUIRED: _identifier_required,
    ErrorCode.IDENTIFIER_INVALID: _identifier_invalid, ErrorCode.CUSTOMER_NOT_FOUND: _customer_not_found,
    ErrorCode.MULTIPLE_CUSTOMERS: _multiple_customers, ErrorCode.IDENTIFIERS_CONFLICT: _identifiers_conflict,
    ErrorCode.QUERY_REQUIRED: _query_required,
    ErrorCode.INVALID_PAGING: _invalid_paging, ErrorCode.INTERNAL_ERROR: _internal_error,
}


@pytest.fixture(scope="module")
def walk_server() -> Iterator[SandboxThread]:
    """One small tenant with OAuth on and a low daily limit, for every case (reset before each)."""
    options = SandboxOptions(customers=contract.MIN_CUSTOMERS, oauth_key_secret=SECRET, token_daily_limit=LIMIT)
    server = SandboxThread(options, clock=ManualClock()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def walk(walk_server: SandboxThread) -> AsyncIterator[Walk]:
    server = walk_server
    server.reset()
    async with httpx2.AsyncClient(base_url=server.base_url, timeout=30) as client:
        walk = Walk(server, client)
        walk.openapi = (await client.get(OPENAPI_PATH)).json()
        yield walk


def test_every_error_code_has_a_live_case() -> None:
    assert set(CASES) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode))
async def test_error_case_answers_its_contract_status_and_code(walk: Walk, code: ErrorCode,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if code is ErrorCode.INTERNAL_ERROR:
        def broken(request: views.ViewRequest) -> Any:
            raise RuntimeError("a bug")

        monkeypatch.setitem(VIEWS, "basic", broken)
    path, response = await CASES[code](walk)

    assert response.status_code == ERROR_STATUS[code], response.text
    body = response.json()
    assert set(body) == {"status", "message", "errorCode", "data"}
    assert (body["status"], body["errorCode"]) == ("ERROR", code.value) and body["message"].strip()
    for secret in (SECRET, walk.server.tenant_hash):
        assert secret not in response.text
    declared = walk.openapi["paths"][path]["post"]["responses"][str(response.status_code)]
    assert code.value in declared["description"]  # the published document lists this code for this operation
    _validate(walk.openapi, declared["content"]["application/json"]["schema"], body)


# --- the OpenAPI document ------------------------------------------------------------------------------------------

def _validate(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Validate `instance` against a schema of the document, its `#/components/...` references resolved."""
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [schema],
            "components": doc["components"]}
    jsonschema.Draft202012Validator(root).validate(instance)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_openapi_document_is_structurally_valid_3_1(api: Api) -> None:
    doc = (await api.client.get(OPENAPI_PATH)).json()
    assert doc["openapi"].startswith("3.1.") and doc["info"]["title"] and doc["info"]["version"]
    served = {route.path.removeprefix(api.server.options.context_path): route.methods
              for route in api.server.sandbox.app.routes if not route.path.endswith(OPENAPI_PATH)}
    assert set(doc["paths"]) == set(served)  # every served route is described, nothing else
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/") and set(item) == {m.lower() for m in served[path]} - {"head"}
        operation = item["post"]
        operation_ids.append(operation["operationId"])
        assert "200" in operation["responses"]
        for status, answer in operation["responses"].items():
            assert status.isdecimal() and answer["description"]
            if status != "200":  # "errorCode: A, B": each listed code has this status in the contract table
                codes = answer["description"].removeprefix("errorCode: ").split(", ")
                assert all(ERROR_STATUS[ErrorCode(c)] == int(status) for c in codes)
        for parameter in operation.get("parameters", []):
            assert parameter["in"] in {"query", "header"} and parameter["name"] and "schema" in parameter
    assert len(operation_ids) == len(set(operation_ids))
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # KeyError: a dangling reference
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


async def test_live_responses_validate_against_the_published_document(api: Api, token: str) -> None:
    doc = (await api.client.get(OPENAPI_PATH)).json()
    queries = {"segmentName": "a", "campaignName": "a", "segmentId": "101"}
    for sample in (s for s in api.server.samples if s.gcr_id is not None):
        for r in RESOURCES:
            ids = api.ids(sample, "gcr_id")  # headers for every resource, the gcr lookup included
            response = await api.call(r.name, token, ids, query=queries.get(r.query_param or ""))
            assert response.status_code == 200, (sample.label, r.name, response.text)
            schema = doc["paths"][r.route]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
            _validate(doc, schema, response.json())
            if isinstance(response.json(), dict) and isinstance(response.json()["data"], dict):
                with pytest.raises(jsonschema.ValidationError):  # the references really resolve and bind
                    _validate(doc, schema, {**response.json(), "data": {**response.json()["data"], "extra": 1}})
    created = await api.create(["basic"])
    schema = doc["paths"][TOKEN_CREATE_PATH]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    _validate(doc, schema, created.json())


def test_contract_document_states_the_tables_numbers() -> None:
    """CONTRACT.md's defaults and bounds are the ones contract.py (and so the sandbox) uses."""
    document = " ".join((Path(contract.__file__).parent / "CONTRACT.md").read_text().split())
    stated = [
        f"{contract.TOKEN_LENGTH} random URL-safe characters",
        f"1..{contract.MAX_VALIDITY} (in the unit",
        f"default {contract.DEFAULT_VALIDITY} on create",
        f"`pageSize` (default {contract.PAGE_DEFAULT_PAGE_SIZE}), 1..{contract.MAX_PAGE_SIZE}",
        f"`lastKey` style: `pageSize` (default {contract.LAST_KEY_DEFAULT_PAGE_SIZE})",
        f"how many charts (default {contract.AFFINITY_DEFAULT_PAGE_SIZE})",
        f"pointer style (userAttributes): `pageSize` (default {contract.ATTRIBUTES_DEFAULT_PAGE_SIZE})",
        f"page outside 1..{contract.MAX_PAGE}",
        f"at least {contract.MIN_CUSTOMERS})",
        f"Currency symbol `{contract.CURRENCY}`",
    ]
    assert [phrase for phrase in stated if phrase not in document] == []


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """`model` and the models of its items, depth first."""
    found = [model]
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            kind = stack.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                found += _models(kind)
            stack.extend(get_args(kind))
    return list(dict.fromkeys(found))


def test_contract_document_names_every_chosen_field_of_its_resource() -> None:
    """Where the docs are open, CONTRACT.md says what the sandbox chose: each *chosen* field in its resource's row,
    and no documented field called a choice (the fields are generated from wire.py; the notes are written by hand)."""
    document = (Path(contract.__file__).parent / "CONTRACT.md").read_text()
    section = document[document.index("## Resource data"):document.index("## Paging")]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| ") and " | " in line[2:]:
            names, text = line[2:].split(" | ", 1)
            rows[names.split(" (")[0]] = text
    for r in RESOURCES:
        own = rows[r.name]
        for model in _models(wire.wire_model(r)):
            for name, marker in wire.fields(model).items():
                if not marker.documented:
                    assert f"*`{name}`*" in own, (r.name, name)
                elif model is wire.wire_model(r):
                    assert f"*`{name}`*" not in own, (r.name, name)  # a documented field is not called a choice
