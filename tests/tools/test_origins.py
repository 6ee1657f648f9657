"""Origins are declared once, in wire.py, and follow the data to the results' JSON pointers.

The probe: every declared text field of a resource's response holds a value naming its origin and field
(`customer:BasicData.fullName`); the real parser reads it, the real shaping makes the tool's result of it, and the
result's labels must mark exactly the strings that carry customer-written text. So a result field that names the
wrong source, or a shaping change that moves customer text elsewhere, fails here.
"""

from __future__ import annotations

import re
import types
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from cdp_mcp import wire
from cdp_mcp.catalog import RESOURCES, Envelope, Resource, Scope
from cdp_mcp.client.recognise import SYNONYMS
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.openapi import build_openapi
from cdp_mcp.tools import outputs
from cdp_mcp.tools.kinds import ListTool, SingleTool
from cdp_mcp.tools.origins import plan, source_of
from cdp_mcp.tools.overview import _READERS, SECTION_RESOURCES, Overview, _build, _Fetched
from cdp_mcp.tools.registry import CUSTOMER_TEXT_NOTE, all_specs, described
from cdp_mcp.tools.resources import PROFILE_TOOLS
from cdp_mcp.tools.resources.profile import profile as profile_card
from cdp_mcp.tools.results import structured
from cdp_mcp.tools.untrusted import WITHHELD, Policy, at_pointer, has_customer_text
from cdp_mcp.tools.upstream import Answers, PlannedFetch

WIRE_MODELS = [m for m in vars(wire).values() if isinstance(m, type) and issubclass(m, wire.WireModel)
               and m is not wire.WireModel]
PATTERNED = ("05-11-2026", "01/02/2000", "$ 5.5", "Jan,26")  # a valid value for each pattern the wire declares
EXTRA_BASIC = {"email": "customer:email", "mobile": "customer:mobile", "customerCode": "system:customer_code",
               "favouriteQuote": "customer:further"}  # recognised meanings without a declaration, and a further field


def test_every_declared_field_says_who_writes_it() -> None:
    for model in WIRE_MODELS:
        for name, marker in wire.fields(model).items():
            assert isinstance(marker.origin, wire.Origin), (model.__name__, name)
            assert not marker.url or marker.origin is not wire.SYSTEM, (model.__name__, name)
    for model, meanings in wire.RECOGNISED_ORIGINS.items():
        assert set(meanings) <= set(SYNONYMS) and not set(meanings) & set(wire.meanings(model)), model.__name__


def test_the_openapi_document_shows_each_fields_origin() -> None:
    schemas = build_openapi(SandboxOptions())["components"]["schemas"]
    basic = schemas["BasicData"]["properties"]
    assert basic["fullName"]["x-origin"] == "customer" and basic["customerId"]["x-origin"] == "system"
    assert schemas["Segment"]["properties"]["segmentName"]["x-origin"] == "tenant"
    assert all("x-origin" in prop for name in schemas if name in {m.__name__ for m in WIRE_MODELS}
               for prop in schemas[name]["properties"].values())


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found, stack = [], [model]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        for info in current.model_fields.values():
            kinds = [info.annotation]
            while kinds:
                kind = kinds.pop()
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    stack.append(kind)
                kinds.extend(get_args(kind))
    return found


def _holds_text(annotation: Any) -> bool:
    """Whether values of `annotation` can be text (a map's keys are not its values: the probe checks them)."""
    args = get_args(annotation)
    if get_origin(annotation) is dict:
        return _holds_text(args[1])
    return annotation is str or any(_holds_text(a) for a in args)


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.name)
def test_every_text_field_of_every_result_names_its_source(spec: Any) -> None:
    plan(spec.output)  # raises naming a text field without a source
    for model in _models(spec.output):
        for name, info in model.model_fields.items():
            nested = any(isinstance(k, type) and issubclass(k, BaseModel) for k in get_args(info.annotation))
            if _holds_text(info.annotation) and not nested:
                assert source_of(model, name) is not None, f"{model.__name__}.{name}"
    customer_text = has_customer_text(spec.output)
    assert issubclass(spec.output, outputs.Withholds) == customer_text, spec.name  # it can say what it left out
    assert list(outputs.Withholds.model_fields) == [WITHHELD]
    assert described(spec).endswith(CUSTOMER_TEXT_NOTE) == customer_text, spec.name


