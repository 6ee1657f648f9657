"""The README's tables say what the code does: the configuration table lists every setting (with its default
where the table gives one literal), the tools table (generated: tests/generated_docs.py) every tool with its API
resources and extra arguments, the command-line table every command with options it really takes, and the
development layout every module and package of `cdp_mcp/` and nothing that is not there."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from cdp_mcp.catalog import IDENTIFIERS, RESOURCE_NAMES, Scope
from cdp_mcp.cli import COMMANDS, build_parser
from cdp_mcp.commands.config import HOSTS
from cdp_mcp.settings import SETTINGS
from cdp_mcp.tools.registry import all_specs

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PACKAGE = ROOT / "cdp_mcp"


def section(heading: str) -> str:
    """The README's text under `heading` (a whole line such as "## Tools"), up to the next heading."""
    return README.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]


def table(text: str) -> list[list[str]]:
    """The first markdown table in `text`: its rows (header and separator left out) as lists of cells."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|")]
    return [row for row in rows[1:] if not set(row[0]) <= {"-", ":"}]


def quoted(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _literal(value: Any) -> str:
    """A default as the README writes it: `false`, `5` for 5.0, `minutes`."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_the_configuration_table_lists_every_setting_with_its_default() -> None:
    rows = table(section("## Configuration"))
    listed: dict[str, str] = {}
    for variables, default, _ in rows:
        names = [n for n in quoted(variables) if not n.startswith("OTEL_")]  # OpenTelemetry's own variables
        values = quoted(default)
        for i, name in enumerate(names):
            assert name not in listed, f"{name} is listed twice"
            listed[name] = values[i] if len(values) == len(names) else ""  # one literal each, or prose
    declared = {setting.env: setting for setting in SETTINGS}
    assert sorted(listed) == sorted(declared)
    compared = 0
    for name, written in listed.items():
        default = declared[name].field.default
        if written and default not in (None, PydanticUndefined):
            assert written == _literal(default), f"README gives {name} the default {written}, Settings {default!r}"
            compared += 1
    assert compared >= 10  # the check reads the literals (a change to the table's layout would skip them all)


def test_the_tools_table_lists_every_tool_with_its_resources_and_arguments() -> None:
    """The optional gcr lookup that names the customer (every customer tool's) is said once, below the table."""
    text = section("## Tools")
    rows = table(text)
    specs = all_specs()
    assert [quoted(row[0])[0] for row in rows] == [s.name for s in specs]  # tools/list order
    assert "gcr lookup" in text.split("\n|", 1)[0] + text.rsplit("|\n", 1)[1]
    for (_, resources, extra, _), spec in zip(rows, specs, strict=True):
        named = set(re.findall(r"[A-Za-z]+", resources)) & RESOURCE_NAMES
        optional = [r for r in spec.optional_resources if r != Scope.GCR_ID]
        assert named == {str(r) for r in (*spec.resources, *optional)}, spec.name
        arguments = [p.name for p in spec.params if not (spec.customer and p.name in {i.argument for i in IDENTIFIERS})]
        assert set(quoted(extra)) == set(arguments), spec.name


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option a parser takes, its subcommands' (config HOST ...) included."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_the_command_line_table_lists_every_command_with_options_it_takes() -> None:
    rows = table(section("## Command line"))
    mentioned: set[str] = set()
    for usage, what in rows:
        commands = re.findall(r"`cdp-mcp (\w[\w-]*)", usage) or re.findall(r"\w[\w-]*", usage.partition("(")[2])
        commands = [c for c in commands if c in COMMANDS]
        assert commands, f"a row names no command: {usage}"
        mentioned.update(commands)
        for command in commands:
            top = build_parser([command])
            (sub,) = (a for a in top._actions if isinstance(a, argparse._SubParsersAction))
            taken = _options(sub.choices[command])
            for option in re.findall(r"--[a-z][\w-]*", usage):
                assert option in taken, f"cdp-mcp {command} takes no {option}"
        if "config" in commands:
            assert set(quoted(what)) >= set(HOSTS)
    assert mentioned == set(COMMANDS)


def test_the_development_layout_lists_what_the_package_holds() -> None:
    tree = section("## Development").split("```", 2)[1]
    package = tree.split("\ntests/", 1)[0]
    named = set(re.findall(r"(?<![\w./])(\w+\.py|\w+/)(?=\s)", package)) - {"cdp_mcp/"}
    present = {p.name + ("/" if p.is_dir() else "") for p in PACKAGE.iterdir()
               if p.name not in {"__init__.py", "__pycache__"} and (p.is_dir() or p.suffix == ".py")}
    assert sorted(named) == sorted(present)
