"""Who a call is about: the four customer identifiers, validated before any I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from cdp_mcp.catalog import IDENTIFIERS
from cdp_mcp.errors import InvalidInputError

__all__ = ["CustomerIdentity", "identity_arguments", "identity_help"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^\+?[0-9]{6,15}$")
_HEADER_SAFE = re.compile(r"^[\x20-\x7e]+$")
"""Identifiers travel in HTTP headers, which carry printable ASCII only (httpx2 refuses anything else)."""


def identity_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The identifier arguments of a tool call (catalog.IDENTIFIERS), by argument name."""
    return {i.argument: arguments.get(i.argument) for i in IDENTIFIERS}


def identity_help() -> str:
    """One sentence naming the four identifier arguments with an example, for error messages."""
    names = ", ".join(i.argument for i in IDENTIFIERS)
    example = ", ".join(f'{i.argument}="{i.example}"' for i in IDENTIFIERS[1:2]) + " or gcr_id=1"
    return f"Give at least one of {names} (for example {example})."


class CustomerIdentity(BaseModel):
    """At least one identifier; several together must name one customer (the API checks that)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gcr_id: int | None = None
    email: str | None = None
    mobile: str | None = None
    customer_code: str | None = None

    @field_validator("email", "mobile", "customer_code", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("is empty")
            if not _HEADER_SAFE.match(value):
                raise ValueError("has characters an HTTP header cannot carry (printable ASCII only)")
        return value

    @field_validator("gcr_id", mode="before")
    @classmethod
    def _gcr_not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):  # pydantic would read true as 1: another customer's record
            raise ValueError("must be a positive integer, not a boolean")
        return value

    @field_validator("gcr_id")
    @classmethod
    def _gcr_positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("must be a positive integer")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("is not an email address (expected name@domain.tld)")
        return value.lower() if value else value

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        if value is None:
            return value
        digits = re.sub(r"[\s\-().]", "", value)
        if not _MOBILE.match(digits):
            raise ValueError("is not a mobile number (6 to 15 digits, optional leading +)")
        return digits

    @model_validator(mode="after")
    def _at_least_one(self) -> CustomerIdentity:
        if not self.present():
            raise ValueError("no customer identifier given")
        return self

    @classmethod
    def parse(cls, **values: Any) -> CustomerIdentity:
        """Validate tool arguments; raise `InvalidInputError` that names the four arguments and an example."""
        try:
            return cls(**{k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"{where} {msg}" if where else msg)
            raise InvalidInputError("Invalid customer identifier: " + "; ".join(problems) + ".",
                                    hint=identity_help()) from None

    def present(self) -> tuple[str, ...]:
        """The argument names that are set, in catalog order."""
        return tuple(i.argument for i in IDENTIFIERS if getattr(self, i.argument) is not None)

    def wire(self, *, gcr_body: bool = False) -> dict[str, str]:
        """Identifier headers as the API spells them; `gcr_body`: only the keys the gcr lookup documents in its
        body (gcrId never travels in a body)."""
        return {i.header: str(getattr(self, i.argument)) for i in IDENTIFIERS
                if getattr(self, i.argument) is not None and (i.in_gcr_body or not gcr_body)}

    def __repr__(self) -> str:
        # Identifiers are personal data: name which are present, never their values.
        return f"CustomerIdentity({', '.join(self.present())})"

    __str__ = __repr__
