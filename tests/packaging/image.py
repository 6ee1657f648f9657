"""Run a built cdp-mcp image's entry point and check what a platform team relies on (`.ci/image` calls this).

`podman run` cannot start containers on CI's machines (it fails to set rlimits), so the image's own entry point
and command, read from `podman image inspect`, run in a buildah working container with chroot isolation on the
host's network: the same root filesystem, user, environment and working directory as in a container runtime.
Only the ports change (free ones instead of 8000 and 9464: in the command, the health check and
CDP_MCP_METRICS_PORT), since the host's network is shared. Checked, each on the image as built:

- its configuration: a numeric non-root user, `serve --transport http` on all interfaces, the state directory
  (`CDP_STATE_DIR`) a volume, a health check, the metrics port (`CDP_MCP_METRICS_PORT`) exposed;
- `cdp-mcp demo` runs, and the redis and otel extras a deployment relies on are installed;
- without `CDP_MCP_AUTH_TOKEN` the server refuses to listen on all interfaces (the image's safe default);
- with one, `/healthz` and `/readyz` answer, `/mcp` refuses a request without the token, and through the official
  SDK client `tools/list` gives the same tools as this checkout's server and a tool call reads a sandbox customer
  (so the state volume is writable by the image's user), which the metrics port then counts;
- the serving process is not root, the image's HEALTHCHECK command passes, SIGTERM drains and stops the server
  (exit 0), and it wrote nothing outside the state directory and /tmp (what a read-only root filesystem, as in
  deploy/kubernetes, allows).

    python -m tests.packaging.image localhost/cdp-mcp:ci
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from cdp_mcp.commands.demo import demo_settings
from cdp_mcp.http_app import HEALTH_PATH, MCP_PATH, METRICS_PATH, READY_PATH
from cdp_mcp.sandbox import sample_customers
from cdp_mcp.server import build_server
from tests.helpers import free_port

__all__ = ["check_image", "main"]

IMAGE_PORT = 8000
"""The port the image's command and health check name (EXPOSE)."""
METRICS_PORT = 9464
"""The port the image serves its metrics on (CDP_MCP_METRICS_PORT, EXPOSE)."""
_EXTRAS = ("redis.asyncio", "opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter")
"""What CDP_REDIS_URL and OTEL_EXPORTER_OTLP_ENDPOINT need in the image (the redis and otel extras)."""
_RUNTIME_MANAGED = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/run")
"""Files a container runtime writes into the root itself (Kubernetes mounts them), left out of the write check."""
_STARTUP = 180.0
"""Seconds the server may take to answer /healthz (imports and the sandbox's first build on a busy machine)."""


class ImageCheckFailed(AssertionError):
    """One property of the image does not hold."""


def _check(condition: object, message: str, evidence: str = "") -> None:
    """Print `message` when `condition` holds; else fail with it and the evidence (the output that shows why)."""
    if not condition:
        raise ImageCheckFailed(f"NOT {message}" + (f"\n{evidence}" if evidence else ""))
    print(f"   ok: {message}", flush=True)


