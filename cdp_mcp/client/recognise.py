"""Read upstream objects by meaning: the documented spelling first, then the other spellings a tenant may use.

An `Item` knows the declaration of the object it reads (`cdp_mcp.wire`): for each meaning it looks for the
declared (vendor) field first, and only when that field is missing (or a placeholder) for the other plausible
spellings, since the docs leave many fields open and a real tenant may say `segmentName`, `name`,
`segment_name` or `SEGMENT_NAME`. Keys are normalised (lower case, without `_`, `-`, `.` and spaces) and
looked up in one table of spellings per meaning (`SYNONYMS`, which holds the other spellings: the vendor's own
come from the declaration); an item kind adds its prefixes (`segment`, `seg`), so `segmentId` and a bare `id`
both answer "id" for a segment. The first non-placeholder match wins. A spelling one object declares stays in
the table only where another object read for the same meaning declares it otherwise or not at all (a bare `id`
is an activity's declared id and a segment's fallback); a test keeps it so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache

from pydantic import BaseModel

from cdp_mcp.client.models import Money
from cdp_mcp.client.values import as_bool, as_date, as_float, as_int, as_money, is_placeholder, scalar_text
from cdp_mcp.wire import ITEMS, meanings

__all__ = ["SYNONYMS", "Item", "find_items", "norm"]

# Meaning -> normalised spellings other than the declared one of the object read, most specific first. Item kinds
# prepend their prefixes to each spelling. A meaning only ever read from one declared object keeps only the other
# spellings (`age` has none); a meaning without an entry (a new resource's, say) is read by its declared spelling.
SYNONYMS: dict[str, tuple[str, ...]] = {
    # identity and labels
    "id": ("id", "code", "key", "uid", "identifier", "number", "no"),
    "code": ("code", "sku", "id", "number", "no"),
    "key": ("key", "uuid", "guid"),
    "product_code": ("productid", "productsku", "sku", "itemcode", "itemid", "skucode", "articleno"),
    "name": ("name", "title", "label", "displayname"),
    "attr_name": ("name", "key", "label", "title", "field"),
    "segment_id": ("segmentcode", "segmentkey", "segid", "segcode"),
    "order_ref": ("id", "invoiceno", "invoicenumber", "receiptno", "billno"),
    "description": ("description", "details", "summary", "text", "info", "desc"),
    "category": ("category", "type", "group", "kind", "class", "categoryname"),
    "type": ("type", "activitytype", "eventtype", "kind", "action", "event", "category"),
    "status": ("status", "state"),
    "channel": ("channel", "channelname", "medium", "via", "platform", "source"),
    "image": ("imgurl", "imageurl", "image", "img", "thumbnail", "picture", "photo", "photourl"),
    "currency": ("currencycode", "currencysymbol"),
    "points": ("points", "data", "values", "scores", "items"),
    "source": ("source", "recommendationsource", "basedon", "algorithm", "model"),
    "title": ("title", "name", "label", "category", "dimension"),
    "xlabel": ("xlabel", "xaxis", "xtitle"),
    "ylabel": ("ylabel", "yaxis", "ytitle"),
    "label": ("name", "key", "category", "x", "title"),
    # dates
    "date": ("date", "orderdate", "purchasedate", "transactiondate", "eventdate", "activitydate", "datetime",
             "timestamp", "createdat", "createddate", "day", "on", "at", "time"),
    "joined": ("addeddate", "addedon", "added", "joineddate", "joinedon", "joined", "entrydate", "membersince",
               "since", "createddate", "createdat", "date"),
    "start": ("startdate", "start", "startson", "startedat", "from", "validfrom", "launchdate"),
    "end": ("enddate", "end", "endson", "endedat", "to", "validto", "until", "expirydate"),
    "sent": ("sentdate", "senton", "sentat", "sent", "senttime", "deliverydate", "delivereddate", "date"),
    "month": ("month", "period", "yearmonth", "bucket", "date", "label"),
    # numbers and flags
    "amount": ("amount", "value", "ordervalue", "orderamount", "totalamount", "total", "price", "revenue"),
    "price": ("price", "saleprice", "listprice", "mrp", "amount", "value"),
    "quantity": ("qty", "units", "unitcount", "itemcount", "count"),
    "orders": ("numberoforders", "orders", "ordercount", "totalorders", "count"),
    "order_value": ("orderamount", "value", "amount", "revenue", "sales", "totalvalue"),
    "score": ("score", "y", "affinity", "weight", "count"),
    "opened": ("opened", "isopened", "open", "opens", "openstatus"),
    "clicked": ("clicked", "isclicked", "click", "clicks", "clickstatus"),
    "opted_in": ("optedin", "optin", "isoptedin", "consent", "consented", "subscribed", "status", "enabled"),
    "in_segment": ("insegment", "iscustomerinsegment", "ismember", "member", "result", "exists"),
    "value": ("value", "val", "attributevalue"),
    "data_type": ("datatype", "type", "valuetype"),
    # profile card (basic)
    "customer_id": ("custid", "customerno", "id"),
    "gcr_id": ("gcrid", "gcr", "goldenrecordid", "goldencustomerid", "goldenid"),
    "salutation": ("prefix", "nametitle"),
    "full_name": ("name", "customername", "displayname"),
    "gender": ("sex",),
    "age": (),
    "birth_date": ("dateofbirth", "birthdate", "birthday"),
    "membership_tier": ("membershiptier", "tier", "loyaltytier", "membership", "loyaltylevel"),
    "status_color": ("statuscolour", "color", "colour"),
    "city": ("town",),
    "state": ("province", "region"),
    "address": ("address", "homeaddress", "streetaddress", "fulladdress"),
    "email": ("emailaddress", "email", "emailid", "mail"),
    "mobile": ("mobilenumber", "mobile", "mobileno", "phone", "phonenumber", "cellphone"),
    "customer_code": ("customercodeexternal", "customercode", "externalcustomercode", "externalid"),
    "image_url": ("profileimage", "imageurl", "avatar", "avatarurl", "photourl"),
    "total_sales": ("totalspend", "lifetimevalue", "ltv", "totalrevenue"),
    "total_orders": ("ordercount", "numberoforders", "orders"),
    "average_basket": ("avgbasketvalue", "averagebasketvalue", "averageordervalue", "aov"),
    "total_visits": ("visits", "visitcount"),
    "days_since_last_purchase": ("dayssincelastpur", "dayssincelastpurchase",
                                 "dayssincelastorder", "recency"),
    "total_web_sessions": ("websessions", "sessions"),
    # list and paging keys
    "customer": ("customerid", "custid", "customerno"),
    "total": ("totalcount", "total", "totalrecords", "totalelements", "totalitems", "count"),
    "current_page": ("currentpage", "page", "pagenumber", "pageno", "pageindex"),
    "page_size": ("size", "limit", "perpage"),
    "total_pages": ("totalpages", "pagecount", "pages", "numberofpages"),
    "last_key": ("nextkey", "lastevaluatedkey", "nextpagekey", "nextcursor", "cursor"),
}
_SEPARATORS = re.compile(r"[\s_\-.]+")
_LIST_KEYS = ("datalist", "items", "list", "results", "records", "rows", "content", "data", "values", "entries")


@lru_cache(maxsize=4096)
def _norm(key: str) -> str:
    return _SEPARATORS.sub("", key).lower()


def norm(key: object) -> str:
    """`SEGMENT_NAME`, `segment-name`, `segmentName` -> `segmentname`."""
    return _norm(str(key))


@lru_cache(maxsize=1024)
def _candidates(meaning: str, prefixes: tuple[str, ...], bare: bool) -> tuple[str, ...]:
    spellings = SYNONYMS.get(meaning, ())  # a meaning without an entry is read by its declared spelling only
    return tuple(p + s for p in prefixes for s in spellings) + (spellings if bare else ())


@lru_cache(maxsize=256)
def _declared(model: type[BaseModel] | None) -> dict[str, str]:
    """Meaning -> the normalised declared spelling, for an object declared by `model`."""
    return {meaning: norm(name) for meaning, name in meanings(model).items()} if model is not None else {}


class _Layout:
    """What the objects with one sequence of keys share (the objects of one response do): each key kept, with its
    normalised spelling (the first spelling wins when two normalise alike), normalised -> upstream name, and, per
    meaning looked up, which of its candidate spellings such an object has (so a lookup tries only those)."""

    __slots__ = ("kept", "names", "present")

    def __init__(self, keys: tuple[object, ...]) -> None:
        first: dict[str, object] = {}
        for key in keys:
            first.setdefault(norm(key), key)
        self.kept = tuple((key, normal) for normal, key in first.items())
        self.names = {normal: str(key) for normal, key in first.items()}
        self.present: dict[tuple[str, tuple[str, ...], bool], tuple[str, ...]] = {}

    def candidates(self, meaning: str, prefixes: tuple[str, ...], bare: bool) -> tuple[str, ...]:
        """`_candidates` that objects of this layout have, in the same order."""
        asked = (meaning, prefixes, bare)
        found = self.present.get(asked)
        if found is None:
            found = self.present[asked] = tuple(k for k in _candidates(meaning, prefixes, bare) if k in self.names)
        return found


_layout = lru_cache(maxsize=1024)(_Layout)


class Item:
    """One upstream object, read by meaning. Remembers which keys were used (for `Profile.extra`).

    `declared` is the object's declaration (`cdp_mcp.wire`): its spelling of a meaning is tried first.
    """

    __slots__ = ("_declared", "_layout", "_prefixes", "_values", "used")

    def __init__(self, raw: Mapping[str, object], prefixes: tuple[str, ...] = (), *,
                 declared: type[BaseModel] | None = None) -> None:
        self._layout = layout = _layout(tuple(raw))
        self._values: dict[str, object] = {normal: raw[key] for key, normal in layout.kept}  # type: ignore[index]
        self._prefixes = prefixes
        self._declared = _declared(declared)
        self.used: set[str] = set()

    def get(self, meaning: str, *, prefixes: tuple[str, ...] | None = None, bare: bool = True) -> object:
        """The declared field of `meaning`; when it is missing, the first non-placeholder value among its other
        spellings (prefixed ones first). Never a placeholder: None instead."""
        values = self._values
        documented = self._declared.get(meaning)
        if documented is not None and not is_placeholder(value := values.get(documented)):
            self.used.add(documented)
            return value
        for key in self._layout.candidates(meaning, self._prefixes if prefixes is None else prefixes, bare):
            if not is_placeholder(value := values[key]):
                self.used.add(key)
                return value
        return None

    def text(self, meaning: str, *, prefixes: tuple[str, ...] | None = None, bare: bool = True) -> str | None:
        return scalar_text(self.get(meaning, prefixes=prefixes, bare=bare))  # `get` already left placeholders out

    def integer(self, meaning: str, *, prefixes: tuple[str, ...] | None = None, bare: bool = True) -> int | None:
        return as_int(self.get(meaning, prefixes=prefixes, bare=bare))

    def number(self, meaning: str, *, prefixes: tuple[str, ...] | None = None, bare: bool = True) -> float | None:
        return as_float(self.get(meaning, prefixes=prefixes, bare=bare))

    def day(self, meaning: str, *, prefixes: tuple[str, ...] | None = None, bare: bool = True) -> date | None:
        return as_date(self.get(meaning, prefixes=prefixes, bare=bare))

    def flag(self, meaning: str, *, prefixes: tuple[str, ...] | None = None, bare: bool = True) -> bool | None:
        return as_bool(self.get(meaning, prefixes=prefixes, bare=bare))

    def money(self, meaning: str, currency: str | None = None, *, prefixes: tuple[str, ...] | None = None,
              bare: bool = True) -> Money | None:
        return as_money(self.get(meaning, prefixes=prefixes, bare=bare), currency)

    def sublist(self, *keys: str, any_list: bool = True) -> list[object] | None:
        """The declared item list, else the first list under one of `keys` or the usual list keys (normalised), else
        the only list value."""
        documented = self._declared.get(ITEMS)
        for key in (*((documented,) if documented else ()), *keys, *_LIST_KEYS):
            if isinstance(found := self._values.get(key), list):
                self.used.add(key)
                return found
        lists = [(k, v) for k, v in self._values.items() if isinstance(v, list)] if any_list else []
        if len(lists) == 1:
            self.used.add(lists[0][0])
            return lists[0][1]
        return None

    def unused(self) -> Iterable[tuple[str, object]]:
        """(upstream name, value) of the keys no meaning claimed."""
        return ((self._layout.names[k], v) for k, v in self._values.items() if k not in self.used)


def find_items(data: object, *keys: str, declared: type[BaseModel] | None = None) -> list[dict[str, object]] | None:
    """The list of item objects in `data`: under the declared list, one of `keys` or the usual list keys, or `data`
    itself (`declared` is the declaration of `data`).

    Scalar items (a list of names) become `{"name": value}`. None when no list can be found, except that
    an empty object or one stating a total of 0 means an empty list.
    """
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        item = Item(data, declared=declared)
        found = item.sublist(*keys)
        if found is None:
            listed = _declared(declared).get(ITEMS)
            names = (*((listed,) if listed else ()), *keys, *_LIST_KEYS)
            named_empty = any(norm(k) in names and v is None for k, v in data.items())
            values = {k: v for k, v in data.items() if not is_placeholder(v)}
            return [] if named_empty or item.integer("total") == 0 or not values else None
        items = found
    else:
        return None
    result: list[dict[str, object]] = []
    for element in items:
        if isinstance(element, dict):
            result.append(element)
        elif not is_placeholder(element) and isinstance(element, str | int | float):
            result.append({"name": element})
    return result
