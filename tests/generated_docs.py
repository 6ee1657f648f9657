"""The parts of the docs that the code already says, written from the code.

Each generated part sits between `<!-- generated: NAME -->` and `<!-- end of generated: NAME -->` and is
rewritten whole; a count inside a sentence is one of `COUNTS`. `tests/test_generated_docs.py` holds the files to
what these functions write, and so does `mkdocs build` (tests/mkdocs_hook.py); `CDP_UPDATE_DOCS=1` makes the test
rewrite them instead (after adding a resource, a setting or a command option, say).

The pages that other tests read are named here too, so a page that moves is renamed in one place.
"""

from __future__ import annotations

import argparse
import inspect
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, TypeAdapter

from cdp_mcp import wire
from cdp_mcp.access.guard import CallGuard
from cdp_mcp.catalog import IDENTIFIERS, RESOURCES, Envelope, Resource, Scope
from cdp_mcp.cli import COMMANDS, build_parser
from cdp_mcp.grants import BROAD_SCOPE, GRANTS, Grant, scopes_for
from cdp_mcp.sandbox.app import GCR_CONTRACT
from cdp_mcp.sandbox.resources import SERVED
from cdp_mcp.sandbox.runtime import sample_customers
from cdp_mcp.sanitizer import RULES
from cdp_mcp.server import instructions
from cdp_mcp.settings import SETTINGS, Declared, Settings
from cdp_mcp.tools.kinds import LEFT_OUT_OF_EVERY_RESULT, LeftOut
from cdp_mcp.tools.registry import all_specs, build_tools
from cdp_mcp.tools.resources import PROFILE_TOOLS, profile_specs
from cdp_mcp.tools.spec import ToolSpec

__all__ = [
    "COMMAND_LINE_PAGE", "CONFIGURATION_PAGE", "CONTRACT", "COUNTS", "DEVELOPMENT_PAGE", "DOCS", "FILES", "GENERATED",
    "README", "ROOT", "SANDBOX_PAGE", "SECURITY_PAGE", "TEAM_PAGE", "TOOLS_GUIDE", "TOOLS_PAGE", "VIEWS_PAGE",
    "Count", "regions", "rewrite", "stale",
]

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONTRACT = ROOT / "cdp_mcp" / "sandbox" / "CONTRACT.md"
DOCS = ROOT / "docs"
TOOLS_PAGE = DOCS / "reference" / "tools.md"
"""Every tool: the table, the arguments and results of each, what the server tells the model."""
CONFIGURATION_PAGE = DOCS / "reference" / "configuration.md"
"""Every setting, by concern."""
COMMAND_LINE_PAGE = DOCS / "reference" / "command-line.md"
"""Every command and its options."""
TOOLS_GUIDE = DOCS / "tools.md"
"""How the tools behave and what their results hold: conventions, failures, the fields left out on purpose."""
VIEWS_PAGE = DOCS / "views.md"
"""The customer card and the screening table, and `cdp-mcp card`."""
TEAM_PAGE = DOCS / "team" / "index.md"
"""Deploying for a team: sign-in, grants by scope (the scopes table), refusals."""
SANDBOX_PAGE = DOCS / "sandbox.md"
"""The sandbox served over HTTP, its sample customers."""
SECURITY_PAGE = DOCS / "security.md"
"""The security model: secrets, personal data, the network surface, customer-written content (the sanitizer)."""
DEVELOPMENT_PAGE = DOCS / "development.md"
"""The package's layout and how it is tested."""
_IDENTIFIER_ARGUMENTS = {i.argument for i in IDENTIFIERS}
_TO = "\u2013"  # an en dash between the ends of a range: 1-100 reads as a subtraction


def _names(resources: typing.Iterable[str]) -> str:
    return ", ".join(str(r) for r in resources)


def _tool_resources(spec: ToolSpec) -> str:
    """The resources a tool reads: the required ones, then the optional ones (the gcr lookup every customer tool
    makes is said below the table), or what the tool says it does with them."""
    optional = [r for r in spec.optional_resources if r != Scope.GCR_ID]
    if spec.optional_note:
        return f"{_names(spec.resources)} (+ {spec.optional_note})"
    return _names([*spec.resources, *optional])


def _extra_params(spec: ToolSpec) -> list[str]:
    """The arguments besides the four identifiers every customer tool takes."""
    return [p.name for p in spec.params if not (spec.customer and p.name in _IDENTIFIER_ARGUMENTS)]


def _tool_arguments(spec: ToolSpec) -> str:
    cells = []
    for param in spec.params:
        if param.name not in _extra_params(spec):
            continue
        schema = TypeAdapter(param.annotation).json_schema()
        bound = schema.get("maxItems") if schema.get("type") == "array" else None  # a required list: its bound
        cells.append(f"`{param.name}`" + (f" (≤ {bound})" if bound else ""))
    return ", ".join(cells)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells).replace("|  |", "| |") + " |"


