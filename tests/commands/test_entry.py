"""The process entry (`cdp-mcp`, `python -m cdp_mcp`) loads its command's modules once: no cyclic garbage collection
while they load, then they are frozen (`gc.freeze`) so no later collection scans them, and the collector is on
again for the command's own work."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

LOAD = """
import gc
from cdp_mcp.cli import loading_once

with loading_once():
    during = gc.isenabled()
    import cdp_mcp.server
print(during, gc.isenabled(), gc.get_freeze_count())
"""


def test_the_command_modules_load_without_collections_and_stay_frozen_with_the_collector_on_after() -> None:
    out = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True, check=True, timeout=60).stdout
    during, after, frozen = out.split()
    assert (during, after) == ("False", "True")
    assert int(frozen) > 100_000  # the SDK, pydantic's models and the tools: what no later collection scans


def test_the_installed_command_goes_through_the_entry() -> None:
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["cdp-mcp"] == "cdp_mcp.cli:entry"
