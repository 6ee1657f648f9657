"""The response of each resource, declared once: field names as the vendor spells them, types as documented.

The sandbox builds these models and serialises exactly them (extra fields are forbidden, so it cannot send an
undocumented field by accident); its OpenAPI document and the contract tests are derived from them. The client
reads each field by its declared name first and falls back to recognising other spellings only when the field
is missing (`client/recognise.py`), so the tolerance stays where the vendor leaves the shape open.

Every field carries a `Wired` marker: whether the vendor documents it (`doc`) or the sandbox chose it where the
documentation is open (`chosen`, listed in `sandbox/CONTRACT.md`), who writes its values (`Origin`: the one
declaration the sanitizer, the untrusted labels, the docs and the tests read, see `tools/origins.py`), and what it
means to the client (a key of `recognise.SYNONYMS`). The envelopes (`catalog.Envelope`) are built and described
here too.
"""
# ruff: noqa: N815 - the vendor's field names

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from cdp_mcp.catalog import Envelope, Resource, Scope

__all__ = [
    "CUSTOMER",
    "ITEMS",
    "RECOGNISED_ORIGINS",
    "SYSTEM",
    "TENANT",
    "ActivityDay",
    "ActivityItem",
    "AffinityData",
    "Attribute",
    "BasicData",
    "Campaign",
    "CampaignsData",
    "Chart",
    "ChartPoint",
    "Consent",
    "Day",
    "GcrIdData",
    "IsCustomerInSegmentData",
    "LastKey",
    "Money",
    "OptInData",
    "Origin",
    "Product",
    "ProductPurchaseTrendsData",
    "ProductPurchasedData",
    "Purchase",
    "RecommendedProductsData",
    "SearchCampaignsData",
    "SearchSegmentsData",
    "Segment",
    "SegmentsData",
    "TrendPoint",
    "UserActivityData",
    "UserAttributesData",
    "WireModel",
    "Wired",
    "chosen",
    "doc",
    "fields",
    "further_origin",
    "marker_of",
    "meanings",
    "response_body",
    "response_schema",
    "wire_model",
]

ITEMS = "items"
"""The meaning of a field that holds the resource's list of items (`dataList`, `activity`, ...)."""


class Origin(StrEnum):
    """Who writes a field's values, which decides how much of them a model may trust (most trusted last)."""

    CUSTOMER = "customer"
    """Written by or for a customer: names, addresses, attribute values, activity text, free text. Data that may
    carry instructions: sanitized as customer text, labelled untrusted, left out under CDP_UNTRUSTED=omit."""
    TENANT = "tenant"
    """Set by the tenant's staff: segment, campaign, product, channel and attribute names."""
    SYSTEM = "system"
    """Ids, numbers, dates, flags and the API's own codes."""


CUSTOMER, TENANT, SYSTEM = Origin.CUSTOMER, Origin.TENANT, Origin.SYSTEM


@dataclass(frozen=True, slots=True)
class Wired:
    """What a declared field is: documented by the vendor or chosen by the sandbox, who writes it, whether it holds a
    URL, and its meaning to the client."""

    meaning: str | None
    documented: bool
    origin: Origin
    url: bool = False

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["x-documented"] = self.documented  # the OpenAPI document says which fields are the sandbox's
        json_schema["x-origin"] = self.origin.value  # and who writes each one
        return json_schema


def doc(origin: Origin, meaning: str | None = None, *, url: bool = False) -> Wired:
    """A field the vendor documents (name and type), written by `origin`."""
    return Wired(meaning, True, origin, url)


def chosen(origin: Origin, meaning: str | None = None, *, url: bool = False) -> Wired:
    """A field the vendor leaves open: the sandbox's choice, stated in CONTRACT.md, written by `origin`."""
    return Wired(meaning, False, origin, url)


