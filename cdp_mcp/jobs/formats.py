"""What an audience file may be, stated once for the parser, `POST /audiences` and `cdp-mcp audience upload` (which
imports nothing else, so the command starts at once)."""

from __future__ import annotations

__all__ = ["JSON_LINES_SUFFIXES", "JSON_LINES_TYPES", "MAX_BYTES"]

MAX_BYTES = 64 * 1024 * 1024
"""The largest audience file or upload read (a 50,000-row export with a dozen columns is about 5 MB)."""
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/jsonlines")
"""Media types of a JSON-lines upload (anything else is read as CSV)."""
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
"""File names read as JSON lines (as is a file whose first character is `{`)."""
