"""The embedded Customer Profile B2B API sandbox: an emulator of the vendor API over SQLite (see CONTRACT.md)."""

from __future__ import annotations

from cdp_mcp.sandbox.app import create_sandbox_app
from cdp_mcp.sandbox.options import SampleCustomer, SandboxOptions
from cdp_mcp.sandbox.runtime import Sandbox, open_sandbox, sample_customers

__all__ = ["SampleCustomer", "Sandbox", "SandboxOptions", "create_sandbox_app", "open_sandbox", "sample_customers"]
