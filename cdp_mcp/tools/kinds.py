"""How a resource is offered as a tool: the kinds of per-resource tool, and how each kind is served.

A resource module of `tools/resources/` declares its tool as one of these, naming the resource's `Reader`, so
mypy checks that the shaping it declares takes the model the client returns: a `ListTool` (rows shaped one by
one, capped by `limit`, with a cursor when the resource pages) or a `SingleTool` (one result shaped whole,
with the resource's query parameter as an argument when it takes one). A resource whose tool fits neither
declares its own subclass of `ResourceTool` beside it (the gcr lookup's `ResolveTool`). Each kind gives its
arguments and its handler: validate the identifiers, turn `limit`/`cursor` into the resource's paging, fetch
(the client asks the broker for a token scoped to exactly that resource), shape, and name the gcr_id.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel

from cdp_mcp.catalog import Paging, Resource, Scope
from cdp_mcp.client.models import Listed, PageRequest
from cdp_mcp.client.reading import Reader
from cdp_mcp.errors import InvalidInputError
from cdp_mcp.tools import outputs
from cdp_mcp.tools.cursors import Cursor, decode_cursor, encode_cursor, upstream_refusal
from cdp_mcp.tools.params import CURSOR, IDENTITY_PARAMS, LIMIT, MAX_LIMIT, text_param
from cdp_mcp.tools.spec import Handler, Param, ToolCall, ToolSpec
from cdp_mcp.tools.upstream import fetch, fetch_with_gcr_id, gcr_id_for

__all__ = ["LEFT_OUT_OF_EVERY_RESULT", "Argument", "LeftOut", "ListTool", "ResourceTool",
           "SingleTool"]

Model = TypeVar("Model")
Row = TypeVar("Row")

_PAGED_UPSTREAM = (Paging.PAGE, Paging.LAST_KEY, Paging.POINTER)
_SIZED_UPSTREAM = (Paging.PAGE_SIZE, Paging.POINTER)  # without a page to follow, ask for the first N items


@dataclass(frozen=True, slots=True)
class Argument:
    """The tool argument that carries the catalog's query parameter (a search text or a segment id)."""

    name: str
    description: str


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Fields of the resource's answer that the tool's result leaves out on purpose, and why (docs/tools.md, "Left
    out on purpose" table, which a test holds to what the API really sends)."""

    fields: tuple[str, ...]
    why: str


LEFT_OUT_OF_EVERY_RESULT = LeftOut(
    ("status", "message", "customerId", "currentPage", "pageSize", "totalPages", "lastKey"),
    "the envelope and the API's paging: results name the `gcr_id` and page with `total`, `remaining`, "
    "`next_cursor` (`basic` keeps a differing `customerId` as `customer_id`)")
"""What no result carries, whatever the resource (the first row of docs/tools.md's "Left out on purpose")."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceTool:
    """How one resource is offered as a tool: the resource's reader; the tool's name, title and description (as
    `tools/list` shows them); what it answers (`summary`, the docs' tools tables); the fields it leaves out;
    and the resources it reads when granted: the gcr lookup that names the customer
    (`upstream.fetch_beside_gcr_id`)."""

    reader: Reader[object]
    tool: str
    title: str
    description: str
    summary: str
    left_out: LeftOut | None = None
    output: type[outputs.Result]
    optional_resources: ClassVar[tuple[str, ...]] = (Scope.GCR_ID,)
    optional_note: ClassVar[str] = ""  # how the tool uses optional resources besides the gcr lookup (docs)

    def params(self) -> tuple[Param, ...]:
        """The tool's arguments, after the four identifiers every customer tool takes."""
        return IDENTITY_PARAMS

    def handler(self) -> Handler:
        raise NotImplementedError(f"{type(self).__name__} serves no calls")

    def spec(self) -> ToolSpec:
        """The tool, as the registry serves it."""
        return ToolSpec(name=self.tool, title=self.title, description=self.description,
                        resources=(self.reader.scope,), params=self.params(), output=self.output,
                        handler=self.handler(), summary=self.summary, optional_resources=self.optional_resources,
                        optional_note=self.optional_note)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListTool(ResourceTool, Generic[Row]):
    """A list: each row shaped by `item`, capped by `limit`; `pages` offers a cursor for the rows after it."""

    reader: Reader[Listed[Row]]
    output: type[outputs.Listing]
    item: Callable[[Row], BaseModel]
    pages: bool
    argument: Argument | None = None
    extra: Callable[[Listed[Row]], dict[str, object]] | None = None  # result fields besides the rows, from the list
    group: Callable[[Row], Hashable] | None = None
    """The group a row belongs to (a purchase line's order), when the result groups them: `limit`, `total` and
    `remaining` then count groups, and a page never splits one (`_whole_groups`)."""

    def params(self) -> tuple[Param, ...]:
        search = [text_param(self.argument.name, self.argument.description)] if self.argument else []
        return (*IDENTITY_PARAMS, *search, LIMIT, *([CURSOR] if self.pages else []))

    def handler(self) -> Handler:
        return _list_handler(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class SingleTool(ResourceTool, Generic[Model]):
    """One result shaped whole by `shape(data, gcr_id, limit)`; `argument` carries the resource's query parameter
    (a yes/no for the segment it names, say); `limited` offers `limit` (labels per chart, say)."""

    reader: Reader[Model]
    shape: Callable[[Model, int | None, int], outputs.Result]
    argument: Argument | None = None
    limited: bool = False

    def params(self) -> tuple[Param, ...]:
        asked = [text_param(self.argument.name, self.argument.description)] if self.argument else []
        return (*IDENTITY_PARAMS, *asked, *([LIMIT] if self.limited else []))

    def handler(self) -> Handler:
        entry = self

        async def handle(call: ToolCall) -> outputs.Result:
            query = call.arguments[entry.argument.name] if entry.argument else None
            data, gcr_id = await fetch_with_gcr_id(call.backend, entry.reader, call.identity, query=query)
            return entry.shape(data, gcr_id, call.arguments.get("limit", MAX_LIMIT))

        return handle


def _first_page(res: Resource, limit: int) -> PageRequest | None:
    if res.paging is Paging.PAGE:
        return PageRequest(page=1, page_size=limit)
    if res.paging in (Paging.LAST_KEY, Paging.POINTER):
        return PageRequest(page_size=limit)
    return None


async def _page_for(call: ToolCall, reader: Reader[Model], cursor: Cursor | None, query: str | None,
                    page: PageRequest | None) -> tuple[Model, int | None]:
    """One page of the list and the customer's gcr_id. With a cursor, the gcr_id comes first (usually known by
    then: the page before named it) so that a cursor of another customer's list is refused before the page is
    asked for; a refusal of the page by the API, for a customer that could not be checked, names `cursor`."""
    if cursor is None:
        return await fetch_with_gcr_id(call.backend, reader, call.identity, query=query, page=page)
    gcr_id = await gcr_id_for(call.backend, call.identity)
    cursor.check_customer(gcr_id)
    try:
        return await fetch(call.backend, reader, call.identity, query=query, page=page), gcr_id
    except InvalidInputError as exc:
        raise upstream_refusal(exc) from exc


_MAX_READS = 5
"""Upstream pages one call of a grouped list reads at most (pages of MAX_LIMIT items; a group has a few)."""


@dataclass(slots=True)
class _Groups(Generic[Row]):
    """Whole groups of consecutive rows with one key (a purchase's order lines) as `_whole_groups` reads them: the
    page's groups, where each begins, and how many begin after the page (so far)."""

    tool: str
    query: str | None
    before: int  # groups shown on earlier pages
    limit: int
    key: Callable[[Row], Hashable]
    gcr_id: int | None = None
    groups: list[list[Row]] = field(default_factory=list)
    starts: list[Cursor] = field(default_factory=list)
    after: int = 0
    _last: Hashable = field(default_factory=object)

    def take(self, items: Sequence[Row], request: PageRequest | None, skip: int) -> None:
        """The rows of one upstream page (`request`), from row `skip` on."""
        for index, item in enumerate(items[skip:], start=skip):
            key = self.key(item)
            if key == self._last:
                if not self.after:
                    self.groups[-1].append(item)
                continue
            self._last = key
            if len(self.groups) == self.limit:
                self.after += 1
            else:
                self.groups.append([item])
            if len(self.starts) <= self.limit:
                self.starts.append(self._at(request, index))

    def stop_before_the_last(self, following: PageRequest | None) -> None:
        """Reads ran out before the list or the page ended: the last group may go on, so it waits for the next page
        (unless it is alone: then the next page goes on from `following`)."""
        if len(self.groups) > 1:
            self.groups.pop()
        else:
            self.starts.append(self._at(following, 0))
        self.after = 1

    def _at(self, request: PageRequest | None, index: int) -> Cursor:
        return Cursor(self.tool, self.before + len(self.starts), request, self.query, self.gcr_id, skip=index)

    def following(self) -> Cursor | None:
        return self.starts[len(self.groups)] if self.after else None


async def _whole_groups(call: ToolCall, entry: ListTool[Row], cursor: Cursor | None, query: str | None, limit: int,
                        key: Callable[[Row], Hashable]) -> tuple[Listed[Row], _Groups[Row], int | None]:
    """Up to `limit` whole groups (`_Groups`) from where `cursor` starts: upstream pages of MAX_LIMIT rows are read
    until the group after the page begins (so the page's last group is whole) or the list ends. Returns the last
    data read, the groups, and their total when the list was read to its end here (else None: unknown)."""
    res = entry.reader.resource
    request = cursor.page if cursor and cursor.page else _first_page(res, MAX_LIMIT)
    skip = cursor.skip if cursor else 0
    read = _Groups(entry.tool, query, cursor.offset if cursor else 0, limit, key)
    data, read.gcr_id = await _page_for(call, entry.reader, cursor, query, request)
    for reads in range(_MAX_READS):
        if reads:
            data = await fetch(call.backend, entry.reader, call.identity, query=query, page=request)
        read.take(data.items, request, skip)
        if data.page.next is None:
            return data, read, read.before + len(read.groups) + read.after
        if read.after:
            return data, read, None  # the page is whole; its total would need more reads
        request, skip = data.page.next, 0
    read.stop_before_the_last(data.page.next)
    return data, read, None


def _list_handler(entry: ListTool[Row]) -> Handler:
    """Items capped by `limit`. Resources that page upstream are followed page by page (the cursor carries the
    next page request); the others are cut here (the cursor carries the offset). A pointer-paged resource whose
    answer gives no pointer although more items exist is cut here from then on. Each cursor names the customer
    whose list it pages. A grouped list (`ListTool.group`) shows whole groups."""
    res = entry.reader.resource
    paged_upstream = entry.pages and res.paging in _PAGED_UPSTREAM

    async def handle(call: ToolCall) -> outputs.Result:
        query = call.arguments.get(entry.argument.name) if entry.argument else None
        limit: int = call.arguments["limit"]
        token = call.arguments.get("cursor")
        cursor = decode_cursor(token, call.backend.cursor_key, tool=entry.tool, query=query) if token else None
        offset = cursor.offset if cursor else 0
        shown: int | None = None  # counted in groups, for a grouped list; else its items
        if entry.group is not None:
            data, read, total = await _whole_groups(call, entry, cursor, query, limit, entry.group)
            gcr_id, following, shown = read.gcr_id, read.following(), len(read.groups)
            items = [item for lines in read.groups for item in lines]
        elif paged_upstream and (cursor is None or cursor.page is not None):
            page = cursor.page if cursor else _first_page(res, limit)
            data, gcr_id = await _page_for(call, entry.reader, cursor, query, page)
            items = list(data.items[:limit] if cursor is None else data.items)
            total = data.page.total
            nxt, end = data.page.next, offset + len(items)
            following = Cursor(entry.tool, end, nxt, query, gcr_id) if nxt is not None and items else None
            if following is None and res.paging is Paging.POINTER and total is not None \
                    and end < min(total, MAX_LIMIT):
                following = Cursor(entry.tool, end, None, query, gcr_id)  # no pointer given: cut here
        else:
            sized = res.paging in _SIZED_UPSTREAM
            page = PageRequest(page_size=min(offset + limit, MAX_LIMIT)) if sized else None
            data, gcr_id = await _page_for(call, entry.reader, cursor, query, page)
            every = data.items
            items = list(every[offset:offset + limit])
            total = data.page.total
            total = len(every) if total is None else total
            reachable = min(total, MAX_LIMIT) if sized else len(every)
            more = entry.pages and offset + len(items) < reachable
            following = Cursor(entry.tool, offset + len(items), None, query, gcr_id) if more else None
        # A repeated item appears once; items with their own upstream id (two email opens on one day) stay distinct.
        pairs = outputs.unique([(getattr(i, "id", None), entry.item(i)) for i in items],
                               key=lambda pair: pair[0] if pair[0] is not None else pair[1].model_dump_json())
        shaped = [item for _, item in pairs]
        remaining = total - offset - (len(items) if shown is None else shown) if total is not None else None
        extra = entry.extra(data) if entry.extra else {}
        output: Callable[..., outputs.Result] = entry.output  # the entry's own Listing subclass: fields vary per tool
        return output(gcr_id=gcr_id, total=total, remaining=remaining if remaining and remaining > 0 else None,
                      next_cursor=encode_cursor(following, call.backend.cursor_key) if following else None,
                      items=shaped, **extra)

    return handle
