"""`cdp-mcp bundle [--out PATH]`: an MCP Bundle (.mcpb) to install cdp-mcp in Claude Desktop with one click.

The bundle is a zip with `manifest.json` at its root, the `cdp_mcp` package (every file of it, so data
files such as the sandbox's or the apps' ship too; bytecode, hidden files and local databases left out),
the `pyproject.toml` its host installs the dependencies from, and nothing else: no tests, CI or examples.
See `bundle_manifest` for what the manifest declares. Written from the installed package, so it works from
a wheel as well as from a checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from cdp_mcp.commands.bundle_manifest import bundle_pyproject, manifest
from cdp_mcp.commands.common import say
from cdp_mcp.version import __version__

__all__ = ["DESCRIPTION", "add_arguments", "build_bundle", "package_files", "run"]

DESCRIPTION = ("Build an MCP Bundle (.mcpb) of this installation: open it with Claude Desktop to install cdp-mcp; "
               "it runs the embedded sandbox until you enter your API URL and tenant hash.")

_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".db", ".sqlite", ".sqlite3", ".db-journal", ".db-wal", ".db-shm")
_SKIPPED_DIRS = frozenset({"__pycache__"})
_PACKAGE = Path(__file__).resolve().parents[1]
"""The installed `cdp_mcp` package: what the bundle carries."""
_EPOCH = (1980, 1, 1, 0, 0, 0)
"""Every entry gets the same timestamp, so two builds of the same sources are byte-identical."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, metavar="PATH",
                        help=f"where to write the bundle (default: dist/cdp-mcp-{__version__}.mcpb)")
    parser.add_argument("--print-manifest", action="store_true", help="print manifest.json instead of building")


def package_files(root: Path | None = None) -> Iterator[tuple[Path, str]]:
    """Every file of the package as (path on disk, path in the bundle), in a stable order."""
    root = root or _PACKAGE
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = Path(folder) / name
            yield path, (Path(root.name) / path.relative_to(root)).as_posix()


def _entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def build_bundle(out: Path) -> Path:
    """Write the bundle to `out` (its folder created if needed) and return the path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        _entry(archive, "manifest.json", (json.dumps(manifest(), indent=2) + "\n").encode())
        _entry(archive, "pyproject.toml", bundle_pyproject().encode())
        for path, name in package_files():
            _entry(archive, name, path.read_bytes())
    partial.replace(out)  # never a half-written bundle at `out`
    return out


def run(args: argparse.Namespace) -> int:
    if args.print_manifest:
        print(json.dumps(manifest(), indent=2))
        return 0
    out = build_bundle(args.out or Path("dist") / f"cdp-mcp-{__version__}.mcpb")
    size = out.stat().st_size
    print(out)
    say(f"built {out} ({size / 1024:.0f} KiB). Install: open it with Claude Desktop (or drag it onto Settings > "
        "Extensions), then enter your B2B API URL and tenant hash, or leave them empty to try the sandbox.")
    return 0