Day = Annotated[str, Field(pattern=r"^\d{2}-\d{2}-\d{4}$", description="DD-MM-YYYY")]
Money = Annotated[str, Field(pattern=r"^\$ \d+(\.\d{1,2})?$", description='formatted, e.g. "$ 55.9"')]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class LastKey(WireModel):
    """The pointer to the last record, shaped like the vendor's example; sent back as `lastKey` for the next page."""

    HK_CUSTOMER_CODE: Annotated[str, doc(SYSTEM)]
    RK_DATE_KEY: Annotated[int, doc(SYSTEM), Field(ge=0)]


class BasicData(WireModel):
    """The profile card: the documented fields, then one of the further fields the vendor mentions without naming
    them ("one begins with `op`"): the client keeps such fields as the tenant's own (`Profile.extra`)."""

    customerId: Annotated[str, doc(SYSTEM, "customer_id")]
    profileImageUrl: Annotated[str, doc(CUSTOMER, "image_url", url=True)]
    salutation: Annotated[str, doc(CUSTOMER, "salutation")]
    fullName: Annotated[str, doc(CUSTOMER, "full_name")]
    gender: Annotated[str, doc(CUSTOMER, "gender")]
    age: Annotated[int, doc(SYSTEM, "age")]
    dob: Annotated[str, doc(SYSTEM, "birth_date"),
                   Field(pattern=r"^\d{2}/\d{2}/\d{4}$", description="DD/MM/YYYY")]
    statusColor: Annotated[Literal["red", "green", "blue"], doc(SYSTEM, "status_color")]
    membershipType: Annotated[str, doc(TENANT, "membership_tier")]
    city: Annotated[str, doc(CUSTOMER, "city")]
    state: Annotated[str, doc(CUSTOMER, "state")]
    residenceAddress: Annotated[str, doc(CUSTOMER, "address")]
    totalSales: Annotated[Money, doc(SYSTEM, "total_sales")]
    totalOrders: Annotated[int, doc(SYSTEM, "total_orders")]
    avgBasketVal: Annotated[float | None, doc(SYSTEM, "average_basket"), Field(description="null: never ordered")]
    totalVisits: Annotated[int, doc(SYSTEM, "total_visits")]
    daySinceLastPur: Annotated[int | None, doc(SYSTEM, "days_since_last_purchase"),
                               Field(description="null: never ordered")]
    totalWebSessions: Annotated[int, doc(SYSTEM, "total_web_sessions")]
    optInStatus: Annotated[Literal["Opted in", "Opted out"], chosen(SYSTEM),
                           Field(description="Opted in: consents to at least one channel")]


class Segment(WireModel):
    segmentId: Annotated[str, chosen(SYSTEM, "id")]
    segmentName: Annotated[str, chosen(TENANT, "name")]
    segmentDescription: Annotated[str, chosen(TENANT, "description")]
    segmentType: Annotated[str, chosen(TENANT, "category")]
    addedDate: Annotated[Day, chosen(SYSTEM, "joined")]


class SegmentsData(WireModel):
    customerId: Annotated[int, chosen(SYSTEM, "customer")]
    pageSize: Annotated[int, chosen(SYSTEM, "page_size")]
    totalCount: Annotated[int, chosen(SYSTEM, "total")]
    dataList: Annotated[list[Segment], chosen(SYSTEM, ITEMS)]
    lastKey: Annotated[LastKey | None, chosen(SYSTEM, "last_key"),
                       Field(description="send it back as `lastKey` for the next page; null on the last")]


class SearchSegmentsData(WireModel):
    customerId: Annotated[int, doc(SYSTEM, "customer")]
    currentPage: Annotated[int, doc(SYSTEM, "current_page")]
    pageSize: Annotated[int, doc(SYSTEM, "page_size")]
    totalCount: Annotated[int, doc(SYSTEM, "total")]
    dataList: Annotated[list[Segment], doc(SYSTEM, ITEMS)]


class IsCustomerInSegmentData(WireModel):
    status: Annotated[bool, doc(SYSTEM, "in_segment")]


