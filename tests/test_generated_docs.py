"""The docs say what the code says: their generated tables and counts are what the code writes.

The README's tool list, the reference pages (tools, configuration, command line), the tools guide's fields left out,
the team page's scopes, the sandbox's samples and CONTRACT.md's resource table are written from the code
(tests/generated_docs.py). `CDP_UPDATE_DOCS=1 python -m pytest -q -n0 tests/test_generated_docs.py
tests/packaging/test_bundle.py` rewrites them (and manifests/manifest.json) after a change that moves them, such as
a new resource, setting or command option; review the diff. `mkdocs build` fails on a stale page too
(tests/mkdocs_hook.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.generated_docs import FILES, GENERATED, ROOT, rewrite

UPDATE = os.environ.get("CDP_UPDATE_DOCS") == "1"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_the_generated_parts_are_what_the_code_writes(path: Path) -> None:
    wanted = rewrite(path)
    if UPDATE:
        path.write_text(wanted, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == wanted, (
        f"{path.relative_to(ROOT)} differs from the code: run with CDP_UPDATE_DOCS=1 and review the diff")


def test_every_generated_region_is_there_once() -> None:
    for path, parts in GENERATED.items():
        text = path.read_text(encoding="utf-8")
        for name in parts:
            assert text.count(f"<!-- generated: {name} -->") == 1, (path.name, name)
            assert text.count(f"<!-- end of generated: {name} -->") == 1, (path.name, name)


def test_a_region_left_out_of_the_code_is_noticed() -> None:
    """A page whose region has no writer any more (renamed in the code, say) would silently go stale."""
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        named = {line.removeprefix("<!-- generated: ").removesuffix(" -->") for line in text.splitlines()
                 if line.startswith("<!-- generated: ")}
        assert named <= set(GENERATED.get(path, {})), (path.name, named - set(GENERATED.get(path, {})))
