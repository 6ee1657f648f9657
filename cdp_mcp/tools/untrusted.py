"""Customer-written text in results: sanitized (or left out) and labelled, by the origin of each field.

`screen(data, model, policy, text)` walks a finished result's JSON (`text`, its compact JSON, lets one search skip
the walk where nothing needs it) with its model's plan (`origins.plan`): every string
passes the sanitizer's rules for its origin (`sanitizer.py`), every key the rules for every string; under
`CDP_UNTRUSTED=omit` (or a request's `X-CDP-Untrusted: omit`) customer-written text is left out instead. It returns
the JSON pointers of the customer-written strings kept (published as `_meta["io.github.cdp-mcp/untrusted"]`) and
what it left out, with why (published in the result as `withheld`, so the model knows the gap is deliberate).

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

from cdp_mcp.sanitizer import DEFAULT_MAX_FIELD_CHARS, Withheld, clean_customer_text, clean_text, clean_url, may_change
from cdp_mcp.tools.origins import Each, Fields, Further, Node, Text, plan
from cdp_mcp.version import UNTRUSTED_META
from cdp_mcp.wire import CUSTOMER

__all__ = [
    "OMITTED",
    "UNTRUSTED_META",
    "WITHHELD",
    "Mode",
    "Policy",
    "ResourceLabels",
    "Screened",
    "at_pointer",
    "has_customer_text",
    "note_untrusted",
    "screen",
]

WITHHELD = "withheld"
"""The result key saying why values were left out, and which (by JSON pointer): `outputs.Withholds`' one field."""
OMITTED = "customer-written (CDP_UNTRUSTED=omit)"


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
    """A result's JSON, sanitized; the pointers of the customer-written strings in it; why -> what was left out; and
    its compact JSON text when screening changed nothing (so it is not written twice)."""

    data: dict[str, Any]
    untrusted: list[str] = field(default_factory=list)
    withheld: dict[str, list[str]] = field(default_factory=dict)
    text: str | None = None

    def withhold(self, path: str, why: str) -> None:
        self.withheld.setdefault(why, []).append(path)


_UNKNOWN = Text(CUSTOMER)  # a value no plan describes is trusted with nothing
_DROP = object()


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1") if "~" in key or "/" in key else key


class _Walk:
    """One pass over a result's JSON.

    With `general` false (the result's text holds nothing the every-string rules remove) only the values that can
    hold customer-written text are looked at, and an object or list is copied only when one of them changes. The
    path is a stack of escaped keys, joined into a pointer only where one is recorded. `changed` says whether any
    value or key came out different.
    """

    def __init__(self, policy: Policy, out: Screened, *, general: bool) -> None:
        self.policy = policy
        self.out = out
        self.general = general
        self.changed = False
        self.path: list[str] = []

    def pointer(self) -> str:
        return "/" + "/".join(self.path) if self.path else ""

    def text(self, value: str, node: Node | None) -> Any:
        leaf = node if type(node) is Text else _UNKNOWN
        if leaf.origin is not CUSTOMER and not leaf.url:
            if not self.general:
                return value
            cleaned: str | Withheld = clean_text(value)
        elif leaf.origin is CUSTOMER and self.policy.mode is Mode.OMIT:
            cleaned = Withheld(OMITTED)
        else:
            cleaned = clean_url(value) if leaf.url else clean_customer_text(value, self.policy.cap)
        if isinstance(cleaned, Withheld):
            self.out.withhold(self.pointer(), cleaned.why)
            self.changed = True
            return _DROP
        if leaf.origin is CUSTOMER:
            self.out.untrusted.append(self.pointer())
        if cleaned != value:
            self.changed = True
        return cleaned

    def value(self, value: Any, node: Node | None) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value, node)
        if kind is dict:
            return self.mapping(value, node)
        if kind is list:
            return self.items(value, node)
        return value

    def _skips(self, node: Node | None) -> bool:
        """Nothing under `node` needs a look: no every-string rule applies, and no customer text can be there."""
        return not self.general and (type(node) is Fields or type(node) is Each) and not node.customer

    def items(self, value: list[Any], node: Node | None) -> list[Any]:
        if self._skips(node):
            return value
        item = node.value if type(node) is Each else _UNKNOWN
        out: list[Any] | None = None
        path = self.path
        for i, each in enumerate(value):
            path.append(str(i))
            kept = self.value(each, item)
            path.pop()
            if kept is not each and out is None:
                out = value[:i]
            if out is not None and kept is not _DROP:
                out.append(kept)
        return value if out is None else out

    def mapping(self, value: dict[str, Any], node: Node | None) -> dict[str, Any]:
        if self._skips(node):
            return value
        fields = node.fields if type(node) is Fields else None
        further = node if type(node) is Further else None
        each = node.value if type(node) is Each else _UNKNOWN
        keys: Any = value
        if fields is not None and not self.general:  # only what can hold customer text, or no plan knows
            careful = node.careful  # type: ignore[union-attr]
            keys = [k for k in value if k in careful or k not in fields]
        out: dict[str, Any] | None = None
        renamed: set[str] = set()
        path = self.path
        for key in keys:
            item = value[key]
            child = fields.get(key, _UNKNOWN) if fields is not None \
                else Text(further.origin(key)) if further is not None else each
            name = clean_text(key) if self.general else key
            if name is not key:
                while name in value or name in renamed:  # told apart only by what the rules removed: both stay
                    name += "\u2032"
                renamed.add(name)
            path.append(_escape(name))
            kept = self.value(item, child)
            path.pop()
            if kept is item and name is key:
                continue
            if out is None:
                out = dict(value)
            if name is not key:
                self.changed = True
                del out[key]
            if kept is _DROP:
                out.pop(name, None)
            else:
                out[name] = kept
        return value if out is None else out


def screen(data: dict[str, Any], model: type[BaseModel], policy: Policy, text: str) -> Screened:
    """`data` (the JSON of a `model` result, `text` its compact JSON) with every string sanitized for its origin,
    customer text left out under omit, and the pointers of the customer text kept. `data` itself is not changed;
    when nothing needed to change, the result is `data` and `text` themselves."""
    general = may_change(text)
    layout = plan(model)
    out = Screened(data)
    if not general and not layout.customer:
        out.text = text
        return out
    walk = _Walk(policy, out, general=general)
    screened = walk.mapping(data, layout)
    if walk.changed:
        out.data = screened
    else:
        out.text = text
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
