"""broker package."""

__all__: list[str] = []
