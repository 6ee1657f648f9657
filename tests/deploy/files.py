"""The deployment files as the tests read them: the Containerfile's instructions, the YAML of deploy/.

A plain module (not a conftest): the Kubernetes, compose and Containerfile tests hold each other's facts to the
Containerfile's (user, ports, state directory, health check), so those are read in one place.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CONTAINERFILE", "DEPLOY", "KUBERNETES", "ROOT", "Containerfile", "environment_names", "yaml_documents"]

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "Containerfile"
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"

_NAME = re.compile(r"\bCDP_[A-Z0-9_]+\b")


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty document of a YAML file."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def environment_names(text: str) -> set[str]:
    """Every CDP_* name a file mentions, set or in a comment (a commented example must name a real variable too)."""
    return set(_NAME.findall(text))


@dataclass(frozen=True)
class Containerfile:
    """The instructions of the runtime stage (the last FROM) that the deployment files repeat."""

    instructions: list[tuple[str, str]]

    @classmethod
    def read(cls, path: Path = CONTAINERFILE) -> Containerfile:
        text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))  # continuation lines joined
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        pairs = [(word.upper(), rest.strip()) for word, _, rest in (line.partition(" ") for line in lines)]
        last_from = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
        return cls(pairs[last_from:])

    def last(self, instruction: str) -> str:
        return [args for word, args in self.instructions if word == instruction][-1]

    @property
    def env(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for word, args in self.instructions if word == "ENV" for item in shlex.split(args))
        return dict(pairs)

    @property
    def user(self) -> tuple[int, int]:
        user, _, group = self.last("USER").partition(":")
        return int(user), int(group or user)

    @property
    def exposed(self) -> list[int]:
        return [int(port.split("/")[0]) for port in self.last("EXPOSE").split()]

    @property
    def port(self) -> int:
        """The MCP port: the first exposed."""
        return self.exposed[0]

    @property
    def metrics_port(self) -> int:
        """The port the image serves its metrics on (CDP_MCP_METRICS_PORT)."""
        return int(self.env["CDP_MCP_METRICS_PORT"])

    @property
    def state_dir(self) -> str:
        return self.env["CDP_STATE_DIR"]

    @property
    def volumes(self) -> list[str]:
        return [v for word, args in self.instructions if word == "VOLUME" for v in json.loads(args)]

    @property
    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """The HEALTHCHECK's options (interval=30s, ...) and its exec-form command."""
        options, _, command = self.last("HEALTHCHECK").partition(" CMD ")
        flags = dict(flag.removeprefix("--").split("=", 1) for flag in options.split())
        return flags, json.loads(command)

    @property
    def command(self) -> list[str]:
        return [*json.loads(self.last("ENTRYPOINT")), *json.loads(self.last("CMD"))]
