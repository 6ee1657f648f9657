"""`cdp-mcp config HOST`: each entry follows its host's documented format and never carries a secret.

Every format is checked against a sample quoted from that host's documentation (source and wording below):
same top-level key, server fields drawn from the documented ones, the same value types, the host's own syntax
for referencing a value it should not hold. One entry is then used as a host would: spawned with the SDK
client, it lists the tools.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from cdp_mcp.cli import main
from cdp_mcp.commands.config import HOSTS, PLACEHOLDERS
from cdp_mcp.tools.registry import all_specs

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio

SECRET = "hunter2hunter2hunter2hunter2hunt"
OAUTH = "oauth-secret-value-1234"
API = "https://api.example.com/rcdpapi"

# modelcontextprotocol.io/docs/develop/connect-local-servers ("Connect to local MCP servers", Claude Desktop):
# the claude_desktop_config.json that adds the filesystem server; `env` is the documented key for variables.
CLAUDE_DESKTOP = {"mcpServers": {"filesystem": {"command": "npx", "args": [
    "-y", "@modelcontextprotocol/server-filesystem", "/Users/username/Desktop", "/Users/username/Downloads"],
    "env": {"EXAMPLE": "value"}}}}

# code.claude.com/docs/en/mcp ("Option 3: Add a local stdio server" / "Option 1: Add a remote HTTP server"):
CLAUDE_CODE_STDIO = ("claude mcp add --transport stdio airtable --env AIRTABLE_API_KEY=YOUR_KEY "
                     "-- npx -y airtable-mcp-server")
CLAUDE_CODE_HTTP = ('claude mcp add --transport http secure-api https://api.example.com/mcp '
                    '--header "Authorization: Bearer your-token"')
# ... and "Environment variable expansion in .mcp.json": ${VAR} is expanded in command, args, env, url, headers.
CLAUDE_CODE_MCP_JSON = {"mcpServers": {"api-server": {
    "type": "http", "url": "${API_BASE_URL:-https://api.example.com}/mcp",
    "headers": {"Authorization": "Bearer ${API_KEY}"}}}}

# github.com/microsoft/vscode-docs docs/copilot/reference/mcp-configuration.md, "Example server configuration with
# input variables"; HTTP servers take `type` "http", `url` and `headers`
# ({"Authorization": "Bearer ${input:api-token}"}).
VSCODE = {"inputs": [{"type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key",
                      "password": True}],
          "servers": {"perplexity": {"type": "stdio", "command": "npx", "args": ["-y", "server-perplexity-ask"],
                                     "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}"}}}}
VSCODE_HTTP = {"servers": {"context7": {"type": "http", "url": "https://mcp.context7.com/mcp",
                                        "headers": {"Authorization": "Bearer ${input:api-token}"}}}}

# cursor.com/docs/context/mcp ("Using mcp.json": a stdio server, a remote server; "Config interpolation": ${env:NAME}).
CURSOR = {"mcpServers": {"server-name": {"command": "npx", "args": ["-y", "mcp-server"], "env": {"API_KEY": "value"}}}}
CURSOR_REMOTE = {"mcpServers": {"server-name": {"url": "http://localhost:3000/mcp",
                                                "headers": {"API_KEY": "${env:API_KEY}"}}}}

# docs.windsurf.com/windsurf/cascade/mcp ("mcp_config.json": the GitHub server; "Remote HTTP MCPs": serverUrl;
# "Config Interpolation": ${env:AUTH_TOKEN} in command, args, env, serverUrl, url and headers).
WINDSURF = {"mcpServers": {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                                      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "<YOUR_PERSONAL_ACCESS_TOKEN>"}}}}
WINDSURF_REMOTE = {"mcpServers": {"remote-http-mcp": {"serverUrl": "https://<your-server-url>/mcp",
                                                      "headers": {"API_KEY": "Bearer ${env:AUTH_TOKEN}"}}}}


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_B2B_API_URL", API)
    monkeypatch.setenv("CDP_TENANT_HASH", SECRET)
    monkeypatch.setenv("CDP_OAUTH_KEY_SECRET", OAUTH)


def _printed(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    assert main(["config", *argv]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err and OAUTH not in out + err
    return out, err


def _config(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    return json.loads(_printed(capsys, *argv)[0])


def _only(servers: dict[str, Any]) -> dict[str, Any]:
    (server,) = servers.values()
    return server


def _follows(ours: dict[str, Any], documented: dict[str, Any], fields: set[str]) -> None:
    """`ours` uses only documented fields, has every field the sample has, with the sample's value types."""
    assert set(ours) <= fields
    assert set(documented) <= set(ours)
    for key, value in ours.items():
        if key in documented:
            assert type(value) is type(documented[key]), key
    for mapping in ("env", "headers"):
        assert all(isinstance(v, str) for v in ours.get(mapping, {}).values())


