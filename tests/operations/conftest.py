"""Fixtures for running cdp-mcp as a service: metrics, probes, the drain, JSON logs.

The clean environment, the shared small embedded sandbox and the sample customers are the CLI tests' own fixtures
(tests/commands/conftest.py); the authorization server is the team tests' (tests/team/conftest.py).
"""

from __future__ import annotations

from tests.commands.conftest import _isolated, cdp_env, environment, sandbox_settings, shared_state_dir, showcase
from tests.team.conftest import auth_server

__all__ = ["_isolated", "auth_server", "cdp_env", "environment", "sandbox_settings", "shared_state_dir", "showcase"]
