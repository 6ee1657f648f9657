"""Shared, described tool arguments: the four customer identifiers, limit, cursor and the screening inputs.

Every argument carries a description and bounds, so a model reads how to call a tool from its schema.
Identifier strings are not length-checked to zero here on purpose: an empty or malformed identifier
reaches `CustomerIdentity.parse`, whose error names all four arguments and gives an example. Text
arguments accept a JSON number too (`mobile: 5550100001`, `segment_id: 101`): models and clients send
digit strings as numbers, and refusing them would only cost a retry.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, create_model

from cdp_mcp.catalog import IDENTIFIERS
from cdp_mcp.tools.outputs import OUTPUT_CONFIG
from cdp_mcp.tools.spec import Param

__all__ = [
    "CHANNEL",
    "CHANNELS",
    "CURSOR",
    "IDENTITY_PARAMS",
    "LIMIT",
    "MAX_LIMIT",
    "SECTIONS",
    "SEGMENT_ID",
    "SEGMENT_NAME",
    "TEXT",
    "Channel",
    "CustomerRef",
    "Section",
    "text_param",
]

MAX_LIMIT = 100
_MAX_LENGTH = {"gcr_id": None, "email": 254, "mobile": 32, "customer_code": 64}

Channel = Literal["email", "sms", "push", "whatsapp"]
CHANNELS: tuple[str, ...] = get_args(Channel)

Section = Literal["who", "value", "segments", "consent", "affinities", "recommendations"]
SECTIONS: tuple[str, ...] = get_args(Section)


TEXT: dict[str, Any] = {"coerce_numbers_to_str": True}
"""Field options of every text argument: digits sent as a JSON number are taken as their text."""


def _identity_param(argument: str, description: str, example: str) -> Param:
    text = f"{description[:1].upper()}{description[1:]}, e.g. {example}."
    if argument == IDENTIFIERS[0].argument:
        text += f" Give at least one of {', '.join(i.argument for i in IDENTIFIERS)}; several must name one customer."
    if argument == "gcr_id":
        return Param(argument, Annotated[int | None, Field(description=text, ge=1, le=2**53)], None)
    return Param(argument, Annotated[str | None, Field(description=text, max_length=_MAX_LENGTH[argument],
                                                       **TEXT)], None)


IDENTITY_PARAMS: tuple[Param, ...] = tuple(_identity_param(i.argument, i.description, i.example) for i in IDENTIFIERS)

LIMIT = Param("limit", Annotated[int, Field(description="How many items to return.", ge=1, le=MAX_LIMIT)], 10)

CURSOR = Param(
    "cursor",
    Annotated[str | None, Field(description="next_cursor of this tool's previous result; omit for the first page.",
                                max_length=2048)],
    None,
)


SEGMENT_ID = Param("segment_id", Annotated[str | None, Field(
    description="Segment id to check membership of; give this or segment_name.", min_length=1, max_length=200,
    **TEXT)], None)
SEGMENT_NAME = Param("segment_name", Annotated[str | None, Field(
    description="Exact segment name (case-insensitive); give this or segment_id.", min_length=1, max_length=200,
    **TEXT)], None)
CHANNEL = Param("channel", Annotated[Channel, Field(description="Channel the campaign would use.")])
"""The screening checks: which segment (by id or exact name) and which channel's consent."""


def text_param(name: str, description: str, *, max_length: int = 200) -> Param:
    """A required, non-empty text argument (a search text or an id)."""
    return Param(name, Annotated[str, Field(description=description, min_length=1, max_length=max_length,
                                            **TEXT)])


_CUSTOMER_FIELDS: dict[str, Any] = {p.name: (p.annotation, p.default) for p in IDENTITY_PARAMS}

CustomerRef: type[BaseModel] = create_model(
    "CustomerRef",
    __config__=OUTPUT_CONFIG,
    __doc__="One customer to screen: the same identifier arguments as every customer tool.",
    **_CUSTOMER_FIELDS,
)
