"""deploy/compose.yaml: two replicas of the image on one Redis, the sandbox as the API, a collector on request; each
service healthy by the same checks the image has, and the values that must agree with the code agreeing with it.

No compose engine runs here (CI's machines cannot start containers with podman run), so the file's structure is
what is checked; the image itself is built and run by .ci/image.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from cdp_mcp.catalog import DEFAULT_CONTEXT_PATH
from cdp_mcp.draining import STOP_GRACE
from cdp_mcp.sandbox.openapi import OPENAPI_PATH
from cdp_mcp.settings import SANDBOX_TENANT_HASH, declared
from tests.deploy.files import CONTAINERFILE, DEPLOY, Containerfile, yaml_documents

_DEFAULT = re.compile(r"^\$\{(?P<name>\w+):(?P<op>[-?])(?P<value>.*)\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    (document,) = yaml_documents(DEPLOY / "compose.yaml")
    return document


def _default(value: str) -> str:
    """The value of `${NAME:-default}` when NAME is not exported."""
    match = _DEFAULT.match(value)
    assert match and match["op"] == "-", value
    return match["value"]


def test_services_and_their_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"cdp-mcp", "sandbox", "redis", "otel-collector"}
    for name in ("cdp-mcp", "sandbox"):  # the image built from the repository's Containerfile
        build = services[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == CONTAINERFILE
    assert services["cdp-mcp"]["image"] == services["sandbox"]["image"]
    assert services["otel-collector"]["profiles"] == ["otel"]  # only with --profile otel
    assert all("profiles" not in services[name] for name in ("cdp-mcp", "sandbox", "redis"))


def test_two_replicas_share_redis_and_the_sandbox_api(compose: dict[str, Any]) -> None:
    services = compose["services"]
    server = services["cdp-mcp"]
    env = server["environment"]
    assert server["deploy"]["replicas"] == 2
    assert server["depends_on"] == {"redis": {"condition": "service_healthy"},
                                    "sandbox": {"condition": "service_healthy"}}
    assert urlsplit(env["CDP_REDIS_URL"]).hostname == "redis"
    # Without CDP_B2B_API_URL exported, the API is the sandbox service, addressed as the sandbox command serves it.
    api = urlsplit(_default(env["CDP_B2B_API_URL"]))
    sandbox = services["sandbox"]["command"]
    assert sandbox[0] == "sandbox" and sandbox[sandbox.index("--host") + 1] == "0.0.0.0"
    assert (api.hostname, api.port, api.path) == ("sandbox", int(sandbox[sandbox.index("--port") + 1]),
                                                  DEFAULT_CONTEXT_PATH)
    assert _default(env["CDP_TENANT_HASH"]) == SANDBOX_TENANT_HASH
    # No bearer token, issuer, audit or cursor key has a default: exported, or the replicas refuse to start (the
    # keys must be one for all replicas: hashes that match, a list's next page from either replica).
    assert all(_default(env[name]) == "" for name in ("CDP_MCP_AUTH_TOKEN", "CDP_MCP_OAUTH_ISSUER"))
    assert _DEFAULT.match(env["CDP_AUDIT_KEY"])["op"] == "?"  # type: ignore[index]
    assert _DEFAULT.match(env["CDP_MCP_CURSOR_KEY"])["op"] == "?"  # type: ignore[index]
    image, last = Containerfile.read(), server["deploy"]["replicas"] - 1
    assert server["ports"] == [f"127.0.0.1:8000-{8000 + last}:{image.port}",
                               f"127.0.0.1:9464-{9464 + last}:{image.metrics_port}"]  # each replica's metrics too
    assert _default(env["CDP_LOG_FORMAT"]) == "json" and _default(env["CDP_MCP_METRICS_TOKEN"]) == ""
    grace = int(server["stop_grace_period"].removesuffix("s"))
    assert grace >= declared("mcp_drain_seconds").default + STOP_GRACE  # SIGTERM's drain fits before SIGKILL


def test_state_on_volumes_and_a_read_only_root(compose: dict[str, Any]) -> None:
    services = compose["services"]
    image = Containerfile.read()
    assert services["cdp-mcp"]["volumes"] == [image.state_dir]  # an anonymous volume per replica
    assert services["sandbox"]["volumes"] == [f"sandbox-data:{image.state_dir}"]
    assert services["redis"]["volumes"] == ["redis-data:/data"]
    assert set(compose["volumes"]) == {"sandbox-data", "redis-data"}
    sandbox = services["sandbox"]["command"]
    assert sandbox[sandbox.index("--db") + 1].startswith(image.state_dir + "/")
    for name in ("cdp-mcp", "sandbox"):
        service = services[name]
        assert service["read_only"] is True and service["tmpfs"] == ["/tmp"] and service["cap_drop"] == ["ALL"]
    assert (DEPLOY / services["otel-collector"]["volumes"][0].split(":")[0]).is_file()


def test_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    options, command = Containerfile.read().healthcheck
    check = services["cdp-mcp"]["healthcheck"]
    assert check["test"] == ["CMD", *command]  # the image's, for runtimes whose OCI images drop it
    assert {key: str(check[key.replace("-", "_")]) for key in options} == options
    probe = services["sandbox"]["healthcheck"]["test"]
    assert probe[:2] == ["CMD", "python3"] and f"{DEFAULT_CONTEXT_PATH}{OPENAPI_PATH}'" in probe[-1]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
