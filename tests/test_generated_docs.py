"""README.md and CONTRACT.md say what the code says: their generated tables and counts are what the code writes.

`CDP_UPDATE_DOCS=1 python -m pytest -q tests/test_generated_docs.py tests/packaging/test_bundle.py` rewrites them
(and manifests/manifest.json) after a change that moves them, such as a new resource; review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.generated_docs import CONTRACT, GENERATED, README, rewrite

UPDATE = os.environ.get("CDP_UPDATE_DOCS") == "1"


@pytest.mark.parametrize("path", [README, CONTRACT], ids=["README.md", "CONTRACT.md"])
def test_the_generated_parts_are_what_the_code_writes(path: Path) -> None:
    wanted = rewrite(path)
    if UPDATE:
        path.write_text(wanted, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == wanted, (
        f"{path.name} differs from the code: run with CDP_UPDATE_DOCS=1 and review the diff")


def test_every_generated_region_is_there() -> None:
    for path, parts in GENERATED.items():
        text = path.read_text(encoding="utf-8")
        for name in parts:
            assert text.count(f"<!-- generated: {name} -->") == 1, (path.name, name)