class Campaign(WireModel):
    campaignId: Annotated[str, chosen(SYSTEM, "id")]
    campaignName: Annotated[str, chosen(TENANT, "name")]
    channel: Annotated[str, chosen(TENANT, "channel")]
    campaignStatus: Annotated[str, chosen(SYSTEM, "status")]
    segmentId: Annotated[str, chosen(SYSTEM, "segment_id")]
    startDate: Annotated[Day, chosen(SYSTEM, "start")]
    endDate: Annotated[Day, chosen(SYSTEM, "end")]
    sentDate: Annotated[Day, chosen(SYSTEM, "sent")]
    opened: Annotated[bool, chosen(SYSTEM, "opened")]
    clicked: Annotated[bool, chosen(SYSTEM, "clicked")]


class CampaignsData(WireModel):
    customerId: Annotated[int, doc(SYSTEM, "customer")]
    currentPage: Annotated[int, doc(SYSTEM, "current_page")]
    pageSize: Annotated[int, chosen(SYSTEM, "page_size")]
    totalCount: Annotated[int, chosen(SYSTEM, "total"),
                          Field(description='the vendor shows a key beginning with "total"')]
    totalPages: Annotated[int, chosen(SYSTEM, "total_pages")]
    dataList: Annotated[list[Campaign], chosen(SYSTEM, ITEMS)]


class SearchCampaignsData(WireModel):
    """The vendor documents this answer as "like searchSegments": its fields are documented as there (items open)."""

    customerId: Annotated[int, doc(SYSTEM, "customer")]
    currentPage: Annotated[int, doc(SYSTEM, "current_page")]
    pageSize: Annotated[int, doc(SYSTEM, "page_size")]
    totalCount: Annotated[int, doc(SYSTEM, "total")]
    totalPages: Annotated[int, chosen(SYSTEM, "total_pages"), Field(description="as campaigns sends it")]
    dataList: Annotated[list[Campaign], doc(SYSTEM, ITEMS)]


class Product(WireModel):
    productKey: Annotated[int, doc(SYSTEM, "key")]
    productCode: Annotated[str, doc(SYSTEM, "code")]
    productName: Annotated[str, doc(TENANT, "name")]
    productDescription: Annotated[str, doc(TENANT, "description")]
    productImgUrl: Annotated[str, doc(TENANT, "image", url=True)]
    retailPrice: Annotated[float, doc(SYSTEM, "price")]


class RecommendedProductsData(WireModel):
    customerId: Annotated[int, doc(SYSTEM, "customer")]
    totalCount: Annotated[int, doc(SYSTEM, "total")]
    dataList: Annotated[list[Product], doc(SYSTEM, ITEMS)]
    dataSource: Annotated[str, chosen(SYSTEM, "source"),
                          Field(description='the key "beginning with data" the vendor names')]


class ActivityItem(WireModel):
    id: Annotated[str, doc(SYSTEM, "id")]
    activityType: Annotated[str, chosen(SYSTEM, "type")]
    channel: Annotated[str, chosen(TENANT, "channel")]
    description: Annotated[str, chosen(CUSTOMER, "description")]
    amount: Annotated[float | None, chosen(SYSTEM, "amount")]


class ActivityDay(WireModel):
    date: Annotated[Day, doc(SYSTEM, "date")]
    activityList: Annotated[list[ActivityItem], doc(SYSTEM, ITEMS)]


class UserActivityData(WireModel):
    activity: Annotated[list[ActivityDay], doc(SYSTEM, ITEMS), Field(description="days newest first")]


class TrendPoint(WireModel):
    time: Annotated[str, doc(SYSTEM, "month"), Field(pattern=r"^[A-Z][a-z]{2},\d{2}$", description="Mon,YY")]
    numberOfOrder: Annotated[int, doc(SYSTEM, "orders")]
    orderValue: Annotated[float, doc(SYSTEM, "order_value")]


class ProductPurchaseTrendsData(WireModel):
    customerId: Annotated[str, doc(SYSTEM, "customer")]
    currency: Annotated[str, doc(SYSTEM, "currency")]
    title: Annotated[str, doc(TENANT, "title")]
    dataList: Annotated[list[TrendPoint], doc(SYSTEM, ITEMS), Field(description="oldest month first")]


