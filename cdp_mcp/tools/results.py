"""Result models -> `CallToolResult`: structured content is the truth, the text block the same object compact.

Also the error boundary: a `CdpError` becomes an `is_error` result carrying its message and hint (never an
upstream body or a traceback); anything else is left to the SDK, whose generic crash message hides it.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from cdp_mcp.errors import CdpError
from cdp_mcp.tools.shaping import redact

__all__ = ["compact_json", "error_result", "structured", "tool_result"]


def compact_json(data: Any) -> str:
    """JSON without indentation or spaces: what a host pays for when it forwards the text block."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def structured(model: BaseModel, *, redact_pii: bool) -> dict[str, Any]:
    """The JSON object of a result, without absent fields, redacted when the deployment asks for it."""
    data = model.model_dump(mode="json", exclude_none=True)
    return redact(data) if redact_pii else data


def tool_result(model: BaseModel, *, redact_pii: bool) -> CallToolResult:
    data = structured(model, redact_pii=redact_pii)
    return CallToolResult(content=[TextContent(type="text", text=compact_json(data))], structured_content=data)


def error_result(error: CdpError) -> CallToolResult:
    """What happened and what to do next, as one line a model can act on."""
    return CallToolResult(content=[TextContent(type="text", text=error.for_model())], is_error=True)
