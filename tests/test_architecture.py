"""No import cycle anywhere in the package, TYPE_CHECKING imports included.

`lint-imports` (CI) holds the layers of docs/architecture.md and finds cycles between the modules or packages of
any one package; a cycle between a package's `__init__` and one of its own modules is seen by neither, so this
test walks every import of the graph import-linter reads.
"""

from __future__ import annotations

import grimp


def test_no_module_imports_itself_back_through_others() -> None:
    graph = grimp.build_graph("cdp_mcp", cache_dir=None)  # TYPE_CHECKING and function-level imports included
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(imported=importer, importer=imported)
            if back is not None:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []


def test_no_module_imports_the_package_facade() -> None:
    """`cdp_mcp/__init__` re-exports CdpError, Settings and __version__ for users; inside the package each module
    imports the module that holds what it needs (version.py for the version), so the facade stays outside the
    layers and importing any layer never drags the settings in through it."""
    graph = grimp.build_graph("cdp_mcp", cache_dir=None)
    assert graph.find_modules_that_directly_import("cdp_mcp") == set()
