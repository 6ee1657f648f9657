"""The MCP Bundle's `manifest.json` and `pyproject.toml`, written from what this installation serves.

Nothing here is a second copy to keep in step: the version, licence, author, Python requirement, dependencies
and addresses come from the package metadata (pyproject.toml, and `cdp_mcp/version.py` for the version; read
directly in a checkout that is not installed), the install dialog's fields from the settings' declarations
(title, default, bounds, description, variable), the tools and prompts from the server's own specs, so the
manifest lists exactly what the server offers. Manifest version 0.4 (the latest
of the modelcontextprotocol/mcpb schemas), server type `uv`: the host installs Python and the dependencies the
bundled `pyproject.toml` declares, so one bundle serves every platform (pydantic-core and other compiled
dependencies included). Without an API URL the bundle runs the embedded sandbox; the tenant hash and OAuth key
secret are `sensitive` (the host keeps them in the OS keychain and masks them).
"""
from __future__ import annotations

import inspect
import json
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, metadata, requires
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt

from cdp_mcp.resources_and_prompts import PROMPTS
from cdp_mcp.settings import Declared, declared, env_name
from cdp_mcp.tools.registry import all_specs
from cdp_mcp.version import __version__

__all__ = ["DISTRIBUTION", "ICON", "MANIFEST_SCHEMA", "MANIFEST_VERSION", "Project", "bundle_pyproject", "manifest",
           "project", "project_from_pyproject"]

DISTRIBUTION = "cdp-mcp"
MANIFEST_VERSION = "0.4"
MANIFEST_SCHEMA = ("https://raw.githubusercontent.com/modelcontextprotocol/mcpb/main/schemas/"
                   f"mcpb-manifest-v{MANIFEST_VERSION}.schema.json")
ICON = "cdp_mcp/assets/icon.png"
"""The bundle's icon, a file of the package (so the wheel carries it too)."""

_ASKED = ("b2b_api_url", "tenant_hash", "oauth_key_secret", "redact_pii", "untrusted", "audience_dir",
          "token_daily_limit")
"""The settings the host asks for when installing, in this order; each reaches the server as its variable."""
_UI_BOUNDS: dict[str, dict[str, int]] = {"token_daily_limit": {"max": 100_000}}
"""Bounds of the install dialog's fields beyond the settings' own (a daily limit past this is a typo)."""
_KINDS: dict[object, str] = {bool: "boolean", int: "number", float: "number", Path: "directory"}
_LONG_DESCRIPTION = (
    "Answers customer questions from your real-time customer data platform: who a customer is, what they "
    "bought, which segments they are in, whether they can be contacted on a channel, what to recommend, plus "
    "a one-call overview card and audience screening for campaign planners. Results are compact JSON, every "
    "tool is read-only, tokens are created sparingly to respect the tenant's daily limit, and personal data "
    "can be masked. Leave the API URL empty to try it on an embedded sandbox with synthetic customers."
)


@dataclass(frozen=True, slots=True)
class Project:
    """What pyproject.toml says about this distribution, as far as the bundle repeats it."""

    version: str
    license: str
    author: str
    requires_python: str
    dependencies: tuple[str, ...]  # the runtime ones, extras left out
    urls: dict[str, str]  # [project.urls]: label -> URL


def project_from_pyproject(path: Path) -> Project:
    """The project as a checkout's pyproject.toml declares it (its version is dynamic: `cdp_mcp/version.py`'s)."""
    declared = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    return Project(version=declared.get("version", __version__), license=declared["license"],
                   author=", ".join(a["name"] for a in declared["authors"]),
                   requires_python=declared["requires-python"], dependencies=tuple(declared["dependencies"]),
                   urls=dict(declared["urls"]))


@cache
def project() -> Project:
    """This distribution's metadata; in a checkout run without installing it, its pyproject.toml."""
    try:
        installed = metadata(DISTRIBUTION)
    except PackageNotFoundError:
        return project_from_pyproject(Path(__file__).resolve().parents[2] / "pyproject.toml")
    urls = installed.get_all("Project-URL") or []
    licence = installed.get_all("License-Expression") or installed.get_all("License") or [""]  # metadata 2.4+, older
    return Project(version=installed["Version"], license=licence[0],
                   author=installed["Author"], requires_python=installed["Requires-Python"],
                   dependencies=tuple(r for r in requires(DISTRIBUTION) or [] if "extra ==" not in r),
                   urls=dict(tuple(part.strip() for part in entry.split(",", 1)) for entry in urls))


