"""The results the views are tested with: which sample customers get a card, how many customers are screened."""

from __future__ import annotations

__all__ = ["CARD_LABELS", "SCREENED"]

CARD_LABELS = ("vip", "lapsed", "opted_out", "no_email")
SCREENED = 20