def test_claude_desktop_entry_has_the_documented_shape_and_placeholders(
    tenant: None, capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(capsys, "claude-desktop")
    assert set(config) == set(CLAUDE_DESKTOP)
    server = config["mcpServers"]["cdp-mcp"]
    _follows(server, _only(CLAUDE_DESKTOP["mcpServers"]), {"command", "args", "env"})
    assert Path(server["command"]).is_absolute() and server["args"][-1] == "serve"
    assert server["env"] == {"CDP_B2B_API_URL": API, "CDP_TENANT_HASH": PLACEHOLDERS["CDP_TENANT_HASH"],
                             "CDP_OAUTH_KEY_SECRET": PLACEHOLDERS["CDP_OAUTH_KEY_SECRET"]}


def _claude_mcp_add(line: str) -> dict[str, Any]:
    """Parse a `claude mcp add` line by its documented grammar: options, name, [--env ...], then `-- command`."""
    words = shlex.split(line)
    assert words[:3] == ["claude", "mcp", "add"]
    words = words[3:]
    command = words[words.index("--") + 1:] if "--" in words else []
    words = words[:words.index("--")] if "--" in words else words
    parsed: dict[str, Any] = {"env": {}, "headers": [], "positional": [], "command": command}
    while words:
        word = words.pop(0)
        if word in ("--transport", "--scope"):
            parsed[word[2:]] = words.pop(0)
        elif word in ("--env", "-e"):
            key, _, value = words.pop(0).partition("=")
            parsed["env"][key] = value
        elif word in ("--header", "-H"):
            parsed["headers"].append(words.pop(0))
        else:
            assert not word.startswith("-"), f"undocumented option {word}"
            parsed["positional"].append(word)
    return parsed


def test_claude_code_line_parses_like_the_documented_ones_and_expands_secrets_in_the_shell(
    tenant: None, capsys: pytest.CaptureFixture[str],
) -> None:
    documented = _claude_mcp_add(CLAUDE_CODE_STDIO)
    assert documented["positional"] == ["airtable"] and documented["command"][0] == "npx"
    line = _printed(capsys, "claude-code")[0].strip()
    ours = _claude_mcp_add(line)
    assert ours["transport"] == "stdio" and ours["scope"] == "user" and ours["positional"] == ["cdp-mcp"]
    assert Path(ours["command"][0]).is_absolute() and ours["command"][-1] == "serve"
    # Run as a shell runs it, with `claude` standing in as a function that prints its arguments.
    shell = subprocess.run(["bash", "-c", f'claude() {{ printf "%s\\n" "$@"; }}; {line}'], capture_output=True,
                           text=True, check=True, env={**os.environ, "CDP_TENANT_HASH": "from-the-shell"})
    received = shell.stdout.splitlines()
    assert f"CDP_B2B_API_URL={API}" in received and "CDP_TENANT_HASH=from-the-shell" in received
    assert received[received.index("--") + 1] == ours["command"][0]

    remote = _claude_mcp_add(_printed(capsys, "claude-code", "--url", "https://cdp.example.com/mcp")[0].strip())
    assert _claude_mcp_add(CLAUDE_CODE_HTTP)["transport"] == remote["transport"] == "http"
    assert remote["positional"] == ["cdp-mcp", "https://cdp.example.com/mcp"]
    assert remote["headers"] == ["Authorization: Bearer $CDP_MCP_AUTH_TOKEN"]


def _references(text: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, text))


