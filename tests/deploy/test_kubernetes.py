"""deploy/kubernetes: every manifest valid against the Kubernetes schemas (offline, strict: an unknown or misspelt
field fails), and the pieces fit each other and the image (labels, names, ports, user, state directory)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest

from cdp_mcp.draining import STOP_GRACE
from cdp_mcp.http_app import HEALTH_PATH, METRICS_PATH, READY_PATH
from cdp_mcp.settings import declared
from cdp_mcp.version import __version__
from tests.deploy.files import KUBERNETES, Containerfile, yaml_documents

KUBERNETES_VERSIONS = ("1.30", "1.37")
"""The oldest Kubernetes minor the manifests are for, and the newest kubernetes-validate 1.37 has schemas of."""
MANIFESTS = sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")
SECRET_TEMPLATE = KUBERNETES / "secret.template.yaml"


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource of deploy/kubernetes by kind and name."""
    return {(doc["kind"], doc["metadata"]["name"]): doc for path in MANIFESTS for doc in yaml_documents(path)}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_for_kubernetes(manifest: Path, version: str) -> None:
    documents = yaml_documents(manifest)
    assert documents
    for document in documents:
        # Raises for an invalid resource, and (unlike the command line, which only warns) for an unknown kind.
        kubernetes_validate.validate(document, version, strict=True)


def test_strict_validation_refuses_a_misspelt_field(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = copy.deepcopy(resources["Deployment", "cdp-mcp"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_applies_every_manifest_but_the_secret_template() -> None:
    (kustomization,) = yaml_documents(KUBERNETES / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS if p != SECRET_TEMPLATE)
    (image,) = kustomization["images"]
    assert image["name"] == "cdp-mcp" and image["newTag"] == __version__


def test_two_hardened_replicas_of_the_image(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    image = Containerfile.read()
    deployment = resources["Deployment", "cdp-mcp"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "args" not in container and "command" not in container  # the image's own entry point and command
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == image.user
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False  # else the Service injects CDP_MCP_PORT=tcp://... among the settings
    hardened = container["securityContext"]
    assert hardened["readOnlyRootFilesystem"] is True and hardened["allowPrivilegeEscalation"] is False
    assert hardened["capabilities"]["drop"] == ["ALL"]
    # With a read-only root, the state directory and /tmp are the writable places, each a volume.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert set(mounts) == {image.state_dir, "/tmp"} and all("emptyDir" in volumes[n] for n in mounts.values())
    assert container["ports"] == [{"name": "http", "containerPort": image.port},
                                  {"name": "metrics", "containerPort": image.metrics_port}]
    # Alive: /healthz (an outage of Redis or the issuer is no reason to restart). Ready: /readyz.
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTH_PATH, "port": "http"}, probe
    assert container["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": "http"}
    assert container["readinessProbe"]["timeoutSeconds"] >= 3  # each readiness check has 2 s
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]


def test_prometheus_finds_the_metrics_port_and_sigterm_has_time_to_drain(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    image = Containerfile.read()
    template = resources["Deployment", "cdp-mcp"]["spec"]["template"]
    assert template["metadata"]["annotations"] == {"prometheus.io/scrape": "true",
                                                   "prometheus.io/port": str(image.metrics_port),
                                                   "prometheus.io/path": METRICS_PATH}
    service = {p["name"]: p for p in resources["Service", "cdp-mcp"]["spec"]["ports"]}
    assert service["metrics"] == {"name": "metrics", "port": image.metrics_port, "targetPort": "metrics"}
    # SIGKILL comes after the grace period: preStop, then the drain of calls in flight, then their stop.
    pod = template["spec"]
    (container,) = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = declared("mcp_drain_seconds").default
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + drain + STOP_GRACE


def test_configuration_comes_from_the_configmap_and_the_secret(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    pod = resources["Deployment", "cdp-mcp"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    sources = {kind: ref["name"] for source in container["envFrom"] for kind, ref in source.items()}
    assert ("ConfigMap", sources["configMapRef"]) in resources
    assert resources["ConfigMap", sources["configMapRef"]]["data"]["CDP_LOG_FORMAT"] == "json"  # for a log store
    (secret,) = yaml_documents(SECRET_TEMPLATE)
    assert secret["metadata"]["name"] == sources["secretRef"]
    assert all(value == "" for value in secret["stringData"].values())  # no default a careless apply would keep
    assert {"CDP_AUDIT_KEY", "CDP_MCP_CURSOR_KEY"} <= set(secret["stringData"])  # one of each for every replica
    # Redis: the URL the replicas get names the Redis Service, with the password the Secret holds.
    env = {e["name"]: e for e in container["env"]}
    url = urlsplit(env["CDP_REDIS_URL"]["value"])
    redis_service = resources["Service", url.hostname]
    assert [p["port"] for p in redis_service["spec"]["ports"]] == [url.port]
    assert url.password == "$(REDIS_PASSWORD)" and "REDIS_PASSWORD" in secret["stringData"]
    redis = resources["StatefulSet", "cdp-mcp-redis"]["spec"]["template"]["spec"]["containers"][0]
    (password,) = redis["env"]
    assert password["valueFrom"]["secretKeyRef"] == {"name": sources["secretRef"], "key": "REDIS_PASSWORD"}


def test_selectors_find_the_pods_they_mean(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    server = resources["Deployment", "cdp-mcp"]["spec"]["template"]["metadata"]["labels"]
    redis = resources["StatefulSet", "cdp-mcp-redis"]["spec"]["template"]["metadata"]["labels"]

    def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
        return selector.items() <= labels.items()

    assert resources["Deployment", "cdp-mcp"]["spec"]["selector"]["matchLabels"] == server
    assert matches(resources["Service", "cdp-mcp"]["spec"]["selector"], server)
    assert not matches(resources["Service", "cdp-mcp"]["spec"]["selector"], redis)
    assert matches(resources["Service", "cdp-mcp-redis"]["spec"]["selector"], redis)
    assert not matches(resources["Service", "cdp-mcp-redis"]["spec"]["selector"], server)
    budget = resources["PodDisruptionBudget", "cdp-mcp"]["spec"]
    assert matches(budget["selector"]["matchLabels"], server) and not matches(budget["selector"]["matchLabels"], redis)
    assert 0 < budget["minAvailable"] < resources["Deployment", "cdp-mcp"]["spec"]["replicas"]
    policy = resources["NetworkPolicy", "cdp-mcp-redis"]["spec"]
    assert matches(policy["podSelector"]["matchLabels"], redis)
    (rule,) = policy["ingress"]
    (peer,) = rule["from"]
    assert matches(peer["podSelector"]["matchLabels"], server)
