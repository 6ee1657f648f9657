"""optIn: the customer's marketing consent, per channel."""

from __future__ import annotations

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, PageRequest
from cdp_mcp.client.reading import Reader, need_items
from cdp_mcp.client.recognise import Item, norm
from cdp_mcp.client.values import as_text

__all__ = ["OPT_IN", "ChannelConsent", "Consents", "read_consents"]

CHANNEL = ("channel", "consent")
_CATEGORY_WORDS = ("categ", "lvl", "level", "name", "label")


class ChannelConsent(DomainModel):
    channel: str = Field(description="email, sms, push, whatsapp, ... (lower case)")
    channel_id: str | None = None
    opted_in: bool
    categories: list[str] = Field(default_factory=list, description="Consent categories the customer agreed to")


class Consents(DomainModel):
    channels: list[ChannelConsent]


def _categories(levels: list[object]) -> list[str]:
    """Consent categories, levels joined (`Promotional / Offers`); a level of "All" adds nothing."""
    names = []
    for element in levels:
        if isinstance(element, dict):
            labels = [(k, v) for k, v in element.items() if not norm(k).endswith(("id", "code", "key"))]
            named = [(k, v) for k, v in labels if any(w in norm(k) for w in _CATEGORY_WORDS)]
            pairs = sorted(named or labels)
            parts = [p for _, v in pairs if (p := as_text(v)) and p.lower() != "all"]
            if parts:
                names.append(" / ".join(parts))
        elif (text := as_text(element)) is not None:
            names.append(text)
    return names


def read_consents(resource: Resource, data: object, _page: PageRequest | None) -> Consents:
    channels = []
    for element in need_items(resource, data, "channels", "consents", "optins"):
        item = Item(element, CHANNEL, declared=wire.OptInData)
        name = item.text("name") or item.text("channel", prefixes=())
        if name is None:
            continue
        levels = item.sublist("categories", "consentcategories", "items") or []
        opted = item.flag("opted_in", prefixes=())
        channels.append(ChannelConsent(channel=name.lower(), channel_id=item.text("id"),
                                       opted_in=opted if opted is not None else bool(levels),
                                       categories=_categories(levels)))
    return Consents(channels=channels)


OPT_IN = Reader(Scope.OPT_IN, read_consents)
