"""Shared, described tool arguments: the four customer identifiers, limit, cursor and the screening inputs.

Every argument carries a description and bounds, so a model reads how to call a tool from its schema.
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

from cdp_mcp.catalog import IDENTIFIERS
from cdp_mcp.tools.outputs import OUTPUT_CONFIG
from cdp_mcp.tools.spec import Param

__all__ = [
    "CHANNELS",
    "CURSOR",
    "IDENTITY_PARAMS",
    "INTEGER",
    "LIMIT",
    "MAX_LIMIT",
    "SECTIONS",
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


def _identity_param(argument: str, description: str, example: str) -> Param:
    text = f"{description[:1].upper()}{description[1:]}, e.g. {example}."
    if argument == IDENTIFIERS[0].argument:
        text += f" Give at least one of {', '.join(i.argument for i in IDENTIFIERS)}; several must name one customer."
    if argument == "gcr_id":
        return Param(argument, Annotated[int | None, Field(description=text, ge=1, le=2**53), INTEGER], None)
    return Param(argument, Annotated[str | None, Field(description=text, max_length=_MAX_LENGTH[argument]), TEXT],
                 None)


IDENTITY_PARAMS: tuple[Param, ...] = tuple(_identity_param(i.argument, i.description, i.example) for i in IDENTIFIERS)

LIMIT = Param("limit", Annotated[int, Field(description="How many items to return.", ge=1, le=MAX_LIMIT), INTEGER],
              10)

CURSOR = Param(
    "cursor",
    Annotated[str | None, Field(description="next_cursor of this tool's previous result; omit for the first page.",
                                max_length=2048)],
    None,
)


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
