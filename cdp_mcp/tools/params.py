"""Shared, described tool arguments: the four customer identifiers, limit, cursor and the screening inputs.

Every argument carries bounds, and a description unless its name says enough (the four identifiers are
described once, in the server instructions), so a model reads how to call a tool from its schema.
Identifier strings are not length-checked to zero here on purpose: an empty or malformed identifier
reaches `CustomerIdentity.parse`, whose error names all four arguments and gives an example. Text
arguments accept a whole JSON number too (`mobile: 5550100001`, `segment_id: 101`): models and clients send
digit strings as numbers, and refusing them would only cost a retry. Types are otherwise strict where the
SDK's (lax) validation would guess: `true` is never the integer 1 (customer 1), nor a number with a decimal
point or exponent a text (`5550100001.0` would become the digits of another mobile); both are argument errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, Field, create_model
from pydantic_core import PydanticCustomError

from cdp_mcp.catalog import IDENTIFIERS, Identifier
from cdp_mcp.tools.outputs import OUTPUT_CONFIG
from cdp_mcp.tools.spec import Param

__all__ = [
    "AT_LEAST_ONE",
    "CHANNEL",
    "CHANNELS",
    "CURSOR",
    "IDENTITY_PARAMS",
    "INTEGER",
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


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("int_not_bool", "Input should be an integer, not true or false")
    return value


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("str_not_bool", "Input should be text, not true or false")
    if isinstance(value, float):
        raise PydanticCustomError("str_not_float", "Input should be text; a number with a decimal point or an "
                                                   "exponent is not taken as digits (send the digits as text)")
    return str(value) if isinstance(value, int) else value


INTEGER = BeforeValidator(_integer)
"""Validator of every integer argument: `true`/`false` are refused, not read as 1/0."""
TEXT = BeforeValidator(_text)
"""Validator of every text argument: digits sent as a whole JSON number are taken as their text; booleans and
numbers with a fraction or exponent are refused."""


AT_LEAST_ONE = "Best identifier; at least one identifier is required"
"""The rule of every customer tool, stated in its first identifier's description (the instructions say it in full)."""


def _identity_param(identifier: Identifier) -> Param:
    """An identifier argument. The server instructions describe the four identifiers once; here only the first carries
    a description (what it is, and the rule), as the other three names speak for themselves."""
    if identifier is IDENTIFIERS[0]:
        described: dict[str, Any] = {"description": AT_LEAST_ONE}
    else:
        described = {}
    if identifier.argument == "gcr_id":
        return Param(identifier.argument, Annotated[int | None, Field(**described, ge=1, le=2**53), INTEGER], None)
    return Param(identifier.argument, Annotated[str | None, Field(
        **described, max_length=_MAX_LENGTH[identifier.argument]), TEXT], None)


IDENTITY_PARAMS: tuple[Param, ...] = tuple(_identity_param(i) for i in IDENTIFIERS)

LIMIT = Param("limit", Annotated[int, Field(description="Max items", ge=1, le=MAX_LIMIT), INTEGER], 10)

CURSOR = Param(
    "cursor",
    Annotated[str | None, Field(description="A previous result's next_cursor", max_length=2048)],
    None,
)


SEGMENT_ID = Param("segment_id", Annotated[str | None, Field(
    description="Segment id to check membership of; give this or segment_name.", min_length=1, max_length=200,
), TEXT], None)
SEGMENT_NAME = Param("segment_name", Annotated[str | None, Field(
    description="Exact segment name (case-insensitive); give this or segment_id.", min_length=1, max_length=200,
), TEXT], None)
CHANNEL = Param("channel", Annotated[Channel, Field(description="Channel the campaign would use.")])
"""The screening checks: which segment (by id or exact name) and which channel's consent."""


def text_param(name: str, description: str, *, max_length: int = 200) -> Param:
    """A required, non-empty text argument (a search text or an id)."""
    return Param(name, Annotated[str, Field(description=description, min_length=1, max_length=max_length), TEXT])


_CUSTOMER_FIELDS: dict[str, Any] = {p.name: (p.annotation, p.default) for p in IDENTITY_PARAMS}

CustomerRef: type[BaseModel] = create_model(
    "CustomerRef",
    __config__=OUTPUT_CONFIG,
    __doc__="One customer to screen: the same identifier arguments as every customer tool.",
    **_CUSTOMER_FIELDS,
)
