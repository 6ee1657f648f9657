"""A raw JSON-RPC client for Streamable HTTP at protocol 2026-07-28, written from the specification (SEP-2575 per
request envelope, SEP-2243 routing headers, SEP-2663 tasks): every request carries its protocol version, client
info and capabilities in `_meta`, and `MCP-Protocol-Version`, `Mcp-Method` and (for tools/call and the task
methods) `Mcp-Name` headers. Answers are read as JSON or as an SSE stream, whatever the HTTP status."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx2

__all__ = ["MODERN", "TASKS", "Answer", "RawClient"]

MODERN = "2026-07-28"
TASKS = "io.modelcontextprotocol/tasks"
_NAMED = {"tools/call": "name", "tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def result(self) -> dict[str, Any]:
        assert "result" in self.body, self.body
        return dict(self.body["result"])

    @property
    def error(self) -> dict[str, Any]:
        assert "error" in self.body, self.body
        return dict(self.body["error"])


@dataclass
class RawClient:
    """Posts one JSON-RPC request per call to `url` (the `/mcp` endpoint)."""

    url: str
    http: httpx2.AsyncClient
    capabilities: dict[str, Any] = field(default_factory=lambda: {"extensions": {TASKS: {}}})
    token: str | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def request(self, method: str, params: dict[str, Any] | None = None, *,
                      headers: dict[str, str] | None = None, version: str = MODERN) -> Answer:
        meta = {"io.modelcontextprotocol/protocolVersion": version,
                "io.modelcontextprotocol/clientCapabilities": self.capabilities,
                "io.modelcontextprotocol/clientInfo": {"name": "raw-test-client", "version": "1"}}
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                "params": {**(params or {}), "_meta": meta}}
        sent = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                "MCP-Protocol-Version": version, "Mcp-Method": method}
        if method in _NAMED and (params or {}).get(_NAMED[method]) is not None:
            sent["Mcp-Name"] = str((params or {})[_NAMED[method]])
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        response = await self.http.post(self.url, content=json.dumps(body), headers=sent | (headers or {}))
        return Answer(response.status_code, _decoded(response))


def _decoded(response: httpx2.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        messages = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
        return next(m for m in reversed(messages) if "id" in m)
    return dict(response.json())
