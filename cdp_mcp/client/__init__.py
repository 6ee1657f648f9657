"""client package."""

__all__: list[str] = []
