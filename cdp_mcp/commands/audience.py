"""`cdp-mcp audience upload FILE --url URL`: hand an audience export to a cdp-mcp server over HTTP.

For a team server: the export (CSV or JSON lines) goes to `POST /audiences` with the same sign-in as MCP (the
static bearer token, or the person's OAuth access token), and the answer (its `audience_id`, rows, the first
rejected rows with line and reason) is printed as JSON on stdout. The model then screens it with
`screen_audience(audience_id=...)`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx2

from cdp_mcp.commands.common import EXIT_CONFIG, EXIT_FAILURE, mcp_url, say
from cdp_mcp.jobs.formats import CSV_TYPES, JSON_LINES_SUFFIXES, JSON_LINES_TYPES, MAX_BYTES
from cdp_mcp.settings import AUDIENCES_PATH, MCP_PATH

__all__ = ["DESCRIPTION", "add_arguments", "audiences_url", "run"]

DESCRIPTION = ("Upload an audience export (CSV or JSON lines) to a cdp-mcp server over HTTP and print its "
               "audience_id, for screen_audience.")
_TOKEN_VARIABLE = "CDP_MCP_AUTH_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    upload = actions.add_parser("upload", help="upload an audience file", description=DESCRIPTION)
    upload.add_argument("file", type=Path, help="the export: CSV (a header names the identifier columns) or JSON lines")
    upload.add_argument("--url", default=mcp_url(), help=f"the server's MCP URL or base URL (default {mcp_url()})")
    upload.add_argument("--token", default=None,
                        help=f"bearer token: the server's {_TOKEN_VARIABLE}, or your OAuth access token "
                             f"(default: ${_TOKEN_VARIABLE})")


def audiences_url(url: str) -> str:
    """`http://host:8000/mcp` or `http://host:8000` -> `http://host:8000/audiences`."""
    base = url.rstrip("/")
    return base.removesuffix(MCP_PATH) + AUDIENCES_PATH


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        say(f"no such file: {path}")
        return EXIT_CONFIG
    if path.stat().st_size > MAX_BYTES:
        say(f"{path} is larger than {MAX_BYTES // 1024 // 1024} MB: split the export into smaller files")
        return EXIT_CONFIG
    token = args.token or os.environ.get(_TOKEN_VARIABLE)
    kind = JSON_LINES_TYPES[0] if path.suffix.lower() in JSON_LINES_SUFFIXES else CSV_TYPES[0]
    headers = {"Content-Type": kind, **({"Authorization": f"Bearer {token}"} if token else {})}
    target = audiences_url(args.url)
    try:
        response = httpx2.post(target, content=path.read_bytes(), headers=headers, params={"name": path.name},
                               timeout=120)
    except httpx2.HTTPError as exc:
        say(f"could not reach {target} ({type(exc).__name__}): is the server running with --transport http?")
        return EXIT_FAILURE
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 201:
        reason = body.get("error_description") if isinstance(body, dict) else None
        say(f"the server refused the audience (HTTP {response.status_code}): {reason or response.reason_phrase}")
        return EXIT_FAILURE
    print(json.dumps(body, indent=2), file=sys.stdout, flush=True)
    return 0
