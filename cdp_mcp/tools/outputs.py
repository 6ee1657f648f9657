"""The compact result models every tool returns: their JSON schema is each tool's output schema.

Shaped for a model, not mirrored from upstream, and lean (docs/tools.md, "Result conventions"): a key per value
in plain words; amounts are plain numbers in the result's `currency`, stated once; dates ISO 8601; things
with their own id are keyed by it (segments, campaigns, orders, products) and named values by their name
(attributes, affinity labels, trend months), so no key is repeated where the schema already says what it
is; optional fields are absent rather than null or a default (false flags, a quantity of 1). Every result
starts with the customer's `gcr_id`, and every list says `total` and, when more exist, `remaining` and an
opaque `next_cursor`.

The per-resource tools hand their list rows to a result as `items=[...]` (`profile.py` is generic): the
`*Item` row models carry a row's key and the currency the API stated for its amount, and `Listing` publishes
the rows under each result's own field name.

Every field that can hold text names where it comes from (`wired(...)`, `OURS`: `tools/origins.py`), so who wrote
each string of a result is derived from `wire.py`, never restated in the result models.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterable
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from cdp_mcp.tools.origins import OURS

__all__ = [
    "OUTPUT_CONFIG",
    "Listing",
    "Number",
    "OutputModel",
    "Priced",
    "Result",
    "Withholds",
    "collapsed_schema",
    "compact_property",
    "compact_schema",
    "currency_of",
    "inline_refs",
    "keyed",
    "tidy_schema",
    "type_lists",
    "unique",
]


def compact_property(prop: dict[str, Any]) -> None:
    """Publish an optional `X | None = None` property as plain `X`: no `null` branch, no null default.

    Results never contain nulls (absent fields are left out) and an omitted argument means None, so the
    `null` branches only cost context-window space.
    """
    prop.pop("title", None)
    if "default" in prop and prop["default"] is None:
        del prop["default"]
    branches = prop.get("anyOf")
    if branches and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        del prop["anyOf"]
        prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})


def compact_schema(schema: dict[str, Any], _: type[BaseModel] | None = None) -> None:
    """Trim a result model's schema for the context window: no generated titles, no `null` branches, no class
    docstring (written for developers; fields carry the descriptions) and no `additionalProperties: false`
    (results are built by cdp-mcp, so the model never needs that guarantee)."""
    schema.pop("title", None)
    schema.pop("description", None)
    if schema.get("additionalProperties") is False:
        del schema["additionalProperties"]
    for prop in schema.get("properties", {}).values():
        compact_property(prop)


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The result model inside `X | None` or `list[X] | None`, and whether it is a list of them."""
    for arm in (annotation, *get_args(annotation)):
        if inspect.isclass(arm) and issubclass(arm, BaseModel):
            return arm, False
        if get_origin(arm) is list:
            inner = get_args(arm)[0]
            if inspect.isclass(inner) and issubclass(inner, BaseModel):
                return inner, True
    return None, False


def _keys(model: type[BaseModel]) -> str:
    """A nested model's keys as words, a literal's values in parentheses: `line, outcome (eligible, lapsed)`."""
    words = []
    for name, field in model.model_fields.items():
        values = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
        words.append(f"{name} ({', '.join(values)})" if values else name)
    return ", ".join(words)


def collapsed_schema(schema: dict[str, Any], model: type[BaseModel] | None = None) -> None:
    """`compact_schema`, and each nested result model published as an object described by its keys.

    For results whose nested rows would otherwise cost more schema than the model reads in a call: the shape is
    still stated (types at the top, the keys of each nested object in words), the `$defs` are gone.
    """
    compact_schema(schema)
    if model is None:
        return
    for name, prop in schema.get("properties", {}).items():
        nested, many = _nested_model(model.model_fields[name].annotation)
        if nested is None:
            continue
        keys = f"Objects with {_keys(nested)}" if many else f"With {_keys(nested)}"
        shape: dict[str, Any] = {"type": "array", "items": {"type": "object"}} if many else {"type": "object"}
        schema["properties"][name] = {**shape, "description": prop.get("description") or keys}


def tidy_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A generated input schema without what only costs context: titles, `null` branches, null defaults.

    Applied recursively (properties, `$defs`, array items, unions). Property *names* are never touched, only
    schema keywords; validation is unchanged because the SDK validates arguments with the pydantic model.
    """
    node = dict(schema)
    compact_property(node)
    for key in ("properties", "$defs"):
        if isinstance(node.get(key), dict):
            node[key] = {name: tidy_schema(sub) for name, sub in node[key].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = tidy_schema(node["items"])
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(node.get(key), list):
            node[key] = [tidy_schema(sub) for sub in node[key]]
    return node


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local `$ref` replaced by the definition it names, and no `$defs`.

    Many MCP hosts do not resolve `$ref` in tool schemas (Copilot CLI, Kiro, opencode, the MCP Inspector's form;
    Claude Code's HTTP client failed a whole tools/list on one in an output schema), and cdp-mcp's models are not
    recursive, so each published schema is self-contained. Keywords beside a `$ref` (a description) are kept.
    """
    defs: dict[str, Any] = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            beside = {k: v for k, v in node.items() if k != "$ref"}
            return resolve({**defs[ref.removeprefix("#/$defs/")], **beside})
        return {k: resolve(v) for k, v in node.items() if k != "$defs"}

    return resolve(schema)


