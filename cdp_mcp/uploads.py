"""`POST /audiences`: an audience uploaded over HTTP, kept for the uploader as an `audience_id` for screen_audience.

The body is the export itself, CSV or JSON lines (`Content-Type: text/csv` or `application/x-ndjson`, or a type
tools give a .csv file; another type, such as a JSON document or a form upload, is refused with 415; `?name=`
names the file for messages and format detection). It is read up to `jobs.formats.MAX_BYTES` (more: 413) within
`UPLOAD_SECONDS` (else 408: the HTTP transport's `http_limits.RequestLimits`, as for `/mcp`) and
parsed like an `audience_file` (bad rows rejected by line, duplicates once, CDP_AUDIENCE_MAX rows at most).
The answer is `{audience_id, rows, rejected: [the first 20, with line and reason], rejected_total, duplicates,
expires_at}`. The same sign-in as `/mcp` guards it (bearer token, or OAuth with scopes reaching the screening's
resources); the upload belongs to the uploader, is audited, and expires after CDP_SCREEN_TTL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cdp_mcp.access.caller import current_caller, missing_scopes_error
from cdp_mcp.errors import AuditUnavailableError, CdpError, ScreeningStateError
from cdp_mcp.jobs.formats import CSV_TYPES, JSON_LINES_TYPES, MAX_BYTES
from cdp_mcp.jobs.model import now
from cdp_mcp.tools.audience import AUDIENCE_RESOURCES

if TYPE_CHECKING:
    from cdp_mcp.access.audit import AuditTrail
    from cdp_mcp.jobs.service import Screenings
    from cdp_mcp.settings import Settings

__all__ = ["MAX_UPLOAD_BYTES", "UPLOAD_SECONDS", "audience_upload"]

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = MAX_BYTES
"""The largest body `POST /audiences` takes (the HTTP transport refuses more with 413 before reading it)."""
UPLOAD_SECONDS = 300.0
"""How long an upload's body may take to arrive (the largest at about 220 KB/s); then 408."""


def _refusal(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _body(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_BYTES (read no further)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _name(request: Request) -> str:
    given = request.query_params.get("name", "").strip()
    if given:
        return given[:255]
    return "upload.jsonl" if _media_type(request) in JSON_LINES_TYPES else "upload.csv"


def audience_upload(settings: Settings, screenings: Callable[[], Screenings | None],
                    audit: AuditTrail) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint, for the screenings of the server's running lifespan (`screenings()`)."""

    async def upload(request: Request) -> Response:
        current = screenings()
        if current is None:
            return _refusal(503, "temporarily_unavailable", "The server is starting or stopping; retry.")
        caller = current_caller(settings, request)
        allowed = caller.resources()
        if allowed is not None and not set(AUDIENCE_RESOURCES) <= allowed:
            refused = missing_scopes_error(settings, "audience screening", set(AUDIENCE_RESOURCES) - allowed)
            return _refusal(403, "insufficient_scope", refused.for_model())
        kind = _media_type(request)
        if kind and kind not in CSV_TYPES and kind not in JSON_LINES_TYPES:
            return _refusal(415, "unsupported_media_type",
                            f"An audience is uploaded as the export file itself, not as {kind}: send it with "
                            f"Content-Type: {CSV_TYPES[0]} (CSV with a header row) or {JSON_LINES_TYPES[0]} (JSON "
                            "lines, one object per line), e.g. `cdp-mcp audience upload FILE --url URL`.")
        data = await _body(request)
        if data is None:
            return _refusal(413, "too_large", f"Audiences are uploaded up to {MAX_BYTES // 1024 // 1024} MB; split "
                                              "the export into smaller files.")
        try:
            record = await current.upload(caller, data, _name(request))
        except ScreeningStateError as exc:
            return _refusal(503, "temporarily_unavailable", exc.for_model())
        except CdpError as exc:
            return _refusal(400, "invalid_audience", exc.for_model())
        if audit.enabled:
            try:
                audit.write(_line(caller.principal, caller.client_id, record.id, record.rows, request))
            except AuditUnavailableError as exc:  # the audience stays unnamed, so unusable, and expires
                return _refusal(503, "temporarily_unavailable", exc.for_model())
        body = {"audience_id": record.id, "rows": record.rows,
                "rejected": [r.model_dump() for r in record.rejections], "rejected_total": record.rejected,
                "duplicates": record.duplicates, "expires_at": record.expires_at.isoformat()}
        return JSONResponse(body, status_code=201)

    return upload


def _line(principal: str, client_id: str | None, audience_id: str, rows: int, request: Request) -> dict[str, Any]:
    return {"time": now().isoformat(timespec="milliseconds").replace("+00:00", "Z"), "principal": principal,
            "client_id": client_id, "tool": "audience_upload", "audience_id": audience_id, "rows": rows,
            "outcome": "ok", "transport": "http", "bytes": int(request.headers.get("content-length") or 0)}