def tools_table() -> str:
    rows = ["| tool | API resource(s) | extra arguments | answers |", "|---|---|---|---|"]
    rows += [_row(f"[`{s.name}`](#{s.name})", _tool_resources(s), _tool_arguments(s), s.summary) for s in all_specs()]
    return "\n".join(rows)


def tool_list() -> str:
    """The README's short list: each tool and what it answers, pointing at its entry in the tools reference."""
    rows = ["| tool | answers |", "|---|---|"]
    rows += [f"| `{s.name}` | {s.summary} |" for s in all_specs()]
    return "\n".join(rows)


def _published_tools() -> list[Any]:
    """The tools as `tools/list` publishes them (tidied, inlined schemas), whatever the environment says."""
    settings = Settings.model_validate({"server": {}})  # by concern: defaults, the environment not read
    tools, _ = build_tools(settings, CallGuard(settings))
    return tools


def _bounds(schema: dict[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if high is not None and high >= 2**53:  # the largest integer every JSON reader keeps exact: no real bound
        high = None
    if low is not None and high is not None:
        return f" {low}{_TO}{high}"
    return f" ≥ {low}" if low is not None else (f" ≤ {high}" if high is not None else "")


def _schema_type(schema: dict[str, Any]) -> str:
    """A property's JSON schema in a few words: `text, ≤ 200 characters`, `integer 1 to 100`, `one of a, b`."""
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        if items.get("type") == "object":
            inner = "objects with " + ", ".join(f"`{k}`" for k in items.get("properties", {}))
        else:
            inner = _schema_type(items)
        count = (schema.get("minItems"), schema.get("maxItems"))
        size = f", {count[0]}{_TO}{count[1]} items" if None not in count else ""
        return f"list of {inner}{size}"
    if kind == "string":
        longest = schema.get("maxLength")
        return "text" + (f", ≤ {longest} characters" if longest else "")
    if kind in ("integer", "number"):
        return f"{kind}{_bounds(schema)}"
    return str(kind or "any")


def _argument_rows(tool: Any, spec: ToolSpec) -> list[str]:
    properties: dict[str, Any] = tool.parameters.get("properties", {})
    required = set(tool.parameters.get("required", []))
    rows = []
    for name in _extra_params(spec):
        schema = properties[name]
        when = "required" if name in required else (f"default `{schema['default']}`" if "default" in schema
                                                     else "optional")
        rows.append(f"| `{name}` | {_schema_type(schema)} | {when} | {schema.get('description', '')} |")
    return rows


def _result_keys(tool: Any) -> str:
    properties: dict[str, Any] = (tool.output_schema or {}).get("properties", {})
    return ", ".join(f"`{key}`" + (f" ({p['description'].rstrip('.')})" if p.get("description") else "")
                     for key, p in properties.items())


def _tool_entry(tool: Any, spec: ToolSpec) -> str:
    needs = scopes_for(spec.resources)
    optional = [s for s in scopes_for(r for r in spec.optional_resources if r != Scope.GCR_ID) if s not in needs]
    lookup = spec.customer and Scope.GCR_ID not in spec.resources  # the gcr lookup that names the customer
    lines = [f"### `{spec.name}`", "", f"**{spec.title}.** {spec.description}", ""]
    facts = [f"- **Reads**: {_tool_resources(spec)}" + (" (and the gcr lookup, when called without `gcr_id`)"
                                                          if lookup else ""),
             f"- **Scopes** (with sign-in): {', '.join(f'`{s}`' for s in needs)}, or `{BROAD_SCOPE}`"
             + (f"; the parts that need {', '.join(f'`{s}`' for s in optional)} only with those" if optional else "")]
    if spec.customer:
        facts.append("- **Customer**: at least one of " + ", ".join(f"`{i.argument}`" for i in IDENTIFIERS))
    if spec.view:
        facts.append(f"- **View**: `{spec.view}` in hosts with MCP Apps ([the views](../views.md))")
    lines += facts
    arguments = _argument_rows(tool, spec)
    if arguments:
        lines += ["", "| argument | type | given | meaning |", "|---|---|---|---|", *arguments]
    lines += ["", f"Result: {_result_keys(tool)}."]
    return "\n".join(lines)


def tool_details() -> str:
    """Each tool as `tools/list` publishes it: its description, the data it reads, its arguments and result keys."""
    specs = {s.name: s for s in all_specs()}
    return "\n\n".join(_tool_entry(tool, specs[tool.name]) for tool in _published_tools())


def identifiers_table() -> str:
    """The four identifiers every customer tool takes, as the first customer tool publishes them."""
    tool = next(t for t, s in zip(_published_tools(), all_specs(), strict=True) if s.customer)
    properties = tool.parameters["properties"]
    rows = ["| argument | type | names the customer by |", "|---|---|---|"]
    rows += [f"| `{i.argument}` | {_schema_type(properties[i.argument])} | {i.description} |" for i in IDENTIFIERS]
    return "\n".join(rows)


def server_instructions() -> str:
    return "```text\n" + instructions(all_specs()) + "\n```"


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
        alike: dict[tuple[str, ...], list[str]] = {}  # the tools that need the same scopes, named together
        for name, scopes in needing:
            if len(scopes) > 1:
                alike.setdefault(tuple(scopes), []).append(name)
        several = [f"{_and(names)} {'needs' if len(names) == 1 else 'need'} {_and(list(scopes))}"
                   for scopes, names in alike.items()]
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


def literal(value: Any) -> str:
    """A default as the docs write it: `false`, `5` for 5.0, `minutes`."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _default(setting: Declared) -> str:
    factory = setting.field.default_factory
    if factory is not None:  # computed where it runs (a platform's directory): its docstring says what
        return (inspect.getdoc(factory) or "").split(":", 1)[0].split(".", 1)[0].strip().lower()
    if setting.field.default is None:
        return "unset"
    return f"`{literal(setting.field.default)}`"


def _number(value: float) -> str:
    """A bound as people read it: 1,000,000, but 65535 (a port) and 3600 as they are written elsewhere."""
    return f"{value:,}" if value >= 100_000 else str(value)


def _kind(setting: Declared) -> str:
    """What the value is, and the bounds the declaration puts on it."""
    annotation = setting.field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(f"`{v}`" for v in typing.get_args(annotation))
    kinds = [a for a in (annotation, *typing.get_args(annotation)) if a is not type(None)]
    if setting.secret:
        return "secret"
    if any(typing.get_origin(a) is list for a in kinds):
        return "comma-separated list"
    metadata = setting.field.metadata
    low = next((f"≥ {_number(m.ge)}" for m in metadata if isinstance(m, Ge)),
               next((f"> {_number(m.gt)}" for m in metadata if isinstance(m, Gt)), ""))
    high = next((f"≤ {_number(m.le)}" for m in metadata if isinstance(m, Le)),
                next((f"< {_number(m.lt)}" for m in metadata if isinstance(m, Lt)), ""))
    if low.startswith("≥") and high.startswith("≤"):
        low, high = f"{low[2:]}{_TO}{high[2:]}", ""
    names = {bool: "`true` or `false`", int: "whole number", float: "number", Path: "path", str: "text"}
    kind = next((names[a] for a in kinds if a in names), "text")
    return ", ".join(part for part in (kind, " ".join(p for p in (low, high) if p)) if part)


def settings_reference() -> str:
    """Every setting by concern, as its config object declares it: variable, default, kind and bounds, meaning."""
    parts = []
    for group, holder in Settings.model_fields.items():
        config = holder.annotation
        assert isinstance(config, type) and issubclass(config, BaseModel)
        about = (inspect.getdoc(config) or "").split("\n\n", 1)[0].replace("\n", " ")
        rows = ["| variable | default | value | meaning |", "|---|---|---|---|"]
        rows += [f"| `{s.env}` | {_default(s)} | {_kind(s)} | {s.description} |" for s in SETTINGS
                 if s.group == group]
        parts.append(f"### {group}\n\n{about}\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def _option(action: argparse.Action) -> str:
    if isinstance(action, argparse._SubParsersAction):
        return "`" + str(action.metavar or "COMMAND") + "`"
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`" + (" …" if action.nargs in ("*", "+") else "")
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return f"`{names}`"
    value = action.metavar or ("{" + ",".join(map(str, action.choices)) + "}" if action.choices else
                               action.dest.upper())
    return f"`{names} {value}`"


def _help(action: argparse.Action) -> str:
    text = (action.help or "") % {"default": action.default, "prog": "cdp-mcp"}
    if isinstance(action, argparse._SubParsersAction):
        choices = [f"`{a.dest}`: {a.help}" for a in action._choices_actions]
        text = "; ".join(choices)
    return text.replace("|", "\\|").replace("\n", " ")


def _command_parser(command: str) -> argparse.ArgumentParser:
    top = build_parser([command])
    (sub,) = (a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = sub.choices[command]
    return parser


def _command_entry(command: str) -> str:
    parser = _command_parser(command)
    rows = [f"| {_option(a)} | {_help(a)} |" for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    table = "\n".join(["| argument | meaning |", "|---|---|", *rows]) if rows else "No arguments."
    extra = ""
    for action in (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)):
        # a command's own subcommands (`config HOST`): their options, said once for those that share them
        shared: dict[tuple[str, ...], list[str]] = {}
        for name, sub in action.choices.items():
            options = tuple(f"| {_option(a)} | {_help(a)} |" for a in sub._actions
                            if not isinstance(a, argparse._HelpAction))
            if options:
                shared.setdefault(options, []).append(name)
        for options, names in shared.items():
            which = ", ".join(f"`{n}`" for n in names)
            extra += f"\n\nWith {which}:\n\n" + "\n".join(["| argument | meaning |", "|---|---|", *options])
    description = (parser.description or COMMANDS[command]).replace("\n", " ")
    return f"### `cdp-mcp {command}`\n\n{description}\n\n{table}{extra}"


def commands_reference() -> str:
    """Every command with each argument it takes and its help, as `cdp-mcp COMMAND --help` says them."""
    return "\n\n".join(_command_entry(command) for command in COMMANDS)


def sanitizer_rules() -> str:
    """The sanitizer's table: each rule, the strings it applies to, what it removes and why."""
    rows = ["| rule | applies to | removes | why |", "|---|---|---|---|"]
    rows += [f"| {r.name} | {r.scope.value} | {r.removes} | {r.why} |" for r in RULES]
    return "\n".join(rows)


def samples_table() -> str:
    """The sandbox's well-known customers, the same in every sandbox whatever its size."""
    rows = ["| label | gcr_id | email | mobile | customer_code | what it is for |", "|---|---|---|---|---|---|"]
    for s in sample_customers():
        cells = [s.label, s.gcr_id, s.email, s.mobile, s.customer_code, s.description]
        rows.append("| " + " | ".join("(none)" if c is None else str(c) for c in cells) + " |")
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
    """A number inside a sentence that the code decides: `{n}` marks it in `phrase`."""

    phrase: str
    value: Callable[[], int]

    def pattern(self) -> re.Pattern[str]:
        before, after = (re.escape(part) for part in self.phrase.split("{n}"))
        return re.compile(f"({before})\\d+({after})")


_TOOL_COUNT = Count("**{n} tools**", lambda: len(all_specs()))  # all read-only but cancel_screening
_RESOURCE_TOOL_COUNT = Count("one per API resource ({n})", lambda: len(profile_specs()))
COUNTS: dict[Path, tuple[Count, ...]] = {
    README: (_TOOL_COUNT, _RESOURCE_TOOL_COUNT),
    DOCS / "index.md": (_TOOL_COUNT, _RESOURCE_TOOL_COUNT),
    SANDBOX_PAGE: (Count("for client developers: all {n} profile resources", lambda: len(RESOURCES)),),
}

GENERATED: dict[Path, dict[str, Callable[[], str]]] = {
    README: {"tool list": tool_list},
    TOOLS_PAGE: {"tools": tools_table, "identifiers": identifiers_table, "tool details": tool_details,
                 "instructions": server_instructions},
    TOOLS_GUIDE: {"left out": left_out_table},
    TEAM_PAGE: {"scopes": scopes_table},
    CONFIGURATION_PAGE: {"settings": settings_reference},
    COMMAND_LINE_PAGE: {"commands": commands_reference},
    SANDBOX_PAGE: {"samples": samples_table},
    SECURITY_PAGE: {"sanitizer rules": sanitizer_rules},
    CONTRACT: {"resource data": resource_data_table},
}
"""Each file with generated regions, and what writes each region."""
FILES: tuple[Path, ...] = tuple(dict.fromkeys([*GENERATED, *COUNTS]))


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- generated: {name} -->", f"<!-- end of generated: {name} -->"


def regions(text: str, name: str) -> Iterator[tuple[int, int]]:
    """Where each region `name` holds its generated lines (start and end offsets; empty in a new region)."""
    begin, end = _markers(name)
    for match in re.finditer(re.escape(begin) + r"\n((?:.*?\n)?)" + re.escape(end), text, re.S):
        yield match.start(1), match.end(1)


def rewrite(path: Path) -> str:
    """The text `path` should hold: each generated region written anew, each count set."""
    text = path.read_text(encoding="utf-8")
    for name, write in GENERATED.get(path, {}).items():
        found = list(regions(text, name))
        assert len(found) == 1, f"{path.name} must hold one region {_markers(name)}"
        start, end = found[0]
        text = text[:start] + write() + "\n" + text[end:]
    for count in COUNTS.get(path, ()):
        text, changed = count.pattern().subn(lambda m, c=count: f"{m.group(1)}{c.value()}{m.group(2)}", text)
        assert changed == 1, f"{path.relative_to(ROOT)} must say {count.phrase!r} once"
    return text


def stale() -> list[Path]:
    """The files whose generated parts differ from what the code writes now."""
    return [path for path in FILES if path.read_text(encoding="utf-8") != rewrite(path)]

