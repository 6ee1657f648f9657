"""Fixtures for the CLI, transports, manifests and examples: a clean environment and a shared small sandbox.

Every test starts without the developer's CDP_* variables and in an empty working directory (no stray `.env`).
One state directory serves the whole session, so the small embedded sandbox is seeded once and the broker's
persisted tokens are reused from process to process instead of spending the tenant's daily creations.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdp_mcp.sandbox import SampleCustomer, sample_customers
from cdp_mcp.settings import Settings

SANDBOX_CUSTOMERS = 200


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("CDP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def shared_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-state")


def environment(state_dir: Path) -> dict[str, str]:
    """The CDP_* variables of these tests: the shared state directory and the small sandbox."""
    return {"CDP_STATE_DIR": str(state_dir), "CDP_SANDBOX_CUSTOMERS": str(SANDBOX_CUSTOMERS),
            "CDP_LOG_LEVEL": "WARNING"}


@pytest.fixture
def cdp_env(monkeypatch: pytest.MonkeyPatch, shared_state_dir: Path) -> dict[str, str]:
    """The CDP_* environment of these tests, set in this process and returned for subprocesses."""
    env = environment(shared_state_dir)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def sandbox_settings(cdp_env: dict[str, str]) -> Settings:
    return Settings.load()


@pytest.fixture(scope="session")
def showcase() -> SampleCustomer:
    """The first sample customer with a gcr_id, an email and a mobile of their own."""
    samples = sample_customers()
    mobiles = [s.mobile for s in samples]
    return next(s for s in samples if s.gcr_id and s.email and s.mobile and mobiles.count(s.mobile) == 1)


@pytest.fixture(scope="session")
def ambiguous() -> SampleCustomer:
    return next(s for s in sample_customers() if s.label == "ambiguous")
