"""The response of each resource, declared once: field names as the vendor spells them, types as documented.

The sandbox builds these models and serialises exactly them (extra fields are forbidden, so it cannot send an
undocumented field by accident); its OpenAPI document and the contract tests are derived from them. The client
reads each field by its declared name first and falls back to recognising other spellings only when the field
is missing (`client/recognise.py`), so the tolerance stays where the vendor leaves the shape open.

Every field carries a `Wired` marker: whether the vendor documents it (`doc`) or the sandbox chose it where the
documentation is open (`chosen`, listed in `sandbox/CONTRACT.md`), and what it means to the client (a key of
`recognise.SYNONYMS`). The envelopes (`catalog.Envelope`) are built and described here too.
"""
# ruff: noqa: N815 - the vendor's field names

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from cdp_mcp.catalog import Envelope, Resource, Scope

__all__ = [
    "ITEMS",
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
    "meanings",
    "response_body",
    "response_schema",
    "wire_model",
]

ITEMS = "items"
"""The meaning of a field that holds the resource's list of items (`dataList`, `activity`, ...)."""


@dataclass(frozen=True, slots=True)
class Wired:
    """What a declared field is: documented by the vendor or chosen by the sandbox, and its meaning to the client."""

    meaning: str | None
    documented: bool

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["x-documented"] = self.documented  # the OpenAPI document says which fields are the sandbox's
        return json_schema


def doc(meaning: str | None = None) -> Wired:
    """A field the vendor documents (name and type)."""
    return Wired(meaning, True)


def chosen(meaning: str | None = None) -> Wired:
    """A field the vendor leaves open: the sandbox's choice, stated in CONTRACT.md."""
    return Wired(meaning, False)


Day = Annotated[str, Field(pattern=r"^\d{2}-\d{2}-\d{4}$", description="DD-MM-YYYY")]
Money = Annotated[str, Field(pattern=r"^\$ \d+(\.\d{1,2})?$", description='formatted, e.g. "$ 55.9"')]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class LastKey(WireModel):
    """The pointer to the last record, shaped like the vendor's example; sent back as `lastKey` for the next page."""

    HK_CUSTOMER_CODE: Annotated[str, doc()]
    RK_DATE_KEY: Annotated[int, doc(), Field(ge=0)]


class BasicData(WireModel):
    """The profile card: the documented fields, then one of the further fields the vendor mentions without naming
    them ("one begins with `op`"): the client keeps such fields as the tenant's own (`Profile.extra`)."""

    customerId: Annotated[str, doc("customer_id")]
    profileImageUrl: Annotated[str, doc("image_url")]
    salutation: Annotated[str, doc("salutation")]
    fullName: Annotated[str, doc("full_name")]
    gender: Annotated[str, doc("gender")]
    age: Annotated[int, doc("age")]
    dob: Annotated[str, doc("birth_date"), Field(pattern=r"^\d{2}/\d{2}/\d{4}$", description="DD/MM/YYYY")]
    statusColor: Annotated[Literal["red", "green", "blue"], doc("status_color")]
    membershipType: Annotated[str, doc("membership_tier")]
    city: Annotated[str, doc("city")]
    state: Annotated[str, doc("state")]
    residenceAddress: Annotated[str, doc("address")]
    totalSales: Annotated[Money, doc("total_sales")]
    totalOrders: Annotated[int, doc("total_orders")]
    avgBasketVal: Annotated[float | None, doc("average_basket"), Field(description="null: never ordered")]
    totalVisits: Annotated[int, doc("total_visits")]
    daySinceLastPur: Annotated[int | None, doc("days_since_last_purchase"), Field(description="null: never ordered")]
    totalWebSessions: Annotated[int, doc("total_web_sessions")]
    optInStatus: Annotated[Literal["Opted in", "Opted out"], chosen(),
                           Field(description="Opted in: consents to at least one channel")]


class Segment(WireModel):
    segmentId: Annotated[str, chosen("id")]
    segmentName: Annotated[str, chosen("name")]
    segmentDescription: Annotated[str, chosen("description")]
    segmentType: Annotated[str, chosen("category")]
    addedDate: Annotated[Day, chosen("joined")]


class SegmentsData(WireModel):
    customerId: Annotated[int, chosen("customer")]
    pageSize: Annotated[int, chosen("page_size")]
    totalCount: Annotated[int, chosen("total")]
    dataList: Annotated[list[Segment], chosen(ITEMS)]
    lastKey: Annotated[LastKey | None, chosen("last_key"),
                       Field(description="send it back as `lastKey` for the next page; null on the last")]


class SearchSegmentsData(WireModel):
    customerId: Annotated[int, doc("customer")]
    currentPage: Annotated[int, doc("current_page")]
    pageSize: Annotated[int, doc("page_size")]
    totalCount: Annotated[int, doc("total")]
    dataList: Annotated[list[Segment], doc(ITEMS)]


class IsCustomerInSegmentData(WireModel):
    status: Annotated[bool, doc("in_segment")]


class Campaign(WireModel):
    campaignId: Annotated[str, chosen("id")]
    campaignName: Annotated[str, chosen("name")]
    channel: Annotated[str, chosen("channel")]
    campaignStatus: Annotated[str, chosen("status")]
    segmentId: Annotated[str, chosen("segment_id")]
    startDate: Annotated[Day, chosen("start")]
    endDate: Annotated[Day, chosen("end")]
    sentDate: Annotated[Day, chosen("sent")]
    opened: Annotated[bool, chosen("opened")]
    clicked: Annotated[bool, chosen("clicked")]


