"""manifests/ beside the package: the registry's server.json and the Claude Desktop example say what the package and
`cdp-mcp config` say, and the project facts the bundle's manifest repeats are read from pyproject.toml whether the
package is installed or run from a checkout. (manifest.json itself is checked in tests/packaging/test_bundle.py.)"""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from cdp_mcp.cli import main
from cdp_mcp.commands import bundle_manifest
from cdp_mcp.commands.bundle_manifest import project, project_from_pyproject
from cdp_mcp.version import __version__
from tests.helpers import settings_environment_names

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def _load(name: str) -> dict[str, Any]:
    return json.loads((MANIFESTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def version() -> str:
    return __version__  # the one version (pyproject.toml's is dynamic, read from cdp_mcp/version.py)


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
    assert set(variables) <= settings_environment_names()
    assert variables["CDP_TENANT_HASH"]["isSecret"] and variables["CDP_OAUTH_KEY_SECRET"]["isSecret"]
    assert not variables["CDP_B2B_API_URL"]["isSecret"]


def test_claude_desktop_example_matches_what_config_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "claude-desktop"]) == 0  # no CDP_* variable set (conftest): the API URL a placeholder
    printed = json.loads(capsys.readouterr().out)
    example = _load("claude_desktop_config.json")
    command = example["mcpServers"]["cdp-mcp"].pop("command")
    assert Path(command).is_absolute() and Path(printed["mcpServers"]["cdp-mcp"].pop("command")).is_absolute()
    assert example == printed  # the command is this installation's path, the example's a sample one


def test_the_bundle_reads_the_project_from_its_metadata_or_its_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    installed, checkout = project(), project_from_pyproject(ROOT / "pyproject.toml")
    assert (installed.version, installed.license, installed.author, installed.requires_python, installed.urls) == (
        checkout.version, checkout.license, checkout.author, checkout.requires_python, checkout.urls)
    assert sorted(map(Requirement, installed.dependencies), key=str) == sorted(map(Requirement, checkout.dependencies),
                                                                              key=str)

    def not_installed(name: str) -> None:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(bundle_manifest, "metadata", not_installed)
    assert project.__wrapped__() == checkout  # type: ignore[attr-defined]