class Purchase(WireModel):
    orderId: Annotated[str, chosen(SYSTEM, "id")]
    productCode: Annotated[str, chosen(SYSTEM, "product_code")]
    productName: Annotated[str, chosen(TENANT, "name")]
    category: Annotated[str, chosen(TENANT, "category")]
    quantity: Annotated[int, chosen(SYSTEM, "quantity")]
    orderValue: Annotated[float, chosen(SYSTEM, "amount")]
    orderDate: Annotated[Day, chosen(SYSTEM, "date")]


class ProductPurchasedData(WireModel):
    customerId: Annotated[int, doc(SYSTEM, "customer")]
    totalCount: Annotated[int, doc(SYSTEM, "total")]
    currentPage: Annotated[int, doc(SYSTEM, "current_page")]
    pageSize: Annotated[int, doc(SYSTEM, "page_size")]
    totalPages: Annotated[int, doc(SYSTEM, "total_pages")]
    dataList: Annotated[list[Purchase], chosen(SYSTEM, ITEMS)]
    lastKey: Annotated[LastKey | None, chosen(SYSTEM, "last_key")]


class ChartPoint(WireModel):
    label: Annotated[str, doc(TENANT, "label")]
    value: Annotated[float, doc(SYSTEM, "score")]


class Chart(WireModel):
    chartTitle: Annotated[str, doc(TENANT, "title")]
    xAxisLabel: Annotated[str, doc(TENANT, "xlabel")]
    yAxisLabel: Annotated[str, doc(TENANT, "ylabel")]
    chartData: Annotated[list[ChartPoint], doc(SYSTEM, "points")]


class AffinityData(WireModel):
    customerId: Annotated[int, doc(SYSTEM, "customer")]
    totalCount: Annotated[int, doc(SYSTEM, "total")]
    currentPage: Annotated[int, doc(SYSTEM, "current_page")]
    pageSize: Annotated[int, doc(SYSTEM, "page_size")]
    totalPages: Annotated[int, doc(SYSTEM, "total_pages")]
    dataList: Annotated[list[Chart], doc(SYSTEM, ITEMS)]


class Attribute(WireModel):
    attributeName: Annotated[str, chosen(TENANT, "attr_name")]
    attributeValue: Annotated[str | int | float | bool, chosen(CUSTOMER, "value")]
    dataType: Annotated[Literal["string", "integer", "float", "boolean"], chosen(SYSTEM, "data_type")]


class UserAttributesData(WireModel):
    customerId: Annotated[int, chosen(SYSTEM, "customer")]
    totalCount: Annotated[int, chosen(SYSTEM, "total")]
    pageSize: Annotated[int, chosen(SYSTEM, "page_size")]
    dataList: Annotated[list[Attribute], chosen(SYSTEM, ITEMS)]
    lastKey: Annotated[LastKey | None, chosen(SYSTEM, "last_key"),
                       Field(description="the pointer to the last record: send it back for the next page")]


class GcrIdData(WireModel):
    """One item of the gcr response's `data` list."""

    status: Annotated[Literal["Available", "Not available"], doc(SYSTEM, "status"),
                      Field(description='the vendor shows "Not available"; "Available" is our word for a match')]
    gcrId: Annotated[int, doc(SYSTEM, "gcr_id"), Field(description="-1 when not available")]


class Consent(WireModel):
    consent_category_lvl_1: Annotated[str, doc(TENANT)]
    consent_category_lvl_2: Annotated[str, doc(TENANT)]


class OptInData(WireModel):
    """One item of the bare optIn array; empty `dataItems` means not opted in."""

    id: Annotated[str, doc(SYSTEM, "id")]
    displayName: Annotated[str, doc(TENANT, "name")]
    iconName: Annotated[str, doc(TENANT)]
    dataItems: Annotated[list[Consent], doc(SYSTEM, ITEMS)]


