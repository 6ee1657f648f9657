"""The documentation holds together where `mkdocs build --strict` cannot see: the README and the files beside it
link to files that exist, links to this repository's files on GitHub name files that exist, every `CDP_*` variable
the docs name is a setting (or a variable the tests read), the metrics page names what the server exposes, and
the addresses the package publishes point at the site and the repository.

(`mkdocs build --strict`, in CI, checks the links between pages, their anchors, that every page is in the
navigation and, through tests/mkdocs_hook.py, that no generated part is stale.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from cdp_mcp import metrics
from cdp_mcp.settings import SETTINGS
from tests.generated_docs import DOCS, README, ROOT

ROOT_PAGES = (README, ROOT / "CONTRIBUTING.md", ROOT / "SECURITY.md", ROOT / "CHANGELOG.md")
PAGES = (*ROOT_PAGES, *sorted(DOCS.rglob("*.md")), ROOT / "cdp_mcp" / "sandbox" / "CONTRACT.md")
README_LIMIT = 250
"""Lines: what a newcomer reads first, and nothing else (issue 16)."""
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
_REPOSITORY = _PROJECT["urls"]["Repository"].rstrip("/")
_ON_GITHUB = re.compile(re.escape(_REPOSITORY) + r"/(?:blob|tree)/main/([^)\s#>`]+)")


def _mkdocs_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return config


def test_the_readme_is_what_a_newcomer_needs_first() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_LIMIT, f"README.md has {len(lines)} lines; the rest belongs in docs/"
    text = "\n".join(lines)
    for needed in ("cdp-mcp demo", "python -m pytest", "cdp-mcp bundle", "cdp-mcp config claude-desktop",
                   _mkdocs_config()["site_url"]):
        assert needed in text, needed


@pytest.mark.parametrize("page", ROOT_PAGES, ids=lambda p: p.name)
def test_links_beside_the_readme_name_files_that_exist(page: Path) -> None:
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        assert (page.parent / target.split("#", 1)[0]).exists(), f"{page.name} links to {target}, which is not there"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_to_this_repository_name_files_that_exist(page: Path) -> None:
    for path in _ON_GITHUB.findall(page.read_text(encoding="utf-8")):
        assert (ROOT / path.rstrip("/")).exists(), f"{page.name} links to {path} on GitHub, which is not in the tree"


def _variables_the_tests_read() -> set[str]:
    found: set[str] = set()
    for source in (ROOT / "tests").rglob("*.py"):
        found |= set(re.findall(r"(?:environ\.get|getenv)\(\"(CDP_[A-Z0-9_]+)\"", source.read_text(encoding="utf-8")))
    return found


def test_every_variable_the_docs_name_is_a_setting_or_one_the_tests_read() -> None:
    known = {s.env for s in SETTINGS} | _variables_the_tests_read()
    for page in PAGES:
        unknown = set(re.findall(r"\bCDP_[A-Z0-9_]*[A-Z0-9]\b", page.read_text(encoding="utf-8"))) - known
        assert not unknown, f"{page.relative_to(ROOT)} names {sorted(unknown)}, which cdp-mcp does not read"


def test_the_metrics_page_names_every_metric_the_server_exposes() -> None:
    """The page's table against a real scrape's families (recording enabled, as serving the metrics does)."""

    class Allowance:
        limit, remaining = 100, 99

    async def scrape() -> str:
        async def read() -> Allowance:
            return Allowance()

        metrics.enable()
        with metrics.allowance_source(read):
            body, _ = await metrics.render()
        return body.decode()

    exposed = {n.removesuffix("_total") for n in re.findall(r"^# TYPE (cdp_mcp_\w+)", anyio.run(scrape), re.M)}
    page = (DOCS / "operations" / "metrics.md").read_text(encoding="utf-8")
    named = {name.removesuffix("_total") for name in re.findall(r"`(cdp_mcp_\w+)`", page)}
    assert exposed and named == exposed


def test_the_published_addresses_point_at_the_site_and_the_repository() -> None:
    """pyproject's URLs (which the MCP Bundle manifest and server.json repeat) and mkdocs.yml agree."""
    config = _mkdocs_config()
    urls = _PROJECT["urls"]
    assert urls["Documentation"] == config["site_url"]
    assert config["repo_url"] == urls["Repository"] == urls["Homepage"]
    assert _PROJECT["license"] == "MIT" and (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert f"Copyright (c) 2026 {_PROJECT['authors'][0]['name']}" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_the_readme_figures_are_the_performance_page_s_with_their_commands() -> None:
    """The README's headline figures are quoted from docs/performance.md, each beside the command that measures it,
    so a new measurement changes both or the test says which one lags."""
    readme = README.read_text(encoding="utf-8").split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    page = (DOCS / "performance.md").read_text(encoding="utf-8")
    rows = [line.strip("|").split("|") for line in readme.splitlines() if line.startswith("| ")][1:]
    assert len(rows) >= 3
    for what, figure, command in rows:
        (run,) = re.findall(r"`([^`]+)`", command)
        assert run in page, f"{run} is not on the performance page"
        for number in re.findall(r"\d[\d,]*(?:\.\d+)?", what + figure):
            assert re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d,]|\.\d)", page), f"{number} ({figure.strip()})"