def inspect(image: str) -> dict[str, Any]:
    """`podman image inspect` of `image`."""
    out = subprocess.run(["podman", "image", "inspect", image], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    return json.loads(out)[0]


@contextmanager
def working_container(image: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A buildah working container from `image` (removed at the end), with `env` added to the image's."""
    name = subprocess.run(["buildah", "from", "--pull=false", image], capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()
    try:
        for key, value in (env or {}).items():
            subprocess.run(["buildah", "config", "--env", f"{key}={value}", name], check=True, timeout=60)
        yield name
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, timeout=120, check=False)


def run_argv(container: str, argv: Sequence[str]) -> list[str]:
    """The command line that runs `argv` in `container` as the image's user, on the host's network."""
    return ["buildah", "run", "--isolation", "chroot", "--network", "host", container, "--", *argv]


def with_port(argv: Sequence[str], port: int) -> list[str]:
    """The image's command with `--port 8000` replaced by `port`."""
    argv = list(argv)
    at = argv.index("--port") + 1
    if argv[at] != str(IMAGE_PORT):
        raise ImageCheckFailed(f"the image's command listens on {argv[at]}, not the exposed {IMAGE_PORT}")
    argv[at] = str(port)
    return argv


def listener_pid(port: int) -> int | None:
    """The process listening on TCP `port` on this machine (its socket's inode, found in /proc/*/fd)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:  # the process ended, or a descriptor closed, while we looked
            continue
    return None


def status(pid: int, field: str) -> list[str]:
    """One line of /proc/PID/status, split: `Uid` gives real, effective, saved and filesystem user ids."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith(f"{field}:"))
    return line.split()[1:]


@dataclass(frozen=True)
class EntryPoint:
    """What the image runs, as its configuration says."""

    command: list[str]
    """Entry point and command: `cdp-mcp serve ...`."""
    health: list[str]
    """The HEALTHCHECK's command, with `{port}` where the image names 8000."""
    state_dir: str


def check_configuration(info: dict[str, Any]) -> EntryPoint:
    """The image's user, command, volume and health check."""
    config = info["Config"]
    user, _, group = str(config.get("User", "")).partition(":")
    _check(user.isdigit() and int(user) != 0 and (not group or group.isdigit()),
           f"runs as a numeric non-root user ({config.get('User')!r}), which runAsNonRoot can verify")
    command = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    _check(command[:4] == ["cdp-mcp", "serve", "--transport", "http"] and "0.0.0.0" in command,
           f"entry point and command: {' '.join(command)}")
    env = dict(item.split("=", 1) for item in config.get("Env", []))
    _check(env.get("CDP_STATE_DIR") in (config.get("Volumes") or {}),
           f"CDP_STATE_DIR ({env.get('CDP_STATE_DIR')}) is a volume")
    _check(f"{IMAGE_PORT}/tcp" in (config.get("ExposedPorts") or {}), f"port {IMAGE_PORT} is exposed")
    _check(env.get("CDP_MCP_METRICS_PORT") == str(METRICS_PORT) and f"{METRICS_PORT}/tcp" in config["ExposedPorts"],
           f"metrics on port {METRICS_PORT}, exposed")
    health = info.get("Healthcheck") or config.get("Healthcheck") or {}
    test = list(health.get("Test") or [])
    _check(test[:1] == ["CMD"] and f":{IMAGE_PORT}{HEALTH_PATH}" in " ".join(test),
           f"a HEALTHCHECK on {HEALTH_PATH} every {health.get('Interval', 0) / 1e9:.0f} s")
    return EntryPoint(command, [part.replace(f":{IMAGE_PORT}/", ":{port}/") for part in test[1:]],
                      env["CDP_STATE_DIR"])


def check_demo_and_extras(image: str) -> None:
    with working_container(image) as ctr:
        done = subprocess.run(run_argv(ctr, ["cdp-mcp", "demo"]), capture_output=True, text=True, timeout=600,
                              check=False)
        _check(done.returncode == 0 and "get_customer_profile" in done.stdout,
               f"`cdp-mcp demo` runs (exit {done.returncode}, {len(done.stdout.splitlines())} lines)",
               done.stderr[-2000:])
        extras = subprocess.run(run_argv(ctr, ["python3", "-c", f"import {', '.join(_EXTRAS)}"]), capture_output=True,
                                text=True, timeout=120, check=False)
        _check(extras.returncode == 0, "the redis and otel extras are installed (replicas, traces)", extras.stderr)


def check_refuses_without_token(image: str, command: Sequence[str]) -> None:
    with working_container(image) as ctr:
        done = subprocess.run(run_argv(ctr, with_port(command, free_port())), capture_output=True, text=True,
                              timeout=300, check=False)
    _check(done.returncode == 2 and "CDP_MCP_AUTH_TOKEN" in done.stderr,
           f"without CDP_MCP_AUTH_TOKEN the server refuses to listen on all interfaces (exit {done.returncode}, "
           "naming the variable)", done.stderr[-2000:])


async def _expected_tools() -> list[str]:
    with tempfile.TemporaryDirectory() as state:
        async with Client(build_server(demo_settings(Path(state)))) as client:
            return sorted(tool.name for tool in (await client.list_tools()).tools)


async def check_http(base: str, token: str, metrics: str) -> None:
    """/healthz, /readyz, the bearer token, tools/list and one call, from this host; the call in the metrics."""
    async with httpx2.AsyncClient() as http:
        health = await http.get(f"{base}{HEALTH_PATH}")
        _check(health.status_code == 200 and health.json()["status"] == "ok" and health.json()["auth"] == "bearer",
               f"{HEALTH_PATH} answers {health.json()}")
        ready = await http.get(f"{base}{READY_PATH}")
        _check(ready.status_code == 200, f"{READY_PATH} answers {ready.json()}")
        refused = await http.post(f"{base}{MCP_PATH}", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                  headers={"Accept": "application/json, text/event-stream"})
        _check(refused.status_code == 401, f"{MCP_PATH} without the bearer token: 401")
    expected = await _expected_tools()
    sample = sample_customers()[0]
    authorized = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    async with authorized, Client(streamable_http_client(f"{base}{MCP_PATH}", http_client=authorized)) as client:
        listed = sorted(tool.name for tool in (await client.list_tools()).tools)
        _check(listed == expected, f"tools/list over HTTP gives this checkout's {len(expected)} tools")
        result = await client.call_tool("get_customer_profile", {"email": sample.email})
    found = (result.structured_content or {}).get("gcr_id")
    _check(not result.is_error and found == sample.gcr_id,
           f"get_customer_profile reads sample customer {sample.gcr_id} (state volume writable by the image's user)")
    async with httpx2.AsyncClient() as http:
        scraped = (await http.get(metrics)).text
    counted = 'cdp_mcp_tool_calls_total{outcome="ok",tool="get_customer_profile"} 1.0'
    _check(counted in scraped, f"{metrics} counts the call", scraped[-2000:])


def written_outside(root: Path, since: float, allowed: Sequence[str]) -> list[str]:
    """Paths under `root` changed after `since`, except in `allowed` directories and the files a runtime manages."""
    exempt = tuple(str(root / a.lstrip("/")) for a in (*allowed, *_RUNTIME_MANAGED))
    changed = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if not os.path.join(directory, d).startswith(exempt)]
        for name in [".", *files]:
            path = os.path.normpath(os.path.join(directory, name))
            if not path.startswith(exempt) and os.lstat(path).st_ctime > since:
                changed.append("/" + os.path.relpath(path, root))
    return sorted(set(changed) - {"/."})


def check_serve(image: str, entry: EntryPoint) -> None:
    token = secrets.token_urlsafe(32)
    port, metrics_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"CDP_MCP_AUTH_TOKEN": token, "CDP_MCP_METRICS_PORT": str(metrics_port)}
    with working_container(image, env) as ctr, tempfile.TemporaryFile() as log:
        root = Path(subprocess.run(["buildah", "mount", ctr], capture_output=True, text=True, check=True,
                                   timeout=60).stdout.strip())
        since = time.time()
        server = subprocess.Popen(run_argv(ctr, with_port(entry.command, port)), stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + _STARTUP
            while (pid := listener_pid(port)) is None:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise ImageCheckFailed(f"the server did not listen on {port}: {log.read()[-3000:].decode()}")
                time.sleep(0.2)
            anyio.run(check_http, base, token, f"http://127.0.0.1:{metrics_port}{METRICS_PATH}")
            uids = [int(uid) for uid in status(pid, "Uid")]
            _check(all(uid != 0 for uid in uids), f"the serving process (pid {pid}) runs as uid {uids[0]}")
            rss_kb, high_kb = int(status(pid, "VmRSS")[0]), int(status(pid, "VmHWM")[0])
            print(f"   serving process memory after those calls: {rss_kb / 1024:.0f} MB resident "
                  f"(peak {high_kb / 1024:.0f} MB)", flush=True)
            with working_container(image) as probe:
                probed = subprocess.run(run_argv(probe, [part.replace("{port}", str(port)) for part in entry.health]),
                                        capture_output=True, text=True, timeout=120, check=False)
            _check(probed.returncode == 0, "the image's HEALTHCHECK command passes against the running server",
                   probed.stderr[-1000:])
            os.kill(pid, signal.SIGTERM)
            code = server.wait(timeout=60)
            log.seek(0)
            # Nothing in flight: the drain ends at once, uvicorn shuts down (the lifespan closes the backend and the
            # audit file) and the process exits 0.
            output = log.read().decode(errors="replace")
            drained = "Drained: no request in flight" in output and "Application shutdown complete" in output
            _check(code == 0 and drained, "SIGTERM drains and stops the server after a clean shutdown (exit 0)",
                   output[-2000:])
            outside = written_outside(root, since, [entry.state_dir, "/tmp"])
            _check(not outside, f"the server wrote only in {entry.state_dir} and /tmp (a read-only root holds)",
                   f"also changed: {outside[:20]}")
        finally:
            if server.poll() is None:
                if (pid := listener_pid(port)) is not None:
                    os.kill(pid, signal.SIGKILL)
                server.kill()
                server.wait(timeout=60)


def check_image(image: str) -> None:
    """Every check above, in order; raises ImageCheckFailed at the first that does not hold."""
    info = inspect(image)
    print(f"   image {image}: {info['Size'] / 1e6:.1f} MB ({info['Id'][:12]})", flush=True)
    entry = check_configuration(info)
    check_demo_and_extras(image)
    check_refuses_without_token(image, entry.command)
    check_serve(image, entry)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.packaging.image IMAGE", file=sys.stderr)
        return 2
    try:
        check_image(argv[0])
    except (ImageCheckFailed, subprocess.SubprocessError, OSError) as exc:
        print(f"image check failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
