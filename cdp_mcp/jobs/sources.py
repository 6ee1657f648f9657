"""Where an `audience_file` may come from: a file inside CDP_AUDIENCE_DIR, and nowhere else.

A person hands over the export they downloaded by putting it in that folder and naming it. The name is resolved
inside the folder with every symlink followed: a path that leads outside (`../`, an absolute path elsewhere, a
symlink out of it) is refused, and so is a missing file, with the files that are there to choose from. Blocking:
run it in a worker thread.
"""

from __future__ import annotations

from pathlib import Path

from cdp_mcp.errors import InvalidInputError

__all__ = ["audience_path"]

_LISTED = 10
_HINT = 'Put the export in CDP_AUDIENCE_DIR and pass its name relative to that folder, e.g. audience_file="export.csv".'


def _present(folder: Path) -> str:
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError:
        return ""
    if not names:
        return " The folder is empty."
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return f" Files there: {', '.join(names[:_LISTED])}{more}."


def audience_path(folder: Path, name: str) -> Path:
    """The file `name` names inside `folder` (CDP_AUDIENCE_DIR), symlinks resolved.

    Raises:
        InvalidInputError: the folder does not exist, or `name` leads outside it, is missing or is not a file.
    """
    base = folder.expanduser()
    try:
        root = base.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InvalidInputError(f"The audience folder {base} does not exist.",
                                hint="Create it and put the audience exports there, or set CDP_AUDIENCE_DIR to the "
                                     "folder that holds them.") from None
    if not root.is_dir():
        raise InvalidInputError(f"CDP_AUDIENCE_DIR ({base}) is not a folder.", hint=_HINT)
    try:
        target = (root / name).resolve()
    except (OSError, RuntimeError, ValueError):
        raise InvalidInputError(f"audience_file {name!r} is not a usable file name.", hint=_HINT) from None
    if not target.is_relative_to(root) or target == root:
        raise InvalidInputError(f"audience_file {name!r} is outside the audience folder; only files in "
                                f"CDP_AUDIENCE_DIR ({base}) are read.", hint=_HINT)
    if not target.exists():
        raise InvalidInputError(f"There is no file {name!r} in the audience folder ({base})." + _present(root),
                                hint=_HINT)
    if not target.is_file():
        raise InvalidInputError(f"audience_file {name!r} is not a file.", hint=_HINT)
    return target
