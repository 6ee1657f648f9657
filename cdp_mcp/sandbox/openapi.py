"""An OpenAPI 3.1 description of the emulated API, derived from the catalog and the contract table."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from cdp_mcp.catalog import (
    IDENTIFIERS,
    RESOURCES,
    TOKEN_CREATE_PATH,
    TOKEN_UPDATE_PATH,
    Header,
    Paging,
    PagingKey,
    Resource,
    Scope,
)
from cdp_mcp.sandbox.contract import ERROR_STATUS, MAX_PAGE, MAX_PAGE_SIZE, MAX_VALIDITY, ErrorCode
from cdp_mcp.sandbox.options import SandboxOptions
from cdp_mcp.wire import response_schema, wire_model

__all__ = ["OPENAPI_PATH", "ErrorEnvelope", "TokenData", "TokenRequest", "TokenUpdateRequest", "build_openapi"]

OPENAPI_PATH = "/openapi.json"


class TokenRequest(BaseModel):
    resource: list[Scope] = Field(description="Resource names the token grants (`resources` is accepted too)")
    validity: int | None = Field(None, ge=1, le=MAX_VALIDITY, description="Validity in the tenant's unit")


class TokenUpdateRequest(BaseModel):
    token: str = Field(description="The live token to extend or re-scope")
    resource: list[Scope] | None = Field(None, description="New resource set; omitted: keep the current set")
    validity: int | None = Field(None, ge=1, le=MAX_VALIDITY, description="Omitted: the token's own validity")


class TokenData(BaseModel):
    token: str
    validity: int
    validityUnit: str  # noqa: N815 - wire name
    resources: list[str]
    expiresAt: str  # noqa: N815


class ErrorEnvelope(BaseModel):
    status: str = Field(description='"ERROR"')
    message: str
    errorCode: ErrorCode  # noqa: N815
    data: Any = None


def _header(name: str, description: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description,
            "schema": {"type": "string"}}


def _errors(*codes: ErrorCode) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_STATUS[code], []).append(str(code))
    responses: dict[str, Any] = {
        str(status): {"description": "errorCode: " + ", ".join(names),
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
        for status, names in sorted(by_status.items())}
    if ErrorCode.TOKEN_LIMIT_REACHED in codes:
        responses[str(ERROR_STATUS[ErrorCode.TOKEN_LIMIT_REACHED])]["headers"] = {"Retry-After": {
            "description": "seconds until the daily creation limit resets", "schema": {"type": "integer"}}}
    return responses


_PAGE = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
_PAGE_SIZE = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
_LAST_KEY = {"type": ["object", "null"], "description": "data.lastKey of the previous page (wins over page)"}
_PAGING_BODY: dict[Paging, dict[str, Any]] = {
    Paging.PAGE: {PagingKey.PAGE: _PAGE, PagingKey.PAGE_SIZE: _PAGE_SIZE},
    Paging.LAST_KEY: {PagingKey.LAST_KEY: _LAST_KEY, PagingKey.PAGE: _PAGE, PagingKey.PAGE_SIZE: _PAGE_SIZE},
    Paging.PAGE_SIZE: {PagingKey.PAGE_SIZE: _PAGE_SIZE},
    Paging.POINTER: {PagingKey.LAST_KEY: _LAST_KEY, PagingKey.PAGE_SIZE: _PAGE_SIZE},
}
_COMMON_ERRORS = (ErrorCode.BAD_REQUEST, ErrorCode.TENANT_REQUIRED, ErrorCode.TENANT_UNKNOWN, ErrorCode.TOKEN_REQUIRED,
                  ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED, ErrorCode.SCOPE_MISSING,
                  ErrorCode.IDENTIFIER_REQUIRED, ErrorCode.IDENTIFIER_INVALID, ErrorCode.MULTIPLE_CUSTOMERS,
                  ErrorCode.IDENTIFIERS_CONFLICT, ErrorCode.INTERNAL_ERROR)


def _profile_operation(r: Resource) -> dict[str, Any]:
    params = [_header(Header.ACCESS_TOKEN, "token naming this resource", True),
              _header(Header.TENANT_HASH, "tenant hash", True)]
    params += [_header(i.header, i.description, False) for i in IDENTIFIERS]
    if r.query_param:
        params.append({"name": r.query_param, "in": "query", "required": True, "schema": {"type": "string"}})
    body_props: dict[str, Any] = dict(_PAGING_BODY.get(r.paging, {}))
    if r.identity_in_body:
        body_props = {i.header: {"type": "string", "description": i.description} for i in IDENTIFIERS
                      if i.in_gcr_body}
    codes = list(_COMMON_ERRORS)
    if not r.identity_in_body:
        codes.append(ErrorCode.CUSTOMER_NOT_FOUND)
    if r.query_param:
        codes.append(ErrorCode.QUERY_REQUIRED)
    if r.paging is not Paging.NONE:
        codes.append(ErrorCode.INVALID_PAGING)
    ok = response_schema(r, {"$ref": f"#/components/schemas/{wire_model(r).__name__}"})
    op: dict[str, Any] = {
        "operationId": r.name, "summary": r.purpose, "tags": ["profile"], "parameters": params,
        "security": [{"accessToken": [r.name]}],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}, **_errors(*codes)},
    }
    if body_props:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": body_props}}}}
    return {"post": op}


def _token_operation(op_id: str, model: type[BaseModel], summary: str) -> dict[str, Any]:
    codes = [ErrorCode.BAD_REQUEST, ErrorCode.TENANT_REQUIRED, ErrorCode.TENANT_UNKNOWN, ErrorCode.OAUTH_SECRET_INVALID,
             ErrorCode.UNKNOWN_RESOURCE, ErrorCode.INVALID_VALIDITY, ErrorCode.INTERNAL_ERROR]
    codes += [ErrorCode.TOKEN_LIMIT_REACHED] if op_id == "createToken" else [
        ErrorCode.TOKEN_REQUIRED, ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_EXPIRED]
    return {"post": {
        "operationId": op_id, "summary": summary, "tags": ["token"],
        "parameters": [_header(Header.TENANT_HASH, "tenant hash", True),
                       _header(Header.OAUTH_KEY_SECRET, "required when the tenant has OAuth enabled", False)],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": f"#/components/schemas/{model.__name__}"}}}},
        "responses": {"200": {"description": "the token", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"status": {"const": "OK"}, "message": {"type": "string"},
                                             "data": {"$ref": "#/components/schemas/TokenData"}}}}}},
                      **_errors(*codes)},
    }}


def build_openapi(options: SandboxOptions) -> dict[str, Any]:
    """The document served at `{context path}/openapi.json`."""
    models: list[type[BaseModel]] = [TokenRequest, TokenUpdateRequest, TokenData, ErrorEnvelope]
    models += [wire_model(r) for r in RESOURCES]
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = top.get("$defs", {})
    paths = {TOKEN_CREATE_PATH: _token_operation("createToken", TokenRequest, "create a scoped access token"),
             TOKEN_UPDATE_PATH: _token_operation("updateToken", TokenUpdateRequest,
                                                 "extend and/or re-scope a live token (same token string)")}
    paths.update({r.route: _profile_operation(r) for r in RESOURCES})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Customer Profile B2B API (cdp-mcp sandbox)", "version": "1.0.0",
                 "description": "Emulated by cdp-mcp; see cdp_mcp/sandbox/CONTRACT.md for choices the vendor leaves "
                                "open."},
        "servers": [{"url": options.context_path or "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "accessToken": {"type": "apiKey", "in": "header", "name": str(Header.ACCESS_TOKEN)}}},
    }