def type_lists(schema: Any) -> Any:
    """`anyOf` branches that are bare types as one type list: `{"type": ["string", "integer"]}`, the same meaning in
    fewer bytes. For output schemas only: some model APIs refuse type lists in tool inputs."""
    if isinstance(schema, list):
        return [type_lists(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    node = {k: type_lists(v) for k, v in schema.items()}
    branches = node.get("anyOf")
    if isinstance(branches, list) and branches and all(isinstance(b, dict) and set(b) == {"type"} for b in branches):
        del node["anyOf"]
        node["type"] = [b["type"] for b in branches]
    return node


OUTPUT_CONFIG = ConfigDict(frozen=True, extra="forbid", json_schema_extra=compact_schema)


def _number(value: float) -> float | int:
    """`100` rather than `100.0`: the same number, two bytes fewer."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


Number = Annotated[float, PlainSerializer(_number, when_used="json")]
"""A float published without a trailing `.0`."""


class OutputModel(BaseModel):
    """Base of every output model and item."""

    model_config = OUTPUT_CONFIG


_GCR = Field(None)  # the server instructions say what it is for, once
_Ours = Annotated[str | None, OURS]


class Result(OutputModel):
    """Base of every result: frozen, no unknown keys, and the customer's gcr_id first."""

    gcr_id: int | None = _GCR


class Withholds(OutputModel):
    """A result that can carry customer-written text: `withheld` says why values were left out of it, and which, by
    JSON pointer (`tools/untrusted.py`; the server instructions say so once, instead of each output schema; a test
    keeps every such result a `Withholds`)."""

    withheld: Annotated[dict[str, list[str]] | None, OURS] = None


class Priced(OutputModel):
    """A result with amounts: `currency` names them all once. `results.structured` fills it from what the
    session learnt when this response stated none, and only when an amount is present (`amount_keys`)."""

    currency: _Ours = Field(None, description="ISO 4217 code of every amount")
    amount_keys: ClassVar[frozenset[str]] = frozenset()

    def has_amounts(self) -> bool:
        return _has_number(self.model_dump(exclude_none=True), self.amount_keys)


def _has_number(data: object, keys: frozenset[str]) -> bool:
    if isinstance(data, dict):
        return any((k in keys and isinstance(v, int | float) and not isinstance(v, bool)) or _has_number(v, keys)
                   for k, v in data.items())
    return isinstance(data, list) and any(_has_number(v, keys) for v in data)


_T = TypeVar("_T")


def unique(items: Iterable[_T], key: Callable[[_T], Hashable]) -> list[_T]:
    """Items in order, the first of each key kept."""
    seen: set[Hashable] = set()
    out: list[_T] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def currency_of(*values: object) -> str | None:
    """The first currency stated by one of `values` (amounts as the client reads them, or rows that carry one)."""
    return next((c for v in values if (c := getattr(v, "currency", None))), None)


def keyed(rows: Iterable[Any], key: str, into: type[OutputModel], *, first: int | None = None) -> dict[str, Any]:
    """Rows as `{row.<key>: the fields of into}`, the first row of each key kept, rows without a key left out; with
    `first`, only the first that many keys (`rows` is read no further: it may be a generator that shapes lazily)."""
    fields = set(into.model_fields)
    out: dict[str, Any] = {}
    for row in rows:
        value = getattr(row, key)
        if value is None or (name := str(value)) in out:
            continue
        out[name] = row.model_dump(include=fields, exclude_none=True)
        if first is not None and len(out) >= first:
            break
    return out


class Listing(Result):
    """A capped list: how many exist, how many more after this page, and the cursor to get them.

    The generic list tool (`kinds.ListTool`) hands a page's rows over as `items=[...]`; a subclass publishes them under
    `rows_field` (the first field it declares), by default keyed by each row's `rows_key` with the fields of
    `rows_model` (the model of that field's values; `publish` says how), and states the currency the rows' amounts
    came with.
    """

    rows_field: ClassVar[str]
    rows_key: ClassVar[str] = "id"
    rows_model: ClassVar[type[OutputModel]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.rows_field = next(name for name in inspect.get_annotations(cls) if name in cls.model_fields)
        values = get_args(cls.model_fields[cls.rows_field].annotation)[-1:]  # dict[str, Model] -> Model
        if values and isinstance(values[0], type) and issubclass(values[0], OutputModel):
            cls.rows_model = values[0]

    total: int | None = None
    remaining: int | None = None
    next_cursor: _Ours = None

    @classmethod
    def publish(cls, rows: list[Any]) -> Any:
        return keyed(rows, cls.rows_key, cls.rows_model)

    @model_validator(mode="before")
    @classmethod
    def _from_rows(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "items" not in data:
            return data
        data = dict(data)
        rows = list(data.pop("items"))
        data[cls.rows_field] = cls.publish(rows)
        if (currency := currency_of(*rows)) and not data.get("currency"):
            data["currency"] = currency
        return data
