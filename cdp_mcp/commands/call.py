"""`cdp-mcp call TOOL key=value ...`: one tool call from the shell, for debugging and scripts.

The server runs in process against the configured API (or the embedded sandbox). The compact JSON result
goes to stdout; an `is_error` result goes to stderr with exit code 1. Values are parsed against the tool's
input schema: string arguments stay strings (a mobile number is not an integer), other values are JSON
when they parse as JSON, a comma list fills an array argument, and a repeated key makes a list.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import Client
from mcp.types import CallToolResult

from cdp_mcp.commands.common import EXIT_CONFIG, EXIT_FAILURE, load_settings, report_error, say
from cdp_mcp.commands.inprocess import connect, result_text
from cdp_mcp.errors import InvalidInputError
from cdp_mcp.settings import Settings

__all__ = ["DESCRIPTION", "Called", "add_arguments", "call_from_shell", "parse_arguments", "run", "tool_arguments"]

DESCRIPTION = ("Call one tool in process. Values are JSON when they parse as JSON (numbers, lists, objects), else "
               "strings; string arguments stay strings. Repeat a key to pass a list.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tool", help="tool name, e.g. get_customer_profile")
    parser.add_argument("arguments", nargs="*", metavar="key=value", help="e.g. email=ada@example.com limit=3")
    parser.add_argument("--tools", metavar="A,B", help="allowlist of tool names; overrides CDP_TOOLS")


def _types(schema: Mapping[str, Any] | None) -> set[str]:
    """The JSON types a property accepts (through anyOf / oneOf), `null` left out."""
    if not schema:
        return set()
    found: set[str] = set()
    kind = schema.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(k for k in kind if isinstance(k, str))
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key) or ():
            found |= _types(option)
    return found - {"null"}


def _value(raw: str, types: set[str]) -> Any:
    if types == {"string"}:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if "array" in types and not isinstance(value, list):
        value = [part.strip() for part in raw.split(",") if part.strip()] if isinstance(value, str) else [value]
    return value


def parse_arguments(pairs: Sequence[str], input_schema: Mapping[str, Any]) -> dict[str, Any]:
    """`key=value` words to tool arguments, typed by the tool's input schema.

    Raises:
        InvalidInputError: a word without `=`, or a key the tool does not take.
    """
    properties: Mapping[str, Any] = input_schema.get("properties") or {}
    arguments: dict[str, Any] = {}
    repeated: set[str] = set()
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInputError(f"{pair!r} is not key=value.", hint="For example: email=ada@example.com limit=3")
        if properties and key not in properties:
            raise InvalidInputError(f"The tool takes no argument {key!r}.",
                                    hint=f"Its arguments: {', '.join(properties)}.")
        types = _types(properties.get(key))
        value = _value(raw, types)
        if key in arguments:
            previous = arguments[key]
            if not (isinstance(previous, list) and (key in repeated or "array" in types)):
                previous = [previous]
            arguments[key] = [*previous, *(value if isinstance(value, list) else [value])]
            repeated.add(key)
        else:
            arguments[key] = value
    return arguments


async def tool_arguments(client: Client, tool: str, pairs: Sequence[str]) -> dict[str, Any] | None:
    """The arguments for a served `tool`, typed by its input schema; None after saying on stderr why not."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    if tool not in tools:
        say(f"no tool named {tool!r} is served (check CDP_TOOLS / CDP_RESOURCES).")
        print(f"  available: {', '.join(tools)}", file=sys.stderr)
        return None
    try:
        return parse_arguments(pairs, tools[tool].input_schema)
    except InvalidInputError as exc:
        report_error(exc)
        return None


@dataclass(frozen=True, slots=True)
class Called:
    """A tool called from the shell: the arguments its `key=value` words became, and its successful result."""

    arguments: dict[str, Any]
    result: CallToolResult


async def call_from_shell(settings: Settings, tool: str, pairs: Sequence[str], *,
                          structured: bool = False) -> Called | int:
    """Call `tool` in process with `key=value` words (`call`, `card`); on failure say why on stderr instead.

    Returns the call, or the exit code: EXIT_CONFIG when the tool is not served or the words do not fit it,
    EXIT_FAILURE for an error result (its message on stderr), or, with `structured`, a result without
    structured content.
    """
    async with connect(settings) as (client, _):
        arguments = await tool_arguments(client, tool, pairs)
        if arguments is None:
            return EXIT_CONFIG
        result = await client.call_tool(tool, arguments)
    if result.is_error or (structured and result.structured_content is None):
        print(result_text(result), file=sys.stderr)
        return EXIT_FAILURE
    return Called(arguments, result)


async def _call(settings: Settings, tool: str, pairs: Sequence[str]) -> int:
    called = await call_from_shell(settings, tool, pairs)
    if isinstance(called, int):
        return called
    print(result_text(called.result))
    return 0


def run(args: argparse.Namespace) -> int:
    settings = load_settings(quiet=True, tools=args.tools)
    return anyio.run(_call, settings, args.tool, args.arguments)
