"""Ground truth of a screening row, read from the sandbox's own database (channel 03 is SMS, CONTRACT.md)."""

from __future__ import annotations

from cdp_mcp.sandbox.server import SandboxThread

__all__ = ["CHANNEL_IDS", "truth"]

CHANNEL_IDS = {"email": "01", "push": "02", "sms": "03", "whatsapp": "04"}


def truth(server: SandboxThread, gcr_id: int, segment_id: str, channel: str = "sms") -> tuple[bool, bool, int | None]:
    """(in the segment, opted in on `channel`, days since the last purchase or None)."""
    store = server.sandbox.store
    member = store.scalar("SELECT COUNT(*) FROM segment_members WHERE gcr_id = ? AND segment_id = ?",
                          (gcr_id, segment_id))
    consent = store.scalar("SELECT opted_in FROM channel_consents WHERE gcr_id = ? AND channel_id = ?",
                           (gcr_id, CHANNEL_IDS[channel]))
    days = store.scalar("SELECT MIN(days_ago) FROM orders WHERE gcr_id = ?", (gcr_id,))
    return bool(member), bool(consent), days
