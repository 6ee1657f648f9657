"""Replicas as an operator runs them: `cdp-mcp serve --transport http` processes sharing one Redis, one B2B API
(a sandbox on loopback) and one identity provider. Used by the replica test and the replica benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import free_port, wait_until_answering

__all__ = ["Replica", "replica_env", "running_replicas"]


@dataclass(frozen=True)
class Replica:
    port: int
    audit: Path
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def mcp(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


def replica_env(*, api_url: str, tenant_hash: str, redis_url: str, prefix: str, issuer: str, public_url: str,
                **extra: str) -> dict[str, str]:
    """The environment every replica shares (what a deployment's secret store would hand each one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "OTEL_"))}
    return env | {"CDP_B2B_API_URL": api_url, "CDP_TENANT_HASH": tenant_hash, "CDP_REDIS_URL": redis_url,
                  "CDP_REDIS_KEY_PREFIX": prefix, "CDP_MCP_OAUTH_ISSUER": issuer, "CDP_MCP_PUBLIC_URL": public_url,
                  "CDP_MCP_CURSOR_KEY": f"{prefix}-cursors-sealed-alike", "CDP_LOG_LEVEL": "WARNING", **extra}


@contextmanager
def running_replicas(count: int, env: dict[str, str], directory: Path) -> Iterator[list[Replica]]:
    """Start `count` replicas (own state directory and audit file each, unless `env` names them), wait until
    healthy, stop them after (one killed meanwhile is left alone)."""
    replicas: list[Replica] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(count):
            home = directory / f"replica-{index}"
            home.mkdir(parents=True, exist_ok=True)
            port, audit, log_path = free_port(), home / "audit.jsonl", home / "stderr.log"
            own = {"CDP_STATE_DIR": str(home / "state"), "CDP_AUDIT_LOG": str(audit)} | env  # env may share a state
            with log_path.open("wb") as log:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "cdp_mcp", "serve", "--transport", "http", "--port", str(port)],
                    env=own, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT))
            replicas.append(Replica(port, audit, log_path, processes[-1]))
        for replica, process in zip(replicas, processes, strict=True):
            wait_until_answering(f"http://127.0.0.1:{replica.port}/healthz", process, replica.log)
        yield replicas
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
