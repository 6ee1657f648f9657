"""One version, written once in cdp_mcp/version.py: the build reads it (pyproject.toml's dynamic version), so the
installed metadata, `cdp-mcp --version`, the changelog's latest release and everything else say the same."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version

from cdp_mcp.version import USER_AGENT, __version__
from tests.generated_docs import ROOT


def test_cdp_mcp_version_prints_the_one_version() -> None:
    done = subprocess.run([sys.executable, "-m", "cdp_mcp", "--version"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"cdp-mcp {__version__}\n", "")


def test_the_build_reads_the_version_from_version_py() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "cdp_mcp/version.py"
    assert version("cdp-mcp") == __version__, "the installed metadata is older than cdp_mcp/version.py: reinstall"
    assert f"cdp-mcp/{__version__}" == USER_AGENT


def test_the_changelog_has_the_version_as_its_latest_release() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = [line for line in changelog.splitlines() if line.startswith("## [")]
    assert releases[0] == "## [Unreleased]" and releases[1].startswith(f"## [{__version__}] - ")
