"""optIn as the get_marketing_consent tool: the channels the customer can be contacted on, and not."""

from __future__ import annotations

from typing import Annotated

from cdp_mcp import wire
from cdp_mcp.client.resources.consent import OPT_IN, Consents
from cdp_mcp.tools.kinds import LeftOut, SingleTool
from cdp_mcp.tools.origins import wired
from cdp_mcp.tools.outputs import Result, unique
from cdp_mcp.tools.shaping import clean

__all__ = ["GET_MARKETING_CONSENT", "ConsentOut", "consents"]


class ConsentOut(Result):
    contactable_on: Annotated[list[str], wired(wire.OptInData, "name", "channel")]
    not_contactable_on: Annotated[list[str], wired(wire.OptInData, "name", "channel")]
    categories: Annotated[dict[str, list[str]] | None, wired(wire.Consent)] = None


def consents(c: Consents, gcr_id: int | None) -> ConsentOut:
    channels = unique(c.channels, key=lambda ch: ch.channel.lower())
    categories = {ch.channel.lower(): cats for ch in channels
                  if (cats := unique([x for x in (clean(y) for y in ch.categories) if x], key=str.casefold))}
    return ConsentOut(gcr_id=gcr_id, contactable_on=[ch.channel.lower() for ch in channels if ch.opted_in],
                      not_contactable_on=[ch.channel.lower() for ch in channels if not ch.opted_in],
                      categories=categories or None)


def _consent_card(data: Consents, gcr_id: int | None, _limit: int) -> Result:
    return consents(data, gcr_id)


GET_MARKETING_CONSENT = SingleTool(
    reader=OPT_IN, tool="get_marketing_consent", title="Marketing consent",
    description="Marketing consent: the channels (email, sms, push, whatsapp) the customer opted in to and not, "
    "with the consent categories per channel.",
    output=ConsentOut, shape=_consent_card,
    summary="consent per channel, channels contactable on",
    left_out=LeftOut(("id", "iconName", "consent_category_lvl_2"),
                     "the channel's numeric id and icon; a second consent level of `All` adds nothing (others are "
                     "joined: `Promotional / Offers`)"),
)
