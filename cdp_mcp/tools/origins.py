"""Who wrote each string of a result, derived from the declarations in `wire.py` along the data's path.

A wire field's origin (`wire.Origin`: customer, tenant or system) is declared once, in `wire.py`. An output field
that can hold text names where its values come from, never their origin again:

- `wired(wire.Segment, "name")`: the wire fields the client reads for these meanings (or by their vendor names),
  through the parsers (`client/parsers.py`) and the shaping (`tools/shaping.py`);
- `shaped(o.CustomerProfile, "name")`: another output field (the overview's name is the profile card's);
- `further(wire.BasicData)`: the fields a tenant adds beyond those the client reads (the profile's `more`), each
  with its declared origin when declared, else customer;
- `OURS`: text cdp-mcp writes itself (its own words, codes and cursors, the caller's own arguments echoed).

Several sources mean the value is one of them or made of them: the least trusted origin wins. `plan(model)` maps
a result model's JSON to the origin of every string in it (`Text`), through nested models (`Fields`), the values
of maps and the items of lists (`Each`); `tools/untrusted.py` applies it to a result. A test feeds each parser
declared values that name their field and checks that each output string is labelled as its content demands.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from cdp_mcp.client.recognise import norm
from cdp_mcp.wire import SYSTEM, Origin, WireModel, fields, further_origin, marker_of

__all__ = ["OURS", "Each", "Fields", "Further", "Node", "Source", "Text", "further", "plan", "shaped",
           "source_of", "text_origin", "wired"]

_TRUST = (Origin.CUSTOMER, Origin.TENANT, Origin.SYSTEM)  # least trusted first


@dataclass(frozen=True, slots=True)
class Source:
    """Where an output field's text comes from (metadata in the field's `Annotated`); see the module docstring."""

    model: type[BaseModel] | None
    names: tuple[str, ...] = ()
    tenant_fields: bool = False


def wired(model: type[WireModel], *meanings: str) -> Source:
    """From the fields of `model` the client reads for `meanings` (or names by vendor spelling); none: all."""
    return Source(model, meanings)


def shaped(model: type[BaseModel], *names: str) -> Source:
    """From fields of another output model."""
    return Source(model, names)


def further(model: type[WireModel]) -> Source:
    """From the fields a tenant sends in `model` beyond those the client reads."""
    return Source(model, tenant_fields=True)


OURS = Source(None)
"""Text cdp-mcp writes: its own words, codes it derives, cursors, the caller's arguments echoed."""


@dataclass(frozen=True, slots=True)
class Text:
    """A string of this origin (a URL field when `url`)."""

    origin: Origin
    url: bool = False


@dataclass(frozen=True, slots=True)
class Fields:
    """An object of an output model: each field's plan (None: it cannot hold text); `customer`: some can hold
    customer-written text."""

    fields: Mapping[str, Node | None]
    customer: bool = False
    careful: frozenset[str] = frozenset()  # the fields that can hold customer-written text (or a URL)


@dataclass(frozen=True, slots=True)
class Each:
    """The values of a map (its keys are cdp-mcp's or tenant and system values) or the items of a list; `customer`:
    they can hold customer-written text."""

    value: Node | None
    customer: bool = False


@dataclass(frozen=True, slots=True)
class Further:
    """The fields a tenant adds, by the name a result gives them: declared origins by normalised name, else customer."""

    origins: Mapping[str, Origin]

    def origin(self, key: str) -> Origin:
        return self.origins.get(norm(key), Origin.CUSTOMER)


Node = Text | Fields | Each | Further


def _customer(node: Node | None) -> bool:
    """Whether text under `node` can be customer-written (or a URL, which the same careful path handles)."""
    if isinstance(node, Text):
        return node.origin is Origin.CUSTOMER or node.url
    return isinstance(node, Further) or (isinstance(node, Fields | Each) and node.customer)


def _each(value: Node | None) -> Each:
    return Each(value, customer=_customer(value))


def _least_trusted(origins: list[Origin]) -> Origin:
    return min(origins, key=_TRUST.index, default=SYSTEM)


def source_of(model: type[BaseModel], name: str) -> Source | None:
    """The `Source` an output model's field names, if any."""
    return next((m for m in model.model_fields[name].metadata if isinstance(m, Source)), None)


def _resolve(source: Source) -> Text:
    if source.model is None:
        return Text(SYSTEM)
    if issubclass(source.model, WireModel):
        markers = [marker_of(source.model, n) for n in source.names] or list(fields(source.model).values())
        return Text(_least_trusted([m.origin for m in markers]), url=any(m.url for m in markers))
    texts = [text_origin(source.model, n) for n in source.names]
    return Text(_least_trusted([t.origin for t in texts]), url=any(t.url for t in texts))


def text_origin(model: type[BaseModel], name: str) -> Text:
    """The origin of the text an output model's field holds, from the source it names.

    Raises:
        ValueError: the field names no source (a test keeps every text field of every result named).
    """
    source = source_of(model, name)
    if source is None or source.tenant_fields:
        raise ValueError(f"{model.__name__}.{name} names no source for its text")
    return _resolve(source)


_NO_TEXT = (int, float, bool, date, type(None))


def _node(annotation: Any, model: type[BaseModel], name: str) -> Node | None:
    """The plan of one annotation of `model.name` (whose own source says where its text comes from)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _node(get_args(annotation)[0], model, name)
    if origin in (Union, types.UnionType):
        nodes = [n for n in (_node(a, model, name) for a in get_args(annotation)) if n is not None]
        return nodes[0] if nodes else None  # a model or container with None, or text with numbers: one kind
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return plan(annotation)
    if origin in (dict, Mapping):
        source = source_of(model, name)
        if source is not None and source.tenant_fields and isinstance(source.model, type) \
                and issubclass(source.model, WireModel):
            return Further({norm(k): further_origin(source.model, k) for k in fields(source.model)})
        return _each(_node(get_args(annotation)[1], model, name))
    if origin in (list, tuple, set, frozenset):
        return _each(_node(get_args(annotation)[0], model, name))
    if origin is Literal:  # one of a closed set of words the model declares: cdp-mcp's own
        return Text(SYSTEM) if any(isinstance(word, str) for word in get_args(annotation)) else None
    if annotation is str:
        return text_origin(model, name)
    if isinstance(annotation, type) and issubclass(annotation, _NO_TEXT):
        return None
    raise TypeError(f"{model.__name__}.{name}: no plan for {annotation!r}")


@cache
def plan(model: type[BaseModel]) -> Fields:
    """Where each string of `model`'s JSON comes from (built once per model)."""
    nodes = {name: _node(info.annotation, model, name) for name, info in model.model_fields.items()}
    careful = frozenset(name for name, n in nodes.items() if _customer(n))
    return Fields(nodes, customer=bool(careful), careful=careful)
