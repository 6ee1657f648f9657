"""What an audience file may be, stated once for the parser, `POST /audiences` and `cdp-mcp audience upload` (which
imports nothing else, so the command starts at once)."""

from __future__ import annotations

__all__ = ["CSV_TYPES", "JSON_LINES_SUFFIXES", "JSON_LINES_TYPES", "MAX_BYTES"]

MAX_BYTES = 64 * 1024 * 1024
"""The largest audience file or upload read (a 50,000-row export with a dozen columns is about 5 MB)."""
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/jsonlines")
"""Media types of a JSON-lines upload."""
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "text/tab-separated-values", "application/vnd.ms-excel",
             "application/octet-stream")
"""Media types of a CSV upload (and a body sent without one): what browsers and tools label a .csv file with. Any
other (a JSON document, a form upload) is refused rather than read as an audience it is not."""
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
"""File names read as JSON lines (as is a file whose first character is `{`)."""
