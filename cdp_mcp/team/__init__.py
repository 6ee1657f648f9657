"""Team deployment: per-person OAuth sign-in, grants by scope, the audit trail and rate limits per person."""

__all__: list[str] = []
