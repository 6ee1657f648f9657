"""One error tree: every `CdpError` of the package lives in errors.py, and its docstring draws all of them, each
under its true parent (so a reader can trust the tree to find what an `except` catches)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import cdp_mcp
from cdp_mcp import errors
from cdp_mcp.errors import CdpError

_NODE = re.compile(r"^[\s│]*(?:[├└]── )?(?P<name>[A-Z]\w+Error)\b")


def _all_modules() -> None:
    """Import every module of the package, so an error class declared anywhere is seen."""
    for module in pkgutil.walk_packages(cdp_mcp.__path__, prefix="cdp_mcp."):
        importlib.import_module(module.name)


def _subclasses(cls: type[CdpError]) -> set[type[CdpError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def _drawn_parents() -> dict[str, str]:
    """Each class the docstring's tree draws, with the class it is drawn under."""
    assert errors.__doc__ is not None
    parents: dict[str, str] = {}
    path: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        match = _NODE.match(line)
        if match is None:
            continue
        depth = match.start("name")
        while path and path[-1][0] >= depth:
            path.pop()
        parents[match["name"]] = path[-1][1] if path else "Exception"
        path.append((depth, match["name"]))
    return parents


def test_every_cdp_error_is_declared_in_errors_py() -> None:
    _all_modules()
    elsewhere = sorted(f"{c.__module__}.{c.__qualname__}" for c in _subclasses(CdpError)
                       if c.__module__ != errors.__name__)
    assert elsewhere == []


def test_the_docstring_tree_draws_every_error_under_its_parent() -> None:
    drawn = _drawn_parents()
    declared = {c.__name__: c.__bases__[0].__name__ for c in _subclasses(CdpError) if c.__module__ == errors.__name__}
    assert drawn.pop("CdpError") == "Exception"
    assert drawn == declared
    assert sorted(declared) == sorted(n for n in errors.__all__ if n.endswith("Error") and n != "CdpError")
