"""Audience screening as durable, resumable jobs: thousands of customers screened in the background.

`service.Screenings` is the entry point (the tools, the Tasks extension, the resources and `POST /audiences` use
it); `engine.Engine` runs the jobs chunk by chunk in the server's lifespan; `store` declares the shared state
(`sqlite_store` under CDP_STATE_DIR, `redis_store` with CDP_REDIS_URL); `audience` and `sources` turn inline rows,
files and uploads into audiences; `rows` screens one row; `estimate` prices a run; `pacing` bounds and times the
upstream requests.
"""

from __future__ import annotations

__all__ = ["SCAN_SECONDS"]

SCAN_SECONDS = 2.0
"""How often an idle engine looks for jobs to take (a new job of this replica wakes it at once). Declared here, not
in `engine`, so the server's lifespan times the first look without loading the engine (`lifespan.ScreeningsSlot`)."""
