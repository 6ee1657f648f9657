"""The parts of README.md and CONTRACT.md that the code already says, written from the code.

Each generated part sits between `<!-- generated: NAME -->` and `<!-- end of generated: NAME -->` and is
rewritten whole; a count inside a sentence is one of `COUNTS`. `tests/test_generated_docs.py` holds the files to
what these functions write; `CDP_UPDATE_DOCS=1` makes it rewrite them instead (after adding a resource, say).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from cdp_mcp import wire
from cdp_mcp.catalog import IDENTIFIERS, RESOURCES, Envelope, Resource, Scope
from cdp_mcp.grants import BROAD_SCOPE, GRANTS, Grant
from cdp_mcp.sandbox.app import GCR_CONTRACT
from cdp_mcp.sandbox.resources import SERVED
from cdp_mcp.tools.kinds import LEFT_OUT_OF_EVERY_RESULT, LeftOut
from cdp_mcp.tools.registry import all_specs
from cdp_mcp.tools.resources import PROFILE_TOOLS, profile_specs
from cdp_mcp.tools.spec import ToolSpec

__all__ = ["CONTRACT", "COUNTS", "GENERATED", "README", "Count", "regions", "rewrite"]

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONTRACT = ROOT / "cdp_mcp" / "sandbox" / "CONTRACT.md"
_IDENTIFIER_ARGUMENTS = {i.argument for i in IDENTIFIERS}


def _names(resources: typing.Iterable[str]) -> str:
    return ", ".join(str(r) for r in resources)


def _tool_resources(spec: ToolSpec) -> str:
    """The resources a tool reads: the required ones, then the optional ones (the gcr lookup every customer tool
    makes is said below the table), or what the tool says it does with them."""
    optional = [r for r in spec.optional_resources if r != Scope.GCR_ID]
    if spec.optional_note:
        return f"{_names(spec.resources)} (+ {spec.optional_note})"
    return _names([*spec.resources, *optional])


def _tool_arguments(spec: ToolSpec) -> str:
    extra = [p for p in spec.params if not (spec.customer and p.name in _IDENTIFIER_ARGUMENTS)]
    cells = []
    for param in extra:
        schema = TypeAdapter(param.annotation).json_schema()
        bound = schema.get("maxItems") if schema.get("type") == "array" else None  # a required list: its bound
        cells.append(f"`{param.name}`" + (f" (≤ {bound})" if bound else ""))
    return ", ".join(cells)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells).replace("|  |", "| |") + " |"


def tools_table() -> str:
    rows = ["| tool | API resource(s) | extra arguments | answers |", "|---|---|---|---|"]
    rows += [_row(f"`{s.name}`", _tool_resources(s), _tool_arguments(s), s.summary) for s in all_specs()]
    return "\n".join(rows)


def _reached_alone(grant: Grant) -> list[ToolSpec]:
    return [s for s in all_specs() if set(s.resources) <= grant.resources]


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _scope_tools(grant: Grant, narrow: list[Grant]) -> str:
    if not grant.resources:
        return "none of its own: the others' results show contact details"
    if grant.scope == BROAD_SCOPE:
        needing = [(s.name, [g.scope.removeprefix("cdp:") for g in narrow if g.resources & set(s.resources)])
                   for s in all_specs()]
        several = [f"{name} needs {_and(scopes)}" for name, scopes in needing if len(scopes) > 1]
        return f"all {len(all_specs())}" + (f" ({'; '.join(several)})" if several else "")
    cells = []
    for spec in _reached_alone(grant):
        optional = {r for r in spec.optional_resources if r != Scope.GCR_ID}
        partly = " (its other sections need their scopes)" if optional - grant.resources else ""
        cells.append(spec.name + partly)
    return ", ".join(cells)


def scopes_table() -> str:
    narrow = [g for g in GRANTS if g.resources and g.scope != BROAD_SCOPE]
    rows = ["| scope | for | grants (API resources) | tools |", "|---|---|---|---|"]
    for grant in GRANTS:
        if grant.scope == BROAD_SCOPE:
            reaches = "all of the above"
        else:
            reaches = _names(r.name for r in RESOURCES if r.name in grant.resources) or "nothing more"
        rows.append(f"| `{grant.scope}` | {grant.purpose} | {reaches} | {_scope_tools(grant, narrow)} |")
    return "\n".join(rows)


def _left_out_row(who: str, left_out: LeftOut) -> str:
    return f"| {who} | {', '.join(f'`{f}`' for f in left_out.fields)} | {left_out.why} |"


def left_out_table() -> str:
    rows = ["| resource | fields | why, or where it is instead |", "|---|---|---|",
            _left_out_row("every resource", LEFT_OUT_OF_EVERY_RESULT)]
    rows += [_left_out_row(f"`{name}`", entry.left_out) for name, entry in PROFILE_TOOLS.items() if entry.left_out]
    return "\n".join(rows)


def _item_model(annotation: object) -> type[wire.WireModel] | None:
    """The model of a list field's items (`list[Segment]` -> Segment)."""
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, wire.WireModel):
            return item
    return None


