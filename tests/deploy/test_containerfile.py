"""The Containerfile as written (CI builds and runs it: .ci/image), and the configuration names every deployment file
uses: each CDP_* variable they set, or show in a comment, is one `Settings` reads."""

from __future__ import annotations

import re
import tomllib

from cdp_mcp.http_app import HEALTH_PATH
from tests.deploy.files import CONTAINERFILE, DEPLOY, KUBERNETES, ROOT, Containerfile, environment_names, yaml_documents
from tests.helpers import settings_environment_names


def test_the_image_serves_http_on_all_interfaces_as_a_numeric_non_root_user() -> None:
    image = Containerfile.read()
    uid, gid = image.user
    assert uid != 0 and gid != 0  # numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd
    assert image.command == ["cdp-mcp", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", str(image.port)]
    assert image.volumes == [image.state_dir]
    assert image.exposed == [image.port, image.metrics_port]  # metrics on a port of their own, exposed too
    options, command = image.healthcheck
    assert command[0] == "python3" and f"127.0.0.1:{image.port}{HEALTH_PATH}" in command[-1]
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)


def test_the_base_is_a_build_argument_defaulting_to_an_official_slim_python() -> None:
    text = CONTAINERFILE.read_text(encoding="utf-8")
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", text, re.MULTILINE)
    assert default.startswith("docker.io/library/python:3.") and "-slim" in default
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert stages == ["${BASE_IMAGE}", "${BASE_IMAGE}"]  # the venv built in the first runs in the second unchanged


def test_labels_repeat_the_project_facts() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    labels = dict(re.findall(r'(org\.opencontainers\.image\.\w+)="([^"]*)"', CONTAINERFILE.read_text(encoding="utf-8")))
    assert labels["org.opencontainers.image.source"] == project["urls"]["Repository"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]
    assert labels["org.opencontainers.image.title"] == project["name"]


def test_the_build_context_holds_only_what_the_wheel_is_built_from() -> None:
    patterns = [line for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"  # everything out (virtual environments, .env, .git), then the sources back in
    included = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", CONTAINERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    copied = {source.rstrip("/") for line in copies for source in line.split()}
    assert copied == included, "the Containerfile copies what the build context leaves out, or the reverse"


def test_every_cdp_variable_the_deployment_files_use_is_a_setting() -> None:
    known = settings_environment_names()
    texts = {path.relative_to(ROOT): path.read_text(encoding="utf-8")
             for path in (CONTAINERFILE, DEPLOY / "compose.yaml", KUBERNETES / "configmap.yaml",
                          KUBERNETES / "secret.template.yaml")}
    used = {str(path): environment_names(text) for path, text in texts.items()}
    (deployment,) = yaml_documents(KUBERNETES / "deployment.yaml")
    used["deployment.yaml"] = {env["name"] for container in deployment["spec"]["template"]["spec"]["containers"]
                               for env in container.get("env", []) if env["name"].startswith("CDP_")}
    assert all(used.values()), f"a file names no CDP_* variable at all: {used}"
    unknown = {path: sorted(names - known) for path, names in used.items() if names - known}
    assert not unknown, f"not variables Settings reads: {unknown}"
