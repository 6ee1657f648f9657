"""`cdp-mcp config claude-desktop`: a ready `claude_desktop_config.json` entry with absolute paths.

Hosts start servers with a minimal PATH (the classic `spawn uvx ENOENT`), so the command is the absolute
path of this installation's `cdp-mcp` script, or this Python with `-m cdp_mcp` when there is none.
Credentials are placeholders, never the values in this environment: the output gets pasted and shared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from cdp_mcp.commands.common import say
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.settings import Settings

__all__ = ["CONFIG_LOCATIONS", "PLACEHOLDERS", "claude_desktop_entry", "run", "server_command"]

PLACEHOLDERS: dict[str, str] = {
    "CDP_B2B_API_URL": "https://<your-api-host>/rcdpapi",
    "CDP_TENANT_HASH": "<your 32-character tenant hash>",
}
"""What the user must fill in. CDP_OAUTH_KEY_SECRET is added by hand only when the tenant enables OAuth."""

CONFIG_LOCATIONS = {
    "macOS": "~/Library/Application Support/Claude/claude_desktop_config.json",
    "Windows": r"%APPDATA%\Claude\claude_desktop_config.json",
}


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


def claude_desktop_entry(*, name: str = "cdp-mcp", sandbox: bool = False,
                         settings: Settings | None = None) -> dict[str, Any]:
    """The `{"mcpServers": {name: {...}}}` object to merge into claude_desktop_config.json.

    Args:
        name: the key under `mcpServers`.
        sandbox: no credentials; the server runs the embedded sandbox (for a first try in the host).
        settings: when it names an API URL, that URL (not a secret) replaces the URL placeholder.
    """
    command, args = server_command()
    env: dict[str, str] = {}
    if not sandbox:
        env = dict(PLACEHOLDERS)
        if settings is not None and settings.b2b_api_url:
            env["CDP_B2B_API_URL"] = settings.b2b_api_url
    return {"mcpServers": {name: {"command": command, "args": args, "env": env}}}


def run(args: argparse.Namespace) -> int:
    try:
        settings: Settings | None = Settings.load()
    except ConfigurationError:  # a broken environment must not stop us printing a template
        settings = None
    entry = claude_desktop_entry(name=args.name, sandbox=args.sandbox, settings=settings)
    print(json.dumps(entry, indent=2))
    where = "; ".join(f"{os_name}: {path}" for os_name, path in CONFIG_LOCATIONS.items())
    say(f"merge this into claude_desktop_config.json ({where}), then restart Claude Desktop.")
    if not args.sandbox:
        say("replace the <...> placeholders; add CDP_OAUTH_KEY_SECRET if your tenant enables OAuth.")
    return 0
