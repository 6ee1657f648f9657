"""How a sandbox is configured, and the well-known sample customers every sandbox contains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cdp_mcp.catalog import DEFAULT_CONTEXT_PATH
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.settings import SANDBOX_TENANT_HASH, ValidityUnit

__all__ = ["AMBIGUOUS_EMAIL", "SAMPLE_SPECS", "SampleCustomer", "SampleSpec", "SandboxOptions"]


_HEADER_VALUE = re.compile(r"[\x21-\x7e]+")
"""A credential must fit in an HTTP header and be non-empty, or no client could ever present it."""


class SandboxOptions(BaseModel):
    """Everything that makes one sandbox tenant. Same seed and size: the same data, byte for byte."""

    model_config = ConfigDict(frozen=True)

    customers: int = Field(1000, ge=MIN_CUSTOMERS, le=1_000_000)
    seed: int = 7
    db_path: Path | None = Field(None, description="SQLite file; None: a private temporary database")
    tenant_hash: str = Field(SANDBOX_TENANT_HASH, repr=False)
    oauth_key_secret: str | None = Field(None, repr=False, description="Set: the tenant has OAuth enabled")
    token_daily_limit: int = Field(100, ge=1)
    validity_unit: ValidityUnit = "minutes"
    context_path: str = DEFAULT_CONTEXT_PATH

    @field_validator("tenant_hash", "oauth_key_secret")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER_VALUE.fullmatch(value):
            raise ValueError("must be non-empty printable ASCII without spaces (clients send it in an HTTP header)")
        return value

    @field_validator("context_path")
    @classmethod
    def _context_path(cls, value: str) -> str:
        """`rcdpapi/` -> `/rcdpapi`; `/` or empty -> served at the root."""
        value = value.strip().strip("/")
        return f"/{value}" if value else ""


@dataclass(frozen=True, slots=True)
class SampleCustomer:
    """A well-known customer for demos and tests. The `ambiguous` entry names no single customer (gcr_id None)."""

    label: str
    gcr_id: int | None
    email: str | None
    mobile: str | None
    customer_code: str | None
    full_name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class SampleSpec:
    """How the seeder shapes one well-known customer."""

    sample: SampleCustomer
    salutation: str
    gender: str
    level: str  # order volume: none, occasional, regular, loyal
    last_order_days: int | None = None  # force the most recent order this many days ago
    first_order_days: int | None = None  # force the oldest order this many days ago
    opted_out: bool = False


AMBIGUOUS_EMAIL = "garcia.family@example.com"
_SHARED_MOBILE = "5550100089"


SAMPLE_SPECS: tuple[SampleSpec, ...] = (
    SampleSpec(SampleCustomer("vip", 1, "ada.lovelace@example.com", "5550100001", "100001", "Ada Lovelace",
                              "Platinum member, frequent buyer"),
               "Ms.", "Female", "loyal", last_order_days=3),
    SampleSpec(SampleCustomer("regular", 2, "grace.hopper@example.com", "5550100002", "100002", "Grace Hopper",
                              "steady customer"),
               "Ms.", "Female", "regular", last_order_days=12),
    SampleSpec(SampleCustomer("lapsed", 3, "alan.turing@example.com", "5550100003", "100003", "Alan Turing",
                              "no purchase for over 120 days"),
               "Mr.", "Male", "regular", last_order_days=130),
    SampleSpec(SampleCustomer("new", 4, "katherine.johnson@example.com", "5550100004", "100004",
                              "Katherine Johnson", "first order in the last month"),
               "Ms.", "Female", "occasional", last_order_days=2, first_order_days=25),
    SampleSpec(SampleCustomer("opted_out", 5, "edsger.dijkstra@example.com", "5550100005", "100005",
                              "Edsger Dijkstra", "opted out of every channel"),
               "Mr.", "Male", "occasional", last_order_days=40, opted_out=True),
    SampleSpec(SampleCustomer("household_1", 6, AMBIGUOUS_EMAIL, "5550100006", "100006", "Maria Garcia",
                              "shares her email with household_2"),
               "Mrs.", "Female", "regular", last_order_days=8),
    SampleSpec(SampleCustomer("household_2", 7, AMBIGUOUS_EMAIL, "5550100007", "100007", "Jose Garcia",
                              "shares his email with household_1"),
               "Mr.", "Male", "occasional", last_order_days=50),
    SampleSpec(SampleCustomer("shared_mobile_1", 8, "priya.patel@example.com", _SHARED_MOBILE, "100008",
                              "Priya Patel", "shares a mobile number with shared_mobile_2"),
               "Ms.", "Female", "regular", last_order_days=20),
    SampleSpec(SampleCustomer("shared_mobile_2", 9, "raj.patel@example.com", _SHARED_MOBILE, "100009",
                              "Raj Patel", "shares a mobile number with shared_mobile_1"),
               "Mr.", "Male", "none"),
    SampleSpec(SampleCustomer("no_email", 10, None, "5550100010", "100010", "Li Wei", "has no email address"),
               "Mr.", "Male", "occasional", last_order_days=70),
)