def _user_config_entry(setting: Declared) -> dict[str, Any]:
    """How the install dialog asks for one setting: its declaration's title, kind, default, bounds and description."""
    entry: dict[str, Any] = {"type": _KINDS.get(setting.field.annotation, "string"), "title": setting.title}
    if setting.secret:
        entry["sensitive"] = True  # the host keeps it in the OS keychain and masks it
    if setting.default is not None and not isinstance(setting.default, Path):  # a folder's is the person's own
        entry["default"] = setting.default
    for bound in setting.field.metadata:
        if isinstance(bound, Ge):
            entry["min"] = bound.ge
        elif isinstance(bound, Gt) and isinstance(bound.gt, int):
            entry["min"] = bound.gt + 1  # a whole number above it
    entry |= _UI_BOUNDS.get(setting.key, {})
    return {**entry, "required": False, "description": setting.description.rstrip(".") + "."}


def _user_config() -> dict[str, dict[str, Any]]:
    return {key: _user_config_entry(declared(key)) for key in _ASKED}


def _first_sentence(text: str) -> str:
    """The first whole sentence: up to a full stop followed by a capital (`e.g. 1` and colons are inside one)."""
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip(), maxsplit=1)[0]


def _prompts() -> list[dict[str, Any]]:
    served = {s.name for s in all_specs()}
    prompts = []
    for name, (_, description, factory) in PROMPTS.items():
        function = factory(served)
        if function is None:
            continue
        arguments = list(inspect.signature(function).parameters)
        text = function(**{a: f"${{arguments.{a}}}" for a in arguments})
        prompts.append({"name": name, "description": description, "arguments": arguments, "text": text})
    return prompts


def manifest() -> dict[str, Any]:
    """The bundle's manifest.json: what the host shows, asks for and runs."""
    info = project()
    urls = info.urls
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifest_version": MANIFEST_VERSION,
        "name": DISTRIBUTION,
        "display_name": "Customer Profiles (cdp-mcp)",
        "version": info.version,
        "description": "Real-time customer profiles from a Customer Profile B2B API: profile, segments, consent, "
                       "purchases, recommendations.",
        "long_description": _LONG_DESCRIPTION,
        "author": {"name": info.author, "url": urls["Homepage"]},
        "repository": {"type": "git", "url": urls["Repository"]},
        "homepage": urls["Homepage"],
        "documentation": urls["Documentation"],
        "support": urls["Issues"],
        "icon": ICON,
        "license": info.license,
        "keywords": ["cdp", "customer-data-platform", "customer-profile", "marketing", "consent"],
        "server": {
            "type": "uv",
            "entry_point": "cdp_mcp/__main__.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "cdp-mcp", "serve"],
                "env": {env_name(key): f"${{user_config.{key}}}" for key in _ASKED},
            },
        },
        "user_config": _user_config(),
        "tools": [{"name": s.name, "description": _first_sentence(s.description)} for s in all_specs()],
        "tools_generated": False,
        "prompts": _prompts(),
        "prompts_generated": False,
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": info.requires_python}},
    }


def bundle_pyproject() -> str:
    """The pyproject.toml the host's uv installs the bundle from: this distribution's runtime dependencies."""
    info = project()
    listed = "".join(f"  {json.dumps(d)},\n" for d in sorted(info.dependencies))  # JSON strings are TOML strings
    return (
        "# Written by `cdp-mcp bundle`: the host's uv installs these dependencies and runs `cdp-mcp serve`.\n"
        "[project]\n"
        f'name = "{DISTRIBUTION}"\n'
        f'version = "{info.version}"\n'
        'description = "MCP server for real-time customer profiles (MCP Bundle)."\n'
        f'requires-python = "{info.requires_python}"\n'
        f"dependencies = [\n{listed}]\n\n"
        "[project.scripts]\n"
        'cdp-mcp = "cdp_mcp.cli:entry"\n\n'
        "[build-system]\n"
        'requires = ["hatchling>=1.25"]\n'
        'build-backend = "hatchling.build"\n\n'
        "[tool.hatch.build.targets.wheel]\n"
        'packages = ["cdp_mcp"]\n'
    )