class CampaignsData(WireModel):
    customerId: Annotated[int, doc("customer")]
    currentPage: Annotated[int, doc("current_page")]
    pageSize: Annotated[int, chosen("page_size")]
    totalCount: Annotated[int, chosen("total"), Field(description='the vendor shows a key beginning with "total"')]
    totalPages: Annotated[int, chosen("total_pages")]
    dataList: Annotated[list[Campaign], chosen(ITEMS)]


class SearchCampaignsData(WireModel):
    """The vendor documents this answer as "like searchSegments": its fields are documented as there (items open)."""

    customerId: Annotated[int, doc("customer")]
    currentPage: Annotated[int, doc("current_page")]
    pageSize: Annotated[int, doc("page_size")]
    totalCount: Annotated[int, doc("total")]
    totalPages: Annotated[int, chosen("total_pages"), Field(description="as campaigns sends it")]
    dataList: Annotated[list[Campaign], doc(ITEMS)]


class Product(WireModel):
    productKey: Annotated[int, doc("key")]
    productCode: Annotated[str, doc("code")]
    productName: Annotated[str, doc("name")]
    productDescription: Annotated[str, doc("description")]
    productImgUrl: Annotated[str, doc("image")]
    retailPrice: Annotated[float, doc("price")]


class RecommendedProductsData(WireModel):
    customerId: Annotated[int, doc("customer")]
    totalCount: Annotated[int, doc("total")]
    dataList: Annotated[list[Product], doc(ITEMS)]
    dataSource: Annotated[str, chosen("source"), Field(description='the key "beginning with data" the vendor names')]


class ActivityItem(WireModel):
    id: Annotated[str, doc("id")]
    activityType: Annotated[str, chosen("type")]
    channel: Annotated[str, chosen("channel")]
    description: Annotated[str, chosen("description")]
    amount: Annotated[float | None, chosen("amount")]


class ActivityDay(WireModel):
    date: Annotated[Day, doc("date")]
    activityList: Annotated[list[ActivityItem], doc(ITEMS)]


class UserActivityData(WireModel):
    activity: Annotated[list[ActivityDay], doc(ITEMS), Field(description="days newest first")]


class TrendPoint(WireModel):
    time: Annotated[str, doc("month"), Field(pattern=r"^[A-Z][a-z]{2},\d{2}$", description="Mon,YY")]
    numberOfOrder: Annotated[int, doc("orders")]
    orderValue: Annotated[float, doc("order_value")]


class ProductPurchaseTrendsData(WireModel):
    customerId: Annotated[str, doc("customer")]
    currency: Annotated[str, doc("currency")]
    title: Annotated[str, doc("title")]
    dataList: Annotated[list[TrendPoint], doc(ITEMS), Field(description="oldest month first")]


class Purchase(WireModel):
    orderId: Annotated[str, chosen("id")]
    productCode: Annotated[str, chosen("product_code")]
    productName: Annotated[str, chosen("name")]
    category: Annotated[str, chosen("category")]
    quantity: Annotated[int, chosen("quantity")]
    orderValue: Annotated[float, chosen("amount")]
    orderDate: Annotated[Day, chosen("date")]


class ProductPurchasedData(WireModel):
    customerId: Annotated[int, doc("customer")]
    totalCount: Annotated[int, doc("total")]
    currentPage: Annotated[int, doc("current_page")]
    pageSize: Annotated[int, doc("page_size")]
    totalPages: Annotated[int, doc("total_pages")]
    dataList: Annotated[list[Purchase], chosen(ITEMS)]
    lastKey: Annotated[LastKey | None, chosen("last_key")]


class ChartPoint(WireModel):
    label: Annotated[str, doc("label")]
    value: Annotated[float, doc("score")]


class Chart(WireModel):
    chartTitle: Annotated[str, doc("title")]
    xAxisLabel: Annotated[str, doc("xlabel")]
    yAxisLabel: Annotated[str, doc("ylabel")]
    chartData: Annotated[list[ChartPoint], doc("points")]


class AffinityData(WireModel):
    customerId: Annotated[int, doc("customer")]
    totalCount: Annotated[int, doc("total")]
    currentPage: Annotated[int, doc("current_page")]
    pageSize: Annotated[int, doc("page_size")]
    totalPages: Annotated[int, doc("total_pages")]
    dataList: Annotated[list[Chart], doc(ITEMS)]


class Attribute(WireModel):
    attributeName: Annotated[str, chosen("attr_name")]
    attributeValue: Annotated[str | int | float | bool, chosen("value")]
    dataType: Annotated[Literal["string", "integer", "float", "boolean"], chosen("data_type")]


class UserAttributesData(WireModel):
    customerId: Annotated[int, chosen("customer")]
    totalCount: Annotated[int, chosen("total")]
    pageSize: Annotated[int, chosen("page_size")]
    dataList: Annotated[list[Attribute], chosen(ITEMS)]
    lastKey: Annotated[LastKey | None, chosen("last_key"),
                       Field(description="the pointer to the last record: send it back for the next page")]


class GcrIdData(WireModel):
    """One item of the gcr response's `data` list."""

    status: Annotated[Literal["Available", "Not available"], doc("status"),
                      Field(description='the vendor shows "Not available"; "Available" is our word for a match')]
    gcrId: Annotated[int, doc("gcr_id"), Field(description="-1 when not available")]


class Consent(WireModel):
    consent_category_lvl_1: Annotated[str, doc()]
    consent_category_lvl_2: Annotated[str, doc()]


class OptInData(WireModel):
    """One item of the bare optIn array; empty `dataItems` means not opted in."""

    id: Annotated[str, doc("id")]
    displayName: Annotated[str, doc("name")]
    iconName: Annotated[str, doc()]
    dataItems: Annotated[list[Consent], doc(ITEMS)]


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
