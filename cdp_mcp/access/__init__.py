"""The access policy around every tool call: who is calling, what their grants reach, the call guard (rate limit,
grants, request id), and the audit trail.

Above the backend, below the tools: the tools and the server ask it, and it knows nothing of them (the guard
takes any call descriptor with a name, its resources and whether it names a customer: `guard.GuardedCall`).
"""

from __future__ import annotations

__all__: list[str] = []
