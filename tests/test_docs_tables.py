"""The docs' tables say what the code does: the configuration reference lists every setting once with its default,
the tools reference every tool with its API resources and extra arguments (both generated: tests/generated_docs.py,
and read back here against the declarations), the README's command table every command with options it really
takes, and the development guide's package layout every module and package of `cdp_mcp/` and nothing that is not
there."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from pydantic_core import PydanticUndefined

from cdp_mcp.catalog import IDENTIFIERS, RESOURCE_NAMES, Scope
from cdp_mcp.cli import COMMANDS, build_parser
from cdp_mcp.commands.config import HOSTS
from cdp_mcp.settings import SETTINGS
from cdp_mcp.tools.registry import all_specs
from tests.generated_docs import CONFIGURATION_PAGE, DEVELOPMENT_PAGE, README, ROOT, TOOLS_PAGE, literal

PACKAGE = ROOT / "cdp_mcp"


def section(page: Path, heading: str) -> str:
    """The page's text under `heading` (a whole line such as "## Tools"), up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    text = page.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1]
    return re.split(rf"\n{level} ", text, maxsplit=1)[0]


def table(text: str) -> list[list[str]]:
    """Every markdown table row in `text` but headers (a row followed by a separator) and separators, as cells."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    separator = [set(row[0]) <= {"-", ":"} for row in rows]
    return [row for i, row in enumerate(rows) if not separator[i] and not (i + 1 < len(rows) and separator[i + 1])]


def quoted(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _settings_tables() -> str:
    text = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    return text.split("<!-- generated: settings -->", 1)[1].split("<!-- end of generated: settings -->", 1)[0]


def test_the_configuration_reference_lists_every_setting_once_with_its_default() -> None:
    rows = table(_settings_tables())
    listed: dict[str, str] = {}
    for variable, default, *_ in rows:
        (name,) = quoted(variable)
        assert name not in listed, f"{name} is listed twice"
        listed[name] = default
    declared = {setting.env: setting for setting in SETTINGS}
    assert sorted(listed) == sorted(declared)
    compared = 0
    for name, written in listed.items():
        default = declared[name].field.default
        if default not in (None, PydanticUndefined):
            assert quoted(written) == [literal(default)], f"the docs give {name} the default {written}, not {default!r}"
            compared += 1
        elif default is None:
            assert written == "unset", name
    assert compared >= 10  # the check reads the literals (a change to the table's layout would skip them all)


def test_the_configuration_reference_names_each_concern_with_its_settings() -> None:
    """Each concern's heading holds exactly the settings its config object declares."""
    for concern in dict.fromkeys(s.group for s in SETTINGS):
        rows = table(_settings_tables().split(f"### {concern}\n", 1)[1].split("\n### ", 1)[0])
        assert [quoted(row[0])[0] for row in rows] == [s.env for s in SETTINGS if s.group == concern], concern


def test_the_tools_reference_lists_every_tool_with_its_resources_and_arguments() -> None:
    """The optional gcr lookup that names the customer (every customer tool's) is said once, below the table."""
    text = section(TOOLS_PAGE, "## The tools")
    rows = table(text)
    specs = all_specs()
    assert [quoted(row[0])[0] for row in rows] == [s.name for s in specs]  # tools/list order
    assert "gcr lookup" in text.rsplit("|\n", 1)[1]
    for (_, resources, extra, _), spec in zip(rows, specs, strict=True):
        named = set(re.findall(r"[A-Za-z]+", resources)) & RESOURCE_NAMES
        optional = [r for r in spec.optional_resources if r != Scope.GCR_ID]
        assert named == {str(r) for r in (*spec.resources, *optional)}, spec.name
        arguments = [p.name for p in spec.params if not (spec.customer and p.name in {i.argument for i in IDENTIFIERS})]
        assert set(quoted(extra)) == set(arguments), spec.name


def test_each_tool_has_its_entry_with_every_extra_argument() -> None:
    details = section(TOOLS_PAGE, "## Each tool")
    for spec in all_specs():
        entry = details.split(f"### `{spec.name}`\n", 1)[1].split("\n### ", 1)[0]
        assert spec.description in entry, spec.name
        extra = [p.name for p in spec.params if not (spec.customer and p.name in {i.argument for i in IDENTIFIERS})]
        assert [quoted(row[0])[0] for row in table(entry)] == extra, spec.name


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option a parser takes, its subcommands' (config HOST ...) included."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_the_readme_command_table_lists_every_command_with_options_it_takes() -> None:
    rows = table(section(README, "## Command line"))
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
    tree = section(DEVELOPMENT_PAGE, "## The package").split("```", 2)[1]
    package = tree.split("\ntests/", 1)[0]
    named = set(re.findall(r"(?<![\w./])(\w+\.py|\w+/)(?=\s)", package)) - {"cdp_mcp/"}
    present = {p.name + ("/" if p.is_dir() else "") for p in PACKAGE.iterdir()
               if p.name not in {"__init__.py", "__pycache__"} and (p.is_dir() or p.suffix == ".py")}
    assert sorted(named) == sorted(present)