RECOGNISED_ORIGINS: dict[type[WireModel], dict[str, Origin]] = {
    BasicData: {"gcr_id": SYSTEM, "email": CUSTOMER, "mobile": CUSTOMER, "customer_code": SYSTEM},
    Purchase: {"order_ref": SYSTEM},
    OptInData: {"channel": TENANT},
}
"""Meanings the client recognises in some tenants' answers though no declaration names them (`recognise.SYNONYMS`),
with who writes their values. Any other field a tenant adds (the profile's `more`) counts as `CUSTOMER`."""

_MODELS: dict[Scope, type[WireModel]] = {
    Scope.BASIC: BasicData, Scope.SEGMENTS: SegmentsData, Scope.SEARCH_SEGMENTS: SearchSegmentsData,
    Scope.IS_CUSTOMER_IN_SEGMENT: IsCustomerInSegmentData, Scope.CAMPAIGNS: CampaignsData,
    Scope.SEARCH_CAMPAIGNS: SearchCampaignsData, Scope.RECOMMENDED_PRODUCTS: RecommendedProductsData,
    Scope.USER_ACTIVITY: UserActivityData, Scope.PRODUCT_PURCHASE_TRENDS: ProductPurchaseTrendsData,
    Scope.PRODUCT_PURCHASED: ProductPurchasedData, Scope.AFFINITY: AffinityData,
    Scope.USER_ATTRIBUTES: UserAttributesData, Scope.GCR_ID: GcrIdData, Scope.OPT_IN: OptInData,
}


def wire_model(resource: Resource) -> type[WireModel]:
    """The model of a resource's `data` (or of one list item for the gcr list and the bare array)."""
    return _MODELS[resource.name]


def _marker(model: type[BaseModel], name: str) -> Wired:
    return next(m for m in model.model_fields[name].metadata if isinstance(m, Wired))


@cache
def fields(model: type[BaseModel]) -> dict[str, Wired]:
    """Each declared field of `model` (vendor spelling) with its marker."""
    return {name: _marker(model, name) for name in model.model_fields}


@cache
def meanings(model: type[BaseModel]) -> dict[str, str]:
    """The client's meaning -> the declared (vendor) spelling, for the fields the client reads."""
    return {wired.meaning: name for name, wired in fields(model).items() if wired.meaning is not None}


def marker_of(model: type[WireModel], name: str) -> Wired:
    """The marker of the field of `model` that `name` names: a meaning, a declared (vendor) name, or a meaning the
    client recognises without a declaration (`RECOGNISED_ORIGINS`, as an undocumented marker).

    Raises:
        KeyError: `model` has no such field and the client recognises no such meaning in it.
    """
    declared = fields(model)
    if name in meanings(model):
        return declared[meanings(model)[name]]
    if name in declared:
        return declared[name]
    return Wired(name, False, RECOGNISED_ORIGINS[model][name])


def further_origin(model: type[WireModel], name: str) -> Origin:
    """Who writes a field a tenant sends in `model` beyond the meanings the client reads (by its upstream `name`):
    the declared origin when the declaration has it, else `CUSTOMER`, the one nothing is trusted with."""
    declared = fields(model).get(name)
    return declared.origin if declared is not None else CUSTOMER


def response_body(resource: Resource, data: WireModel | Sequence[WireModel]) -> Any:
    """The JSON body of a successful answer, in the resource's documented envelope."""
    if isinstance(data, WireModel):
        return {"status": "OK", "message": "", "data": data.model_dump(mode="json")}
    items = [item.model_dump(mode="json") for item in data]
    if resource.envelope is Envelope.BARE_ARRAY:
        return items
    return {"status": "OK", "data": items}  # the gcr list: no message


def response_schema(resource: Resource, item: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of `response_body` for `resource`, given the schema (or `$ref`) of its model."""
    if resource.envelope is Envelope.BARE_ARRAY:
        return {"type": "array", "items": item}
    if resource.envelope is Envelope.GCR_LIST:
        return {"type": "object", "required": ["status", "data"], "additionalProperties": False,
                "properties": {"status": {"const": "OK"}, "data": {"type": "array", "items": item}}}
    return {"type": "object", "required": ["status", "message", "data"], "additionalProperties": False,
            "properties": {"status": {"const": "OK"}, "message": {"type": "string"}, "data": item}}
