"""`cdp-mcp config HOST`: the entry that adds cdp-mcp to an MCP host, in that host's documented format.

Hosts: claude-desktop, claude-code (a `claude mcp add` command line), vscode (`.vscode/mcp.json`), cursor,
windsurf, and http (a remote entry with an `Authorization` header, for hosts that connect by URL). The stdio
entries start this installation's `cdp-mcp` by absolute path: hosts start servers with a minimal PATH (the
classic `spawn uvx ENOENT`). Secrets are never printed, only references in each host's own syntax (VS Code
prompts for them and keeps them in its secret storage; Cursor and Windsurf read `${env:NAME}`; the Claude Code
line expands `$NAME` from your shell); Claude Desktop has no such syntax, so its entry carries placeholders.
The API URL, not a secret, is filled in when configured. The output gets pasted and shared; it holds nothing
that this environment's secrets could leak into. Run by `uvx`, this installation lives in uv's cache, which uv
may clean: the entry would then point nowhere, so config warns and names `uv tool install`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdp_mcp.commands.common import mcp_url, say
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.settings import Settings, declared

__all__ = [
    "DEFAULT_HTTP_URL",
    "DESCRIPTION",
    "HOSTS",
    "PLACEHOLDERS",
    "Entry",
    "Host",
    "add_arguments",
    "entry_for",
    "in_uv_cache",
    "run",
    "server_command",
]

DESCRIPTION = ("Print the entry that adds cdp-mcp to an MCP host. Secrets appear only as references (or "
               "placeholders for Claude Desktop); --sandbox gives an entry that needs no credentials.")
DEFAULT_HTTP_URL = mcp_url()
"""Where `cdp-mcp serve --transport http` listens by default."""

_REFERABLE = {setting.env: setting for setting in map(declared, ("b2b_api_url", "tenant_hash", "oauth_key_secret",
                                                                  "mcp_auth_token"))}
"""The variables an entry may refer to (or hold placeholders for), with their declarations."""
_API_URL, _TENANT, _OAUTH_SECRET, _TOKEN = _REFERABLE
PLACEHOLDERS: dict[str, str] = {
    _API_URL: "https://<your-api-host>/rcdpapi",
    _TENANT: "<your tenant hash>",
    _OAUTH_SECRET: "<your OAuth key secret>",
}
"""What the user fills in where a host cannot reference a secret (Claude Desktop's config file)."""


def server_command() -> tuple[str, list[str]]:
    """The absolute command and arguments that start this installation's stdio server."""
    script = "cdp-mcp.exe" if sys.platform == "win32" else "cdp-mcp"
    bindir = Path(sys.executable).parent
    for candidate in (bindir / script, bindir / "Scripts" / script):
        if candidate.is_file():
            return str(candidate.absolute()), ["serve"]
    found = shutil.which("cdp-mcp")
    if found:
        return str(Path(found).absolute()), ["serve"]
    return str(Path(sys.executable).absolute()), ["-m", "cdp_mcp", "serve"]


_UV_CACHE_ENTRY = re.compile(r"(archive|builds)-v\d+")
"""The folders of uv's cache that hold the environments uvx runs tools in (`~/.cache/uv/archive-v0/<hash>`)."""


def in_uv_cache(command: str) -> bool:
    """Whether `command` lies in uv's cache (run by `uvx`), which `uv cache clean` or an upgrade may remove."""
    path = Path(command).absolute()
    cache = os.environ.get("UV_CACHE_DIR")
    if cache and path.is_relative_to(Path(cache).expanduser().absolute()):
        return True
    parts = path.parts
    return any(_UV_CACHE_ENTRY.fullmatch(part) and "uv" in parts[:index] for index, part in enumerate(parts))


@dataclass(frozen=True)
class Entry:
    """What every host entry is made of: a local server to start, or a remote one to reach."""

    name: str
    env: dict[str, str]  # local: variables for the server (values may be references)
    command: str = ""
    args: tuple[str, ...] = ()
    url: str | None = None  # remote: the server's /mcp URL
    token: bool = False  # remote: send Authorization: Bearer <CDP_MCP_AUTH_TOKEN>
    referenced: tuple[str, ...] = ()  # the variables the entry refers to (or has placeholders for), token included


def _vscode_inputs(names: list[str]) -> list[dict[str, Any]]:
    return [{"type": "promptString", "id": _input_id(name), "description": f"{name}: {_REFERABLE[name].description}",
             "password": _REFERABLE[name].secret} for name in names]


def _input_id(name: str) -> str:
    return name.lower().replace("_", "-")


def _claude_desktop(entry: Entry) -> Any:
    if entry.url is not None:
        raise ConfigurationError(
            "Claude Desktop's configuration file starts local servers only.",
            hint="Use `cdp-mcp config claude-desktop` (a local server) or `cdp-mcp bundle`; remote servers are "
                 "added in Claude Desktop under Settings > Connectors.")
    return {"mcpServers": {entry.name: {"command": entry.command, "args": list(entry.args), "env": entry.env}}}


def _claude_code(entry: Entry) -> str:
    # Options before the name, as documented; --env after it, because the option takes several values.
    if entry.url is not None:
        line = shlex.join(["claude", "mcp", "add", "--scope", "user", "--transport", "http", entry.name, entry.url])
        return line + (f' --header "Authorization: Bearer ${_TOKEN}"' if entry.token else "")
    line = shlex.join(["claude", "mcp", "add", "--scope", "user", "--transport", "stdio", entry.name])
    for key, value in entry.env.items():  # "$NAME" is left for the shell to expand when the line runs
        line += f' --env "{key}={value}"' if value.startswith("$") else " --env " + shlex.quote(f"{key}={value}")
    return line + " " + shlex.join(["--", entry.command, *entry.args])


def _vscode(entry: Entry) -> Any:
    if entry.url is not None:
        server: dict[str, Any] = {"type": "http", "url": entry.url}
        if entry.token:
            server["headers"] = {"Authorization": f"Bearer ${{input:{_input_id(_TOKEN)}}}"}
    else:
        server = {"type": "stdio", "command": entry.command, "args": list(entry.args), "env": entry.env}
    inputs = _vscode_inputs(list(entry.referenced))
    return {"inputs": inputs, "servers": {entry.name: server}} if inputs else {"servers": {entry.name: server}}


def _mcp_servers(url_key: str, token_ref: str) -> Callable[[Entry], Any]:
    """The `mcpServers` format of Cursor (url) and Windsurf (serverUrl)."""

    def render(entry: Entry) -> Any:
        if entry.url is None:
            server: dict[str, Any] = {"command": entry.command, "args": list(entry.args), "env": entry.env}
        else:
            server = {url_key: entry.url}
            if entry.token:
                server["headers"] = {"Authorization": f"Bearer {token_ref}"}
        return {"mcpServers": {entry.name: server}}

    return render


def _http(entry: Entry) -> Any:
    server: dict[str, Any] = {"type": "http", "url": entry.url}
    if entry.token:
        server["headers"] = {"Authorization": f"Bearer ${{{_TOKEN}}}"}
    return {"mcpServers": {entry.name: server}}


@dataclass(frozen=True)
class Host:
    """One host: how it refers to a variable it should not hold, how it renders an entry, where that goes.

    `references` is said only for an entry that refers to variables (a `--sandbox` entry refers to none).
    """

    help: str
    reference: Callable[[str], str]
    render: Callable[[Entry], Any]
    where: str
    references: str
    remote_only: bool = False

    def advice(self, entry: Entry) -> str:
        """What to do with the printed entry."""
        return f"{self.where} {self.references}" if entry.referenced else self.where


HOSTS: dict[str, Host] = {
    "claude-desktop": Host(
        "a claude_desktop_config.json entry", PLACEHOLDERS.__getitem__, _claude_desktop,
        "merge into claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/; Windows: "
        "%APPDATA%\\Claude\\) and restart Claude Desktop. Or use `cdp-mcp bundle`.",
        "Replace the <...> placeholders first."),
    "claude-code": Host(
        "a `claude mcp add` command line", lambda name: f"${name}", _claude_code,
        "run it in a shell; `--scope project` instead writes a shareable .mcp.json.",
        "Export the CDP_* variables it names first: the shell fills them in, and their values are stored in "
        "~/.claude.json."),
    "vscode": Host(
        "a .vscode/mcp.json file (servers, inputs)", lambda name: f"${{input:{_input_id(name)}}}", _vscode,
        "save as .vscode/mcp.json in your workspace (or merge into `MCP: Open User Configuration`).",
        "VS Code asks for each input once and keeps secrets in its secret storage."),
    "cursor": Host(
        "a ~/.cursor/mcp.json entry", lambda name: f"${{env:{name}}}", _mcp_servers("url", f"${{env:{_TOKEN}}}"),
        "merge into ~/.cursor/mcp.json (or .cursor/mcp.json in a project).",
        "Cursor expands ${env:NAME} from its own environment: start it from a shell where those variables are set."),
    "windsurf": Host(
        "a ~/.codeium/windsurf/mcp_config.json entry", lambda name: f"${{env:{name}}}",
        _mcp_servers("serverUrl", f"${{env:{_TOKEN}}}"),
        "merge into ~/.codeium/windsurf/mcp_config.json and press refresh in Cascade's MCP panel.",
        "Windsurf expands ${env:NAME} from its own environment: start it from a shell where those variables are set."),
    "http": Host(
        "a remote entry (url and Authorization header) in the common mcpServers format",
        lambda name: f"${{{name}}}", _http,
        "this is Claude Code's .mcp.json format; for VS Code, Cursor or Windsurf use `cdp-mcp config HOST --url "
        "URL`. Serve it with `cdp-mcp serve --transport http`.",
        "Claude Code expands ${CDP_MCP_AUTH_TOKEN} from its environment: the server's bearer token.",
        remote_only=True),
}


def entry_for(host: Host, *, name: str = "cdp-mcp", sandbox: bool = False, url: str | None = None,
              settings: Settings | None = None) -> Entry:
    """The entry for `host`: local (this installation's stdio server) unless `url` (or the host) says remote.

    Args:
        sandbox: no credentials: a local server runs the embedded sandbox; a remote one is a loopback server
            without a bearer token.
        settings: the environment's settings; only the API URL (not a secret) and whether an OAuth secret is
            configured are read.
    """
    if url is not None or host.remote_only:
        token = not sandbox
        return Entry(name=name, env={}, url=url or DEFAULT_HTTP_URL, token=token, referenced=(_TOKEN,) * token)
    command, args = server_command()
    referenced: list[str] = []
    env: dict[str, str] = {}
    if not sandbox:
        api_url = settings.api.b2b_api_url if settings is not None else None  # not a secret: filled in when set
        oauth = settings is not None and settings.api.oauth_key_secret is not None
        referenced = [*([] if api_url else [_API_URL]), _TENANT, *([_OAUTH_SECRET] if oauth else [])]
        env = {**({_API_URL: api_url} if api_url else {}), **{n: host.reference(n) for n in referenced}}
    return Entry(name=name, env=env, command=command, args=tuple(args), referenced=tuple(referenced))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    hosts = parser.add_subparsers(dest="host", metavar="HOST", required=True)
    for key, host in HOSTS.items():
        sub = hosts.add_parser(key, help=host.help, description=f"Print {host.help}.")
        sub.add_argument("--name", default="cdp-mcp", help="the server's name in the host (default cdp-mcp)")
        sub.add_argument("--sandbox", action="store_true",
                         help="an entry without a bearer token, for a server on loopback" if host.remote_only else
                         "an entry that needs no credentials: the embedded sandbox (with --url: a server on "
                         "loopback, no bearer token)")
        sub.add_argument("--url", default=None,
                         help=f"connect to cdp-mcp served over HTTP at this URL (default {DEFAULT_HTTP_URL})"
                         if host.remote_only else "connect to a cdp-mcp served over HTTP at this /mcp URL instead")


def run(args: argparse.Namespace) -> int:
    try:
        settings: Settings | None = Settings.load()
    except ConfigurationError:  # a broken environment must not stop us printing a template
        settings = None
    host = HOSTS[args.host]
    entry = entry_for(host, name=args.name, sandbox=args.sandbox, url=args.url, settings=settings)
    rendered = host.render(entry)
    print(rendered if isinstance(rendered, str) else json.dumps(rendered, indent=2))
    say(host.advice(entry))
    if entry.command and in_uv_cache(entry.command):
        say(f"warning: {entry.command} is in uv's cache (this cdp-mcp runs under uvx), which uv may clean at any "
            "time, and the host would then fail to start the server. Install it for good with `uv tool install "
            "cdp-mcp` (or `uv tool install PATH` for a wheel or checkout), then run this command again from there.")
    return 0
