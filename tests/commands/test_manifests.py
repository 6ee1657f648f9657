"""manifests/: valid JSON whose tool and prompt lists match what the server serves, and one version everywhere."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cdp_mcp.commands.config import PLACEHOLDERS
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def _load(name: str) -> dict[str, Any]:
    return json.loads((MANIFESTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


async def test_bundle_manifest_lists_what_the_server_serves(version: str) -> None:
    manifest = _load("manifest.json")
    server = build_server(Settings(tools=None, resources=None))
    assert [t["name"] for t in manifest["tools"]] == [t.name for t in await server.list_tools()]
    served_prompts = {p.name: p for p in await server.list_prompts()}
    assert {p["name"] for p in manifest["prompts"]} == set(served_prompts)
    for prompt in manifest["prompts"]:
        served = {a.name for a in served_prompts[prompt["name"]].arguments or ()}
        assert set(prompt["arguments"]) == served
    assert manifest["version"] == version
    assert manifest["server"]["type"] == "uv" and (ROOT / manifest["server"]["entry_point"]).is_file()


def test_bundle_user_config_is_wired_and_secrets_are_sensitive() -> None:
    manifest = _load("manifest.json")
    config = manifest["user_config"]
    env = manifest["server"]["mcp_config"]["env"]
    used = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(env)))
    assert used == set(config)
    assert config["tenant_hash"]["sensitive"] and config["oauth_key_secret"]["sensitive"]
    assert not config["b2b_api_url"].get("sensitive")
    fields = {f"CDP_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields


def test_registry_server_json_matches_the_package(version: str) -> None:
    server = _load("server.json")
    assert server["$schema"].endswith("/2025-12-11/server.schema.json")
    assert server["version"] == version and len(server["description"]) <= 100
    (package,) = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "cdp-mcp"
    assert package["version"] == version and package["transport"] == {"type": "stdio"}
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert set(variables) <= {f"CDP_{name.upper()}" for name in Settings.model_fields}
    assert variables["CDP_TENANT_HASH"]["isSecret"] and variables["CDP_OAUTH_KEY_SECRET"]["isSecret"]
    assert not variables["CDP_B2B_API_URL"]["isSecret"]


def test_claude_desktop_example_matches_what_config_prints() -> None:
    entry = _load("claude_desktop_config.json")["mcpServers"]["cdp-mcp"]
    assert entry["args"] == ["serve"] and Path(entry["command"]).is_absolute()
    assert entry["env"] == {name: PLACEHOLDERS[name] for name in ("CDP_B2B_API_URL", "CDP_TENANT_HASH")}
