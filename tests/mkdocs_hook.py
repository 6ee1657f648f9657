"""MkDocs hook (mkdocs.yml `hooks:`): the build fails when a page's generated parts differ from the code.

The generated tables (tools, settings, commands, scopes, ...) are written into the Markdown files by
`CDP_UPDATE_DOCS=1 python -m pytest -n0 tests/test_generated_docs.py`, which also holds them in the test suite;
this hook holds them in `mkdocs build` too, so the site is never published from a stale page.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

_ROOT = Path(__file__).resolve().parents[1]


def on_config(config: Any) -> Any:
    """Compare every generated part with what the code writes now, before any page is read."""
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))  # the `mkdocs` script runs from the venv's bin/, not from this checkout
    from tests.generated_docs import ROOT, stale  # noqa: PLC0415 - imports the package: only when a build runs

    differ = [str(path.relative_to(ROOT)) for path in stale()]
    if differ:
        raise PluginError(f"generated parts differ from the code in {', '.join(differ)}: run "
                          "CDP_UPDATE_DOCS=1 python -m pytest -n0 tests/test_generated_docs.py and review the diff")
    return config
