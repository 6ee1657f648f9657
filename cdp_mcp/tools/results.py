"""Result models -> `CallToolResult`: structured content is the truth, the text block the same object compact.

Every string on the way out passes the sanitizer for its origin (`untrusted.screen`: customer-written text cleaned,
or left out under CDP_UNTRUSTED=omit, and labelled in `_meta["io.github.cdp-mcp/untrusted"]`), before redaction, so
that nothing hidden between the characters of an email can slip past it. Also the error boundary: a `CdpError`
becomes an `is_error` result carrying its message and hint, sanitized like any string (never an upstream body or a
traceback); anything else is left to the SDK, whose generic crash message hides it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from mcp.types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel

from cdp_mcp.access.narrowing import untrusted_mode
from cdp_mcp.errors import CdpError
from cdp_mcp.sanitizer import clean_text
from cdp_mcp.settings import Settings
from cdp_mcp.tools.outputs import Priced
from cdp_mcp.tools.shaping import REDACTED, redact
from cdp_mcp.tools.untrusted import UNTRUSTED_META, WITHHELD, Mode, Policy, Screened, at_pointer, screen

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend

__all__ = ["Linked", "compact_json", "error_result", "policy_for", "structured", "tool_result", "with_currency"]


@runtime_checkable
class Linked(Protocol):
    """A result that links to resources (a screening's whole result as JSON and CSV)."""

    def resource_links(self) -> list[ResourceLink]: ...


def compact_json(data: object) -> str:
    """JSON without indentation or spaces: what a host pays for when it forwards the text block."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def policy_for(settings: Settings) -> Policy:
    """How this call treats customer-written text: CDP_UNTRUSTED, narrowed by the request, and CDP_MAX_FIELD_CHARS."""
    return Policy(Mode(untrusted_mode(settings.server.untrusted)), settings.server.max_field_chars)


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


def structured(model: BaseModel, *, redact_pii: bool, policy: Policy, backend: Backend | None = None) -> Screened:
    """The JSON object of a result, sanitized: no absent fields, the currency of its amounts (learnt by `backend`
    for the session) said once, customer text cleaned or left out (`withheld` names each value left out and why),
    redacted when the deployment asks for it; with the pointers of the customer-written values it holds."""
    data = model.model_dump(mode="json", exclude_none=True)
    currency = with_currency(model, data, backend.currency if backend is not None else None)
    if backend is not None:
        backend.currency = currency
    result = screen(data, type(model), policy, compact_json(data))
    if redact_pii:
        result.data, result.text = redact(result.data), None
        result.untrusted = [p for p in result.untrusted if at_pointer(result.data, p) != REDACTED]  # ours now
    if result.withheld:
        result.data, result.text = {**result.data, WITHHELD: result.withheld}, None
    return result


def tool_result(model: BaseModel, *, redact_pii: bool, policy: Policy,
                 backend: Backend | None = None) -> CallToolResult:
    """The structured content (sanitized, labelled), its compact text, and any resource links the result offers
    (`resource_links()`)."""
    result = structured(model, redact_pii=redact_pii, policy=policy, backend=backend)
    text = result.text if result.text is not None else compact_json(result.data)
    # `Linked`'s one method looked up directly: a runtime_checkable isinstance costs ~10 µs on every call
    links: list[ResourceLink] = cast(Linked, model).resource_links() if hasattr(model, "resource_links") else []
    return CallToolResult(content=[TextContent(type="text", text=text), *links],
                          structured_content=result.data,
                          meta={UNTRUSTED_META: result.untrusted} if result.untrusted else None)


def error_result(error: CdpError) -> CallToolResult:
    """What happened and what to do next, as one line a model can act on."""
    return CallToolResult(content=[TextContent(type="text", text=clean_text(error.for_model()))], is_error=True)