def _sample(annotation: Any, where: str, origin: wire.Origin, metadata: list[Any]) -> Any:
    """A value of `annotation` for the probe: text names its origin and field."""
    if get_origin(annotation) is Annotated:
        annotation, *more = get_args(annotation)
        return _sample(annotation, where, origin, [*metadata, *more])
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return _sample(str if str in options else options[0], where, origin, metadata)
    if get_origin(annotation) is Literal:
        return get_args(annotation)[0]
    if get_origin(annotation) is list:
        return [_sample(get_args(annotation)[0], where, origin, [])]
    if isinstance(annotation, type) and issubclass(annotation, wire.WireModel):
        return probe(annotation)
    if annotation is str:
        pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
        if pattern is None:
            return f"{origin.value}:{where}"
        return next(v for v in PATTERNED if re.fullmatch(pattern, v))
    return {int: 3, float: 2.5, bool: True}[annotation]


def probe(model: type[wire.WireModel]) -> dict[str, Any]:
    """A `model` whose every free text field says whose it is and which it is."""
    return {name: _sample(info.annotation, f"{model.__name__}.{name}", wire.fields(model)[name].origin,
                          list(info.metadata))
            for name, info in model.model_fields.items()}


def _data(resource: Resource) -> Any:
    body = probe(wire.wire_model(resource))
    if resource.name == Scope.BASIC:
        body |= EXTRA_BASIC
    return body if resource.envelope is Envelope.STANDARD else [body]


def _strings(data: Any, path: str = "") -> list[tuple[str, str, bool]]:
    """Every string of a result: (pointer, value, whether it is a key)."""
    found: list[tuple[str, str, bool]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            at = f"{path}/{key.replace('~', '~0').replace('/', '~1')}"
            found.append((at, key, True))
            found += _strings(value, at)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _strings(value, f"{path}/{i}")
    elif isinstance(data, str):
        found.append((path, data, False))
    return found


def _labelled_as_its_content(model: BaseModel) -> tuple[list[str], list[str]]:
    """The result's untrusted pointers, and the pointers of the strings holding customer-written text."""
    result = structured(model, redact_pii=False, policy=Policy())
    strings = _strings(result.data)
    assert not [(at, text) for at, text, key in strings if key and "customer:" in text]  # never a key
    customer = [at for at, text, key in strings if not key and "customer:" in text]
    assert all("customer:" in at_pointer(result.data, p) for p in result.untrusted)
    return sorted(result.untrusted), sorted(customer)


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_customer_text_is_labelled_wherever_the_shaping_puts_it(resource: Resource) -> None:
    entry = PROFILE_TOOLS[resource.name]
    data = entry.reader.read(resource, _data(resource), None)
    if isinstance(entry, ListTool):
        rows = [entry.item(item) for item in data.items]  # type: ignore[attr-defined]
        model: BaseModel = entry.output(gcr_id=1, total=len(rows), items=rows,
                                        **(entry.extra(data) if entry.extra else {}))
    elif isinstance(entry, SingleTool):
        model = entry.shape(data, 1, 10)
    else:
        return  # a yes/no and a gcr_id: no text
    untrusted, customer = _labelled_as_its_content(model)
    assert untrusted == customer
    assert bool(customer) == has_customer_text(entry.output), resource.name


def test_the_overview_card_labels_what_the_profile_card_does() -> None:
    asks = {reader.scope: PlannedFetch(reader) for reader in _READERS}
    answers = Answers({ask: ask.reader.read(ask.reader.resource, _data(ask.reader.resource), None)
                       for ask in asks.values()})
    got = _Fetched(asks, answers)
    basic = got.get(PROFILE_TOOLS[Scope.BASIC].reader)
    assert basic is not None
    card = profile_card(basic)
    now = datetime.now(UTC)
    overview = Overview(gcr_id=1, **{section: _build(section, got, card, now) for section in SECTION_RESOURCES})
    untrusted, customer = _labelled_as_its_content(overview)
    assert untrusted == customer == ["/who/city", "/who/name"]
