"""`cdp-mcp bundle`: a valid MCP Bundle that holds what the server needs and starts the way Claude Desktop starts it.

The manifest is validated against the MCPB manifest JSON schema, vendored beside this file:
`mcpb-manifest-v0.4.schema.json`, byte for byte `schemas/mcpb-manifest-v0.4.schema.json` of
github.com/modelcontextprotocol/mcpb at commit bec493b7e382317e9ccc5e9e94c2149e7d4e6f1e (manifest_version
0.4, the latest that repository's schemas define and the first with the `uv` server type). When Node and
the official CLI (`@anthropic-ai/mcpb`) are available without the network, `mcpb validate` runs too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client

from cdp_mcp import __version__
from cdp_mcp.cli import main
from cdp_mcp.commands.bundle import package_files
from cdp_mcp.commands.bundle_manifest import bundle_pyproject
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings, declared
from cdp_mcp.tools.registry import all_specs
from tests.helpers import settings_environment_names
from tests.packaging.host import launch, unpack, uv_stand_in

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SCHEMA = json.loads((HERE / "mcpb-manifest-v0.4.schema.json").read_text(encoding="utf-8"))
MCPB_CLI = "@anthropic-ai/mcpb@2.1.2"
"""The official CLI's version this was checked with (`.ci/run` puts it in npm's cache)."""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "cdp-mcp.mcpb"
    assert main(["bundle", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def unpacked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("unpacked")
    return folder, unpack(bundle, folder)


def test_the_bundle_holds_the_manifest_the_whole_package_and_nothing_else(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        icon = archive.read("cdp_mcp/assets/icon.png")
        pyproject = archive.read("pyproject.toml").decode()
    assert names[0] == "manifest.json" and "pyproject.toml" in names
    assert {n.split("/")[0] for n in names} == {"manifest.json", "pyproject.toml", "cdp_mcp"}  # no tests, CI, examples
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".sqlite3"))]
    source = ROOT / "cdp_mcp"
    data_files = {f"cdp_mcp/{p.relative_to(source).as_posix()}" for p in source.rglob("*")
                  if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert data_files and data_files <= set(names)  # data files of every kind ship, not a list of today's
    assert {f"cdp_mcp/{p.relative_to(source).as_posix()}" for p in source.rglob("*.py")} <= set(names)
    assert [name for _, name in package_files()] == [n for n in names if n.startswith("cdp_mcp/")]
    assert icon[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", icon[16:24]) == (512, 512)
    assert pyproject == bundle_pyproject() and f'version = "{__version__}"' in pyproject
    assert '"mcp<3,>=2.3"' in pyproject and "redis" not in pyproject and "pytest" not in pyproject
    assert bundle.stat().st_size < 1024 * 1024


async def test_the_manifest_follows_the_mcpb_schema_and_declares_what_is_served(
    unpacked: tuple[Path, dict[str, Any]],
) -> None:
    folder, manifest = unpacked
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(manifest)
    assert manifest["manifest_version"] == "0.4" and manifest["version"] == __version__
    server = manifest["server"]
    assert server["type"] == "uv" and (folder / server["entry_point"]).is_file()
    assert (folder / manifest["icon"]).is_file()

    config, env = manifest["user_config"], server["mcp_config"]["env"]
    assert set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(env))) == set(config)
    assert set(env) <= settings_environment_names()
    for key, field in config.items():  # the install dialog says what the setting's declaration says
        setting = declared(key)
        assert env[setting.env] == f"${{user_config.{key}}}" and field["title"] == setting.title
        machine_default = isinstance(setting.default, Path)  # a folder in the person's home: the server's to pick
        assert field["description"].rstrip(".") == setting.description
        assert field.get("default") == (None if machine_default else setting.default)
    assert config["tenant_hash"]["sensitive"] and config["oauth_key_secret"]["sensitive"]
    assert not any(field.get("required") for field in config.values())  # nothing entered: the sandbox runs

    served = build_server(Settings())
    assert [t["name"] for t in manifest["tools"]] == [t.name for t in await served.list_tools()]
    prompts = {p.name: p for p in await served.list_prompts()}
    assert [p["name"] for p in manifest["prompts"]] == list(prompts)
    for prompt in manifest["prompts"]:
        assert prompt["arguments"] == [a.name for a in prompts[prompt["name"]].arguments or ()]
        assert set(re.findall(r"\$\{arguments\.(\w+)\}", prompt["text"])) == set(prompt["arguments"])


def test_the_manifest_describes_each_tool_in_whole_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    """A host lists these before installing: the tool's own description, cut after a whole sentence, never inside
    one (at a colon, say)."""
    assert main(["bundle", "--print-manifest"]) == 0
    described = {t["name"]: t["description"] for t in json.loads(capsys.readouterr().out)["tools"]}
    for spec in all_specs():
        shown = described[spec.name]
        assert spec.description.startswith(shown) and shown.endswith("."), (spec.name, shown)
        rest = spec.description[len(shown):]
        assert rest == "" or (rest[0] == " " and rest.lstrip()[:1].isupper()), (spec.name, shown)
        assert len(shown.split()) >= 6, (spec.name, shown)  # says what the tool does, not just its first words


def test_manifests_folder_holds_what_the_bundle_command_writes(capsys: pytest.CaptureFixture[str]) -> None:
    """`CDP_UPDATE_DOCS=1` writes the file anew (as `cdp-mcp bundle --print-manifest > manifests/manifest.json`)."""
    assert main(["bundle", "--print-manifest"]) == 0
    output = capsys.readouterr().out
    kept = ROOT / "manifests" / "manifest.json"
    if os.environ.get("CDP_UPDATE_DOCS") == "1":
        kept.write_text(output, encoding="utf-8")
    assert json.loads(kept.read_text(encoding="utf-8")) == json.loads(output), (
        "regenerate: CDP_UPDATE_DOCS=1 python -m pytest -q tests/packaging/test_bundle.py -k manifests_folder")


async def _started(unpacked: tuple[Path, dict[str, Any]], tmp_path: Path, entered: dict[str, Any],
                   use: Callable[[Client], Any]) -> tuple[Any, list[str]]:
    folder, manifest = unpacked
    log = tmp_path / "stand-in.log"
    path = f"{uv_stand_in(tmp_path / 'bin')}:/usr/bin:/bin"  # a host's minimal PATH, with its own uv first
    params = launch(manifest, folder, entered, path=path,
                    extra_env={"CDP_STATE_DIR": str(tmp_path / "state"), "CDP_SANDBOX_CUSTOMERS": "40",
                               "UV_STAND_IN_LOG": str(log)})
    assert params.args[:3] == ["run", "--directory", str(folder)] and "${" not in json.dumps(params.env)
    async with Client(params) as client:
        answer = await use(client)
    return answer, log.read_text(encoding="utf-8").splitlines()


async def test_the_unpacked_bundle_starts_on_the_sandbox_when_nothing_is_entered(
    unpacked: tuple[Path, dict[str, Any]], tmp_path: Path,
) -> None:
    async def use(client: Client) -> Any:
        tools = [t.name for t in (await client.list_tools()).tools]
        overview = await client.call_tool("get_customer_overview", {"gcr_id": 1})
        return tools, overview

    (tools, overview), log = await _started(unpacked, tmp_path, {}, use)
    assert len(tools) == len(all_specs()) and not overview.is_error
    assert log == [str(unpacked[0]), str(unpacked[0] / "cdp_mcp" / "__init__.py")]  # the bundle's own package ran


async def test_the_unpacked_bundle_reaches_the_tenant_entered_in_the_host(
    unpacked: tuple[Path, dict[str, Any]], tmp_path: Path, sandbox_server: SandboxThread,
) -> None:
    vip = sandbox_server.sample("vip")
    entered = {"b2b_api_url": sandbox_server.base_url, "tenant_hash": sandbox_server.tenant_hash,
               "redact_pii": True}  # an empty OAuth key secret, as hosts pass an optional field left blank

    async def use(client: Client) -> Any:
        return await client.call_tool("get_customer_profile", {"gcr_id": vip.gcr_id})

    profile, _ = await _started(unpacked, tmp_path, entered, use)
    assert not profile.is_error and profile.structured_content["gcr_id"] == vip.gcr_id
    assert vip.email not in json.dumps(profile.structured_content)  # redact_pii reached the server


def _mcpb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("Node's npx is not installed")
    return subprocess.run([npx, "--offline", "--yes", MCPB_CLI, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_official_mcpb_cli_validates_the_manifest(unpacked: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = unpacked
    if _mcpb("--version", cwd=folder).returncode != 0:
        pytest.skip(f"{MCPB_CLI} is not in npm's cache (.ci/run fetches it; no network here)")
    checked = _mcpb("validate", "manifest.json", cwd=folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "validation passes" in checked.stdout
