"""Pydantic models of what the sandbox sends: each resource's `data` (or list item), field for field.

They are the "models" the OpenAPI document is built from, and the tests validate live responses against them
(`extra="forbid"`), so CONTRACT.md, the views and the published schema cannot drift apart. Field names are the
wire's (camelCase, as the vendor spells them).
"""
# ruff: noqa: N815 - wire field names

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from cdp_mcp.catalog import Resource

__all__ = [
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
    "wire_model",
]

Day = Annotated[str, Field(pattern=r"^\d{2}-\d{2}-\d{4}$", description="DD-MM-YYYY")]
Money = Annotated[str, Field(pattern=r"^\$ \d+(\.\d{1,2})?$", description='formatted, e.g. "$ 55.9"')]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LastKey(WireModel):
    HK_CUSTOMER_CODE: str
    RK_DATE_KEY: int = Field(ge=0)


class BasicData(WireModel):
    customerId: str = Field(description="a string here (an integer in list resources)")
    gcrId: int
    profileImageUrl: str
    salutation: str
    fullName: str
    gender: str
    age: int
    dob: str = Field(pattern=r"^\d{2}/\d{2}/\d{4}$", description="DD/MM/YYYY")
    statusColor: str
    membershipType: str
    city: str
    state: str
    residenceAddress: str
    totalSales: Money
    totalOrders: int
    avgBasketVal: Money | Literal[""]
    totalVisits: int
    daySinceLastPur: int | Literal[""]
    totalWebSessions: int
    emailAddress: str
    mobileNumber: str
    customerCodeExternal: str
    optInStatus: str = Field(description='opted-in channels, e.g. "Email,SMS"')
    preferredChannel: str


class Segment(WireModel):
    segmentId: str
    segmentName: str
    segmentDescription: str
    segmentType: str
    addedDate: Day


class SegmentsData(WireModel):
    customerId: int
    pageSize: int
    totalCount: int
    dataList: list[Segment]
    lastKey: LastKey | None = Field(description="send it back as `lastKey` for the next page; null on the last")


class SearchSegmentsData(WireModel):
    customerId: int
    currentPage: int
    pageSize: int
    totalCount: int
    dataList: list[Segment]


class IsCustomerInSegmentData(WireModel):
    status: bool


class Campaign(WireModel):
    campaignId: str
    campaignName: str
    channel: str
    campaignStatus: str
    segmentId: str
    startDate: Day
    endDate: Day
    sentDate: Day
    opened: bool
    clicked: bool


class CampaignsData(WireModel):
    customerId: int
    currentPage: int
    pageSize: int
    totalCount: int
    totalPages: int
    dataList: list[Campaign]


class SearchCampaignsData(CampaignsData):
    pass


class Product(WireModel):
    productKey: str
    productCode: str
    productName: str
    productDescription: str
    productImgUrl: str
    retailPrice: float


class RecommendedProductsData(WireModel):
    customerId: int
    totalCount: int
    dataList: list[Product]
    dataSource: str


class ActivityItem(WireModel):
    id: str
    activityType: str
    channel: str
    description: str
    amount: float | None


class ActivityDay(WireModel):
    date: Day
    activityList: list[ActivityItem]


class UserActivityData(WireModel):
    customerId: int
    activity: list[ActivityDay] = Field(description="days newest first")


class TrendPoint(WireModel):
    time: str = Field(pattern=r"^[A-Z][a-z]{2},\d{2}$", description="Mon,YY")
    numberOfOrder: int
    orderValue: float


class ProductPurchaseTrendsData(WireModel):
    customerId: int
    currency: str
    title: str
    dataList: list[TrendPoint] = Field(description="oldest month first")


class Purchase(WireModel):
    orderId: str
    productCode: str
    productName: str
    category: str
    quantity: int
    orderValue: float
    orderDate: Day


class ProductPurchasedData(WireModel):
    customerId: int
    totalCount: int
    currentPage: int
    pageSize: int
    totalPages: int
    dataList: list[Purchase]
    lastKey: LastKey | None


class ChartPoint(WireModel):
    label: str
    value: float


class Chart(WireModel):
    chartTitle: str
    xAxisLabel: str
    yAxisLabel: str
    chartData: list[ChartPoint]


class AffinityData(WireModel):
    customerId: int
    totalCount: int
    pageSize: int
    dataList: list[Chart]


class Attribute(WireModel):
    attributeName: str
    attributeValue: str | int | float | bool
    dataType: Literal["string", "integer", "float", "boolean"]


class UserAttributesData(WireModel):
    customerId: int
    totalCount: int
    pageSize: int
    dataList: list[Attribute]


class GcrIdData(WireModel):
    """One item of the gcr response's `data` list."""

    status: Literal["Available", "Not available"]
    gcrId: int = Field(description="-1 when not available")


class Consent(WireModel):
    consent_category_lvl_1: str
    consent_category_lvl_2: str


class OptInData(WireModel):
    """One item of the bare optIn array; empty `dataItems` means not opted in."""

    id: str
    displayName: str
    iconName: str
    dataItems: list[Consent]


def wire_model(resource: Resource) -> type[WireModel]:
    """The model of a resource's `data` (or of one list item for the gcr list and the bare array)."""
    model = globals()[resource.name[0].upper() + resource.name[1:] + "Data"]
    assert issubclass(model, WireModel)
    return model
