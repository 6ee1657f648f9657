"""The tool-call deadline (`CDP_CALL_TIMEOUT`): past it, the call's upstream work is cancelled and the model told.

Each upstream request has its own deadline (`ApiCaller`), but a call may make several (a composite, a renewal, a
retry): this bounds the whole call, so a slow or trickling API can never hold a tool call (and its host) for
longer than the operator chose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from cdp_mcp.errors import CallTimeoutError

__all__ = ["within_call_timeout"]

_T = TypeVar("_T")


async def within_call_timeout(tool: str, seconds: float, run: Callable[[], Awaitable[_T]]) -> _T:
    """`run()`'s result, or `CallTimeoutError` once `seconds` have passed (its pending requests cancelled).

    A token creation in flight is shielded (the allowance it spends must not be lost) and bounded by its own
    request deadline, so the error may come that much later.
    """
    with anyio.move_on_after(seconds):
        return await run()
    raise CallTimeoutError(f"{tool} did not finish within {seconds:g} s (CDP_CALL_TIMEOUT); its requests to the "
                           "Customer Profile API were cancelled.")
