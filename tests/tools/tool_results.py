"""Assertions shared by the tool tests: one text block, and text == compact JSON of the structured content."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

__all__ = ["Connect", "data_of", "text_of"]

Connect = Callable[..., AbstractAsyncContextManager[Client]]
"""The `connect` fixture: `async with connect(**settings) as client`."""


def text_of(result: CallToolResult) -> str:
    """The single text block of a result (a screening's resource links after it aside)."""
    blocks = [c for c in result.content if c.type != "resource_link"]
    assert len(blocks) == 1 and result.content[0] is blocks[0]
    block = blocks[0]
    assert block.type == "text"
    return block.text


def data_of(result: CallToolResult) -> dict[str, Any]:
    """Structured content of a successful result, checked against its text block (the same object, compact)."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    text = text_of(result)
    assert json.loads(text) == result.structured_content
    assert text == json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
    return result.structured_content
