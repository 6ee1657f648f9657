"""Customer-written text in results: sanitized (or left out) and labelled, by the origin of each field.

`screen(data, model, policy)` walks a finished result's JSON with its model's plan (`origins.plan`): every string
passes the sanitizer's rules for its origin (`sanitizer.py`), every key the rules for every string; under
`CDP_UNTRUSTED=omit` (or a request's `X-CDP-Untrusted: omit`) customer-written text is left out instead. It returns
the JSON pointers of the customer-written strings kept (published as `_meta["io.github.cdp-mcp/untrusted"]`) and
what it left out, with why (published in the result as `left_out`, so the model knows the gap is deliberate).

`ResourceLabels` does for `resources/read` what `tool_result` does for a tool: the overview resource notes its
pointers while it runs (`note_untrusted`), and the middleware puts them on the content it returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import BaseModel

from cdp_mcp.sanitizer import DEFAULT_MAX_FIELD_CHARS, LeftOut, clean_customer_text, clean_text, clean_url
from cdp_mcp.tools.origins import Each, Fields, Further, Node, Text, plan
from cdp_mcp.wire import CUSTOMER

__all__ = [
    "LEFT_OUT",
    "OMITTED",
    "UNTRUSTED_META",
    "VENDOR_PREFIX",
    "Mode",
    "Policy",
    "ResourceLabels",
    "Screened",
    "at_pointer",
    "has_customer_text",
    "note_untrusted",
    "screen",
]

VENDOR_PREFIX = "io.github.cdp-mcp"
"""The project's namespace (its MCP registry name is `io.github.cdp-mcp/cdp-mcp`): the prefix of its `_meta` keys."""
UNTRUSTED_META = f"{VENDOR_PREFIX}/untrusted"
"""The `_meta` key listing the JSON pointers of a result's customer-written values."""
LEFT_OUT = "left_out"
"""The result key saying why values were left out, and which (by JSON pointer)."""
OMITTED = "customer-written, withheld (CDP_UNTRUSTED=omit)"


class Mode(StrEnum):
    """What results do with customer-written text (CDP_UNTRUSTED)."""

    SANITIZE = "sanitize"
    OMIT = "omit"


@dataclass(frozen=True, slots=True)
class Policy:
    """How one call treats customer-written text: the mode, and the cap of one value (CDP_MAX_FIELD_CHARS)."""

    mode: Mode = Mode.SANITIZE
    cap: int = DEFAULT_MAX_FIELD_CHARS


@dataclass(slots=True)
class Screened:
    """A result's JSON, sanitized; the pointers of the customer-written strings in it; why -> what was left out."""

    data: dict[str, Any]
    untrusted: list[str] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)

    def leave_out(self, path: str, why: str) -> None:
        self.left_out.setdefault(why, []).append(path)


_UNKNOWN = Text(CUSTOMER)  # a value no plan describes is trusted with nothing
_DROP = object()


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class _Walk:
    def __init__(self, policy: Policy, out: Screened) -> None:
        self.policy = policy
        self.out = out

    def text(self, value: str, node: Node | None, path: str) -> Any:
        leaf = node if isinstance(node, Text) else _UNKNOWN
        customer = leaf.origin is CUSTOMER
        if customer and self.policy.mode is Mode.OMIT:
            self.out.leave_out(path, OMITTED)
            return _DROP
        cleaned = (clean_url(value) if leaf.url else clean_customer_text(value, self.policy.cap) if customer
                   else clean_text(value))
        if isinstance(cleaned, LeftOut):
            self.out.leave_out(path, cleaned.why)
            return _DROP
        if customer:
            self.out.untrusted.append(path)
        return cleaned

    def value(self, value: Any, node: Node | None, path: str) -> Any:
        if isinstance(value, str):
            return self.text(value, node, path)
        if isinstance(value, dict):
            return self.mapping(value, node, path)
        if isinstance(value, list):
            item = node.value if isinstance(node, Each) else _UNKNOWN
            kept = (self.value(v, item, f"{path}/{i}") for i, v in enumerate(value))
            return [v for v in kept if v is not _DROP]
        return value

    def mapping(self, value: dict[str, Any], node: Node | None, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(node, Fields):
                child = node.fields.get(key, _UNKNOWN)
            elif isinstance(node, Each):
                child = node.value
            elif isinstance(node, Further):
                child = Text(node.origin(key))
            else:
                child = _UNKNOWN
            kept = self.value(item, child, f"{path}/{_escape(key)}")
            if kept is _DROP:
                continue
            name = clean_text(key)
            while name in out:  # two keys told apart only by characters the rules removed: both stay
                name += "\u2032"
            out[name] = kept
        return out


def screen(data: dict[str, Any], model: type[BaseModel], policy: Policy) -> Screened:
    """`data` (the JSON of a `model` result) with every string sanitized for its origin, customer text left out
    under omit, and the pointers of the customer text kept. `data` itself is not changed."""
    out = Screened({})
    out.data = _Walk(policy, out).mapping(data, plan(model), "")
    return out


def at_pointer(data: Any, pointer: str) -> Any:
    """The value at a JSON pointer (None when there is none)."""
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def has_customer_text(model: type[BaseModel]) -> bool:
    """Whether a result of `model` can carry customer-written text (its tool's description says so)."""

    def walk(node: Node | None) -> bool:
        if isinstance(node, Text):
            return node.origin is CUSTOMER
        if isinstance(node, Fields):
            return any(walk(n) for n in node.fields.values())
        if isinstance(node, Each):
            return walk(node.value)
        return isinstance(node, Further)

    return walk(plan(model))


_labels: ContextVar[list[str] | None] = ContextVar("cdp_mcp_untrusted_labels", default=None)


def note_untrusted(pointers: list[str]) -> None:
    """Record the untrusted pointers of the resource being read (see `ResourceLabels`)."""
    noted = _labels.get()
    if noted is not None:
        noted.extend(pointers)


@contextmanager
def _noting() -> Iterator[list[str]]:
    noted: list[str] = []
    token = _labels.set(noted)
    try:
        yield noted
    finally:
        _labels.reset(token)


class ResourceLabels:
    """Server middleware: a `resources/read` whose content holds customer-written text carries its pointers in the
    content's `_meta`, as a tool result does."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "resources/read":
            return await call_next(ctx)
        with _noting() as noted:
            result = await call_next(ctx)
        if noted and isinstance(result, dict) and isinstance(result.get("contents"), list) and result["contents"]:
            first, *rest = result["contents"]
            if isinstance(first, dict):
                meta = {**(first.get("_meta") or {}), UNTRUSTED_META: noted}
                result = {**result, "contents": [{**first, "_meta": meta}, *rest]}
        return result