def test_vscode_file_declares_an_input_for_every_reference(tenant: None, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(capsys, "vscode")
    assert set(config) == set(VSCODE)
    _follows(_only(config["servers"]), _only(VSCODE["servers"]), {"type", "command", "args", "env", "envFile"})
    assert _only(config["servers"])["type"] == "stdio"
    for documented in (VSCODE, config):
        ids = {i["id"] for i in documented["inputs"]}
        assert _references(json.dumps(documented["servers"]), r"\$\{input:([^}]+)\}") == ids
        for item in documented["inputs"]:
            assert set(item) == set(VSCODE["inputs"][0]) and item["type"] == "promptString"
    secret = {i["id"]: i["password"] for i in config["inputs"]}
    assert secret["cdp-tenant-hash"] is True and secret["cdp-oauth-key-secret"] is True
    assert _only(config["servers"])["env"]["CDP_B2B_API_URL"] == API  # not a secret: filled in

    remote = _config(capsys, "vscode", "--url", "https://cdp.example.com/mcp")
    _follows(_only(remote["servers"]), _only(VSCODE_HTTP["servers"]), {"type", "url", "headers"})
    assert _references(json.dumps(remote["servers"]), r"\$\{input:([^}]+)\}") == {i["id"] for i in remote["inputs"]}


@pytest.mark.parametrize(("host", "local", "remote", "url_key"), [
    ("cursor", CURSOR, CURSOR_REMOTE, "url"),
    ("windsurf", WINDSURF, WINDSURF_REMOTE, "serverUrl"),
])
def test_cursor_and_windsurf_entries_reference_secrets_with_env_interpolation(
    tenant: None, capsys: pytest.CaptureFixture[str],
    host: str, local: dict[str, Any], remote: dict[str, Any], url_key: str,
) -> None:
    config = _config(capsys, host)
    assert set(config) == {"mcpServers"}
    server = _only(config["mcpServers"])
    _follows(server, _only(local["mcpServers"]), {"command", "args", "env"})
    assert server["env"] == {"CDP_B2B_API_URL": API, "CDP_TENANT_HASH": "${env:CDP_TENANT_HASH}",
                             "CDP_OAUTH_KEY_SECRET": "${env:CDP_OAUTH_KEY_SECRET}"}

    reached = _only(_config(capsys, host, "--url", "https://cdp.example.com/mcp")["mcpServers"])
    _follows(reached, _only(remote["mcpServers"]), {url_key, "headers"})
    assert reached == {url_key: "https://cdp.example.com/mcp",
                       "headers": {"Authorization": "Bearer ${env:CDP_MCP_AUTH_TOKEN}"}}


def test_http_entry_is_claude_codes_mcp_json_with_the_bearer_token_expanded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(capsys, "http", "--url", "https://cdp.example.com/mcp")
    server = _only(config["mcpServers"])
    _follows(server, _only(CLAUDE_CODE_MCP_JSON["mcpServers"]), {"type", "url", "headers"})
    assert server == {"type": "http", "url": "https://cdp.example.com/mcp",
                      "headers": {"Authorization": "Bearer ${CDP_MCP_AUTH_TOKEN}"}}
    loopback = _only(_config(capsys, "http", "--sandbox")["mcpServers"])
    assert loopback == {"type": "http", "url": "http://127.0.0.1:8000/mcp"}  # a loopback server needs no token


@pytest.mark.parametrize("host", ["claude-desktop", "vscode", "cursor", "windsurf"])
def test_sandbox_entries_need_no_credentials(host: str, tenant: None, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(capsys, host, "--sandbox", "--name", "cdp-sandbox")
    servers = config.get("mcpServers") or config["servers"]
    assert list(servers) == ["cdp-sandbox"] and servers["cdp-sandbox"]["env"] == {}
    assert "inputs" not in config


@pytest.mark.parametrize("host", list(HOSTS))
def test_the_advice_speaks_of_references_only_when_the_entry_makes_some(
    host: str, tenant: None, capsys: pytest.CaptureFixture[str],
) -> None:
    """A --sandbox entry names no variable, input or placeholder, so nothing is said about setting them."""
    advice = HOSTS[host]
    sandbox = _printed(capsys, host, "--sandbox")
    assert "${" not in sandbox[0] and "<your" not in sandbox[0] and "$CDP_" not in sandbox[0]
    assert advice.where in sandbox[1] and advice.references not in sandbox[1]
    assert advice.references in _printed(capsys, host)[1]


def test_claude_desktop_cannot_take_a_remote_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "claude-desktop", "--url", "https://cdp.example.com/mcp"]) == 2
    assert "Connectors" in capsys.readouterr().err


async def test_a_printed_entry_starts_a_server_that_lists_the_tools(
    cdp_env: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    server = _config(capsys, "claude-desktop", "--sandbox")["mcpServers"]["cdp-mcp"]
    params = StdioServerParameters(command=server["command"], args=server["args"], env={**server["env"], **cdp_env})
    async with Client(params) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
    assert len(tools) == len(all_specs()) and "get_customer_overview" in tools


def test_config_run_by_uvx_warns_that_the_path_is_in_uvs_cache(tmp_path: Path, cdp_env: dict[str, str]) -> None:
    """uvx runs cdp-mcp from an environment in uv's cache, which uv may clean: an entry pointing there breaks
    later, so config says so and names the lasting install."""
    ephemeral = tmp_path / "home" / ".cache" / "uv" / "archive-v0" / "qHf9zr1" / "bin"  # where uvx installs
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(ephemeral.parent)], check=True, timeout=120)
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    packages = subprocess.run([str(ephemeral / "python"), "-c", where], capture_output=True, text=True, check=True,
                              timeout=60).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages")]
    Path(packages, "cdp-mcp-under-test.pth").write_text("\n".join([*ours, str(ROOT)]) + "\n")
    script = ephemeral / "cdp-mcp"
    script.write_text(f"#!{ephemeral / 'python'}\nfrom cdp_mcp.cli import main\nraise SystemExit(main())\n")
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "UV_"))} | cdp_env
    run = subprocess.run([str(script), "config", "claude-desktop", "--sandbox"], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    assert json.loads(run.stdout)["mcpServers"]["cdp-mcp"]["command"] == str(script)
    assert "uv's cache" in run.stderr and "uv tool install" in run.stderr, run.stderr
    installed = subprocess.run([sys.executable, "-m", "cdp_mcp", "config", "claude-desktop", "--sandbox"],
                               capture_output=True, text=True, env=env, timeout=120, check=True)
    assert "uv tool install" not in installed.stderr