def _fields(model: type[BaseModel]) -> str:
    """A declaration's fields as CONTRACT.md writes them: documented ones plain, the sandbox's choices in italics,
    a list's items after `of`."""
    cells = []
    for name, marker in wire.fields(model).items():
        cell = f"`{name}`" if marker.documented else f"*`{name}`*"
        item = _item_model(model.model_fields[name].annotation)
        cells.append(f"{cell} of ({_fields(item)})" if item is not None else cell)
    return ", ".join(cells)


def _data(resource: Resource) -> str:
    fields = _fields(wire.wire_model(resource))
    if resource.envelope is Envelope.BARE_ARRAY:
        return f"a bare array of {fields}"
    if resource.envelope is Envelope.GCR_LIST:
        return f"a `data` list of {fields}"
    return fields


def resource_data_table() -> str:
    """CONTRACT.md's fields of each resource, with what the sandbox's declaration says of its choices."""
    rows = ["| resource | `data` (documented fields plain, *chosen* ones in italics); what the sandbox chooses |",
            "|---|---|"]
    for r in RESOURCES:
        served = SERVED.get(r.name)
        note = served.contract if served is not None else GCR_CONTRACT
        name = r.name if r.path == r.name else f"{r.name} (`/{r.path}`)"
        rows.append(f"| {name} | {_data(r)}" + (f". {note}" if note else "") + " |")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Count:
    """A number inside a README sentence that the code decides: `{n}` marks it in `phrase`."""

    phrase: str
    value: Callable[[], int]

    def pattern(self) -> re.Pattern[str]:
        before, after = (re.escape(part) for part in self.phrase.split("{n}"))
        return re.compile(f"({before})\\d+({after})")


COUNTS: tuple[Count, ...] = (
    Count("- **{n} read-only tools**", lambda: len(all_specs())),
    Count("one per API resource ({n})", lambda: len(profile_specs())),
    Count("for client developers: all {n}\nprofile resources", lambda: len(RESOURCES)),
)

GENERATED: dict[Path, dict[str, Callable[[], str]]] = {
    README: {"tools": tools_table, "scopes": scopes_table, "left out": left_out_table},
    CONTRACT: {"resource data": resource_data_table},
}


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- generated: {name} -->", f"<!-- end of generated: {name} -->"


def regions(text: str, name: str) -> Iterator[tuple[int, int]]:
    """Where each region `name` holds its generated text (start and end offsets)."""
    begin, end = _markers(name)
    for match in re.finditer(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), text, re.S):
        yield match.start(1), match.end(1)


def rewrite(path: Path) -> str:
    """The text `path` should hold: each generated region written anew, each count set."""
    text = path.read_text(encoding="utf-8")
    for name, write in GENERATED[path].items():
        found = list(regions(text, name))
        assert len(found) == 1, f"{path.name} must hold one region {_markers(name)}"
        start, end = found[0]
        text = text[:start] + write() + text[end:]
    if path == README:
        for count in COUNTS:
            text, changed = count.pattern().subn(lambda m, c=count: f"{m.group(1)}{c.value()}{m.group(2)}", text)
            assert changed == 1, f"README.md must say {count.phrase!r} once"
    return text
