"""optIn, as the sandbox serves it: one item per channel, its consent categories when opted in."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.seed_data import CHANNELS, ChannelDef
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest

__all__ = ["OPT_IN", "opt_in"]

def opt_in(req: ViewRequest) -> list[wire.OptInData]:
    consents = {r[0]: (r[1], r[2]) for r in req.store.query(
        "SELECT channel_id, opted_in, categories FROM channel_consents WHERE gcr_id = ?", (req.gcr_id,))}
    out = []
    for ch in CHANNELS:
        opted, cats = consents.get(ch.channel_id, (0, ""))
        items = [wire.Consent(consent_category_lvl_1=c, consent_category_lvl_2="All") for c in cats.split(",") if c] \
            if opted else []
        out.append(wire.OptInData(id=ch.channel_id, displayName=ch.name, iconName=ch.icon, dataItems=items))
    return out


_DOCUMENTED = frozenset({"01", "03"})  # the vendor's example names Email and SMS; Push and WhatsApp are ours


def _channel(channel: ChannelDef) -> str:
    text = f"`{channel.channel_id}` {channel.name}"
    return text if channel.channel_id in _DOCUMENTED else f"*{text}*"


OPT_IN = SandboxResource(
    Scope.OPT_IN, opt_in,
    contract="For example `[{\"id\":\"01\",\"displayName\":\"Email\",\"iconName\":\"mail.svg\",\"dataItems\":"
             "[{\"consent_category_lvl_1\":\"Promotional\",\"consent_category_lvl_2\":\"All\"}]}, ...]`, channels "
             f"{', '.join(_channel(ch) for ch in CHANNELS)}; an empty `dataItems` means not opted in",
)
