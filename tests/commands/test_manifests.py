"""manifests/: valid JSON whose tool and prompt lists match what the server serves, and one version everywhere."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cdp_mcp.commands.config import PLACEHOLDERS
from cdp_mcp.settings import Settings

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def _load(name: str) -> dict[str, Any]:
    return json.loads((MANIFESTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_registry_server_json_matches_the_package(version: str) -> None:
    server = _load("server.json")
    assert server["$schema"].endswith("/2025-12-11/server.schema.json")
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    owner = server["name"].split("/")[0].removeprefix("io.github.")  # the namespace proves this GitHub owner
    assert server["repository"] == {"url": urls["Repository"], "source": "github"}
    assert urls["Repository"].startswith(f"https://github.com/{owner}/") and server["websiteUrl"] == urls["Homepage"]
    assert 0 < len(server["title"]) <= 100
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
