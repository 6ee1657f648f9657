"""Result models -> `CallToolResult`: structured content is the truth, the text block the same object compact.

Also the error boundary: a `CdpError` becomes an `is_error` result carrying its message and hint (never an
upstream body or a traceback); anything else is left to the SDK, whose generic crash message hides it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mcp.types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel

from cdp_mcp.errors import CdpError
from cdp_mcp.tools.outputs import Priced
from cdp_mcp.tools.shaping import redact

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend

__all__ = ["Linked", "compact_json", "error_result", "structured", "tool_result", "with_currency"]


@runtime_checkable
class Linked(Protocol):
    """A result that links to resources (a screening's whole result as JSON and CSV)."""

    def resource_links(self) -> list[ResourceLink]: ...


def compact_json(data: object) -> str:
    """JSON without indentation or spaces: what a host pays for when it forwards the text block."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def with_currency(model: BaseModel, data: dict[str, Any], known: str | None) -> str | None:
    """Name the currency of a result's amounts once, right after gcr_id (in place); return the one now known.

    The API formats some money with a symbol (profile totals, trends) and gives prices and order values as
    bare numbers; a tenant has one currency, so a bare amount is in the currency stated elsewhere: the one
    this response stated, else the one the session learnt (`known`). Results without amounts say none.
    """
    if not isinstance(model, Priced):
        return known
    currency = data.pop("currency", None) or known
    if currency is not None and model.has_amounts():
        fields = list(data.items())
        at = 1 if fields and fields[0][0] == "gcr_id" else 0
        data.clear()
        data.update([*fields[:at], ("currency", currency), *fields[at:]])
    return currency


def structured(model: BaseModel, *, redact_pii: bool, backend: Backend | None = None) -> dict[str, Any]:
    """The JSON object of a result: no absent fields, the currency of its amounts (learnt by `backend` for
    the session) said once, redacted when the deployment asks for it."""
    data = model.model_dump(mode="json", exclude_none=True)
    currency = with_currency(model, data, backend.currency if backend is not None else None)
    if backend is not None:
        backend.currency = currency
    return redact(data) if redact_pii else data


def tool_result(model: BaseModel, *, redact_pii: bool, backend: Backend | None = None) -> CallToolResult:
    """The structured content, its compact text, and any resource links the result offers (`resource_links()`)."""
    data = structured(model, redact_pii=redact_pii, backend=backend)
    links: list[ResourceLink] = model.resource_links() if isinstance(model, Linked) else []
    return CallToolResult(content=[TextContent(type="text", text=compact_json(data)), *links],
                          structured_content=data)


def error_result(error: CdpError) -> CallToolResult:
    """What happened and what to do next, as one line a model can act on."""
    return CallToolResult(content=[TextContent(type="text", text=error.for_model())], is_error=True)
