"""Start an unpacked MCP Bundle the way a host does, and list its tools with the official SDK client.

A host reads `server.mcp_config` from the bundle's manifest, replaces `${__dirname}` with the folder it
unpacked the bundle to and `${user_config.KEY}` with what the user entered (an optional field left empty
becomes an empty string; a default applies when the user entered nothing), then spawns the command with
those arguments and environment variables. `launch()` does exactly that.

For a `uv` bundle the command is `uv run --directory <bundle> cdp-mcp serve`: the host's uv installs Python
and the dependencies of the bundle's pyproject.toml (network), then runs the project's script. Tests have
no network, so `uv_stand_in()` writes a `uv` that does what `uv run` does once that environment exists:
run the script in the bundle folder, the bundle's own package first on the path, with the dependencies
of the test environment. CI runs the real uv as well (`python tests/packaging/host.py BUNDLE`).

    python tests/packaging/host.py dist/cdp-mcp-0.1.0.mcpb [--stand-in]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

__all__ = ["launch", "list_tools", "unpack", "uv_stand_in"]

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_NETWORK = frozenset({"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy",
                      "http_proxy", "no_proxy"})

STAND_IN = '''#!{python}
"""A stand-in for `uv run --directory DIR SCRIPT ARGS...` once uv has synced DIR's environment."""
import os, sys
args = sys.argv[1:]
assert args[:2] == ["run", "--directory"], args
os.chdir(args[2])
script, rest = args[3], args[4:]
sys.path.insert(0, os.getcwd())
import cdp_mcp  # what the server will import: the bundle's own package, not the test environment's
with open(os.environ["UV_STAND_IN_LOG"], "a") as log:
    log.write(os.getcwd() + "\\n" + cdp_mcp.__file__ + "\\n")
code = "import sys, cdp_mcp; from cdp_mcp.cli import main; sys.exit(main())"
os.execv(sys.executable, [sys.executable, "-c", code, *rest])  # -c puts the bundle folder first on sys.path
'''


def unpack(bundle: Path, into: Path) -> dict[str, Any]:
    """Unzip `bundle` into `into` and return its manifest."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(into)
    return json.loads((into / "manifest.json").read_text(encoding="utf-8"))


def launch(manifest: dict[str, Any], folder: Path, entered: dict[str, Any], *,
           extra_env: dict[str, str] | None = None, path: str | None = None) -> StdioServerParameters:
    """The server as the host would start it, with the user's entries (`entered`) substituted."""
    config = manifest["server"]["mcp_config"]
    user_config = manifest.get("user_config", {})

    def value(key: str) -> str:
        if key == "__dirname":
            return str(folder)
        name = key.removeprefix("user_config.")
        given = entered.get(name, user_config.get(name, {}).get("default", ""))
        return json.dumps(given) if isinstance(given, bool) else str(given)

    def substitute(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: value(m.group(1)), text)

    command = shutil.which(config["command"], path=path) or config["command"]
    env = {k: substitute(v) for k, v in config.get("env", {}).items()}
    return StdioServerParameters(command=command, args=[substitute(a) for a in config.get("args", [])],
                                 env={**env, **(extra_env or {}), "PATH": path or os.environ.get("PATH", "")})


def uv_stand_in(folder: Path) -> Path:
    """A folder holding an executable `uv` stand-in (see the module docstring), to put first on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "uv"
    script.write_text(STAND_IN.replace("{python}", sys.executable), encoding="utf-8")
    script.chmod(0o755)
    return folder


async def list_tools(params: StdioServerParameters) -> list[str]:
    async with Client(params) as client:
        return [tool.name for tool in (await client.list_tools()).tools]


def main(argv: list[str]) -> int:
    bundle, stand_in = Path(argv[0]), "--stand-in" in argv
    with tempfile.TemporaryDirectory(prefix="cdp-mcp-bundle-") as tmp:
        folder = Path(tmp) / "unpacked"
        manifest = unpack(bundle, folder)
        path = os.environ.get("PATH", "")
        extra = {"CDP_STATE_DIR": str(Path(tmp) / "state"), "HOME": os.environ.get("HOME", tmp)}
        # What a desktop host inherits from the session: how this machine reaches PyPI (proxy, CA bundle).
        extra |= {k: v for k, v in os.environ.items() if k in _NETWORK or k.startswith("UV_")}
        if stand_in:
            path = f"{uv_stand_in(Path(tmp) / 'bin')}{os.pathsep}{path}"
            extra["UV_STAND_IN_LOG"] = str(Path(tmp) / "stand-in.log")
        tools = anyio.run(list_tools, launch(manifest, folder, {}, extra_env=extra, path=path))
    print(f"{bundle}: {len(tools)} tools: {', '.join(tools)}")
    return 0 if tools else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
