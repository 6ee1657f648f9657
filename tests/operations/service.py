"""cdp-mcp run as a platform runs it, and read as the platform reads it: `cdp-mcp serve --transport http` in a
process of its own (signals, exit code, stderr), and the Prometheus exposition parsed into samples."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import free_port, wait_until_answering

__all__ = ["Samples", "ServerProcess", "clean_environment", "samples", "server_process"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Each sample of a scrape by its name and labels."""


def samples(exposition: str) -> Samples:
    """Every sample of a Prometheus text exposition (prometheus-client's parser: a malformed one raises)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples}


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any CDP_* or OTEL_* variable, plus `variables`."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "OTEL_"))} | variables


@dataclass
class ServerProcess:
    """`cdp-mcp serve --transport http` on 127.0.0.1:`port`, its stderr in `log`."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    metrics_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, number: int = signal.SIGTERM) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)


@contextmanager
def server_process(env: dict[str, str], directory: Path, *, metrics: bool = False,
                   ready_within: float = 60) -> Iterator[ServerProcess]:
    """Start the server with `env` (and CDP_MCP_METRICS_PORT on a free port with `metrics`), wait until /healthz
    answers, and stop it at the end if the test did not."""
    port = free_port()
    extra = {"CDP_MCP_METRICS_PORT": str(free_port())} if metrics else {}
    log = directory / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cdp_mcp", "serve", "--transport", "http", "--port",
                                    str(port)], env=env | extra, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = ServerProcess(process, port, log, int(extra["CDP_MCP_METRICS_PORT"]) if extra else None, env | extra)
    try:
        wait_until_answering(f"{server.base}/healthz", process, log, within=ready_within)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
