"""The MCP Apps views in a real browser, fed real results from the sandbox: the customer card (get_customer_overview)
and the screening table (screen_customers). One module, so the session starts chromium once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cases import CARD_LABELS, SCREENED
from host import HOST_VARIABLES, HostedView, open_view, rgb, watch

from cdp_mcp.sandbox.options import SAMPLE_SPECS
from cdp_mcp.views import CARD_URI, SCREENING_URI, document, standalone

pytestmark = pytest.mark.anyio

CHANNELS = {"email": "Email", "sms": "SMS", "push": "Push", "whatsapp": "WhatsApp"}
DASH = "\N{EN DASH}"  # between the first and last row of a page
HOST_LIGHT, HOST_DARK = (0xFB, 0xFA, 0xF7), (0x1F, 0x1E, 0x1C)  # HOST_VARIABLES' background, each half


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def days_ago(days: int | None) -> str:
    """The recency of a last purchase as both views word it."""
    if days is None:
        return "no purchase yet"
    return "today" if days == 0 else "yesterday" if days == 1 else f"{days:,} days ago"


async def card(browser: Any, call: dict[str, Any], **options: Any) -> HostedView:
    hosted = await open_view(browser, document(CARD_URI), call, **options)
    await hosted.frame.locator("main[aria-busy=false] footer").wait_for()
    return hosted


async def table(browser: Any, call: dict[str, Any], **options: Any) -> HostedView:
    hosted = await open_view(browser, document(SCREENING_URI), call, **options)
    await hosted.frame.locator("main[aria-busy=false] table").wait_for()
    return hosted


async def row_order(hosted: HostedView) -> list[int]:
    return [int(i) for i in await hosted.frame.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.index)")]


@pytest.mark.parametrize("label", CARD_LABELS)
async def test_the_card_shows_the_customer(browser: Any, tool_results: dict[str, Any], screenshots: Path,
                                           label: str) -> None:
    call = tool_results[f"card_{label}"]
    data = call["result"]["structuredContent"]
    hosted = await card(browser, call)
    view = hosted.frame
    assert await view.locator("h1#name").inner_text() == data["who"]["name"]
    sub = await view.locator(".who .sub").inner_text()
    assert data["who"]["tier"] in sub and data["who"]["city"] in sub and f"gcr_id {data['gcr_id']}" in sub
    value = data["value"]
    assert await view.locator("[data-kpi=total_sales] dd").inner_text() == usd(value["total_sales"])
    assert await view.locator("[data-kpi=orders] dd").inner_text() == f"{value['orders']:,}"
    if "average_basket" in value:
        assert await view.locator("[data-kpi=average_basket] dd").inner_text() == usd(value["average_basket"])
    last_purchase = await view.locator("[data-kpi=last_purchase] dd").inner_text()
    assert last_purchase == days_ago(value.get("days_since_last_purchase"))
    months = list(value["trend"])
    bars, points = view.locator(".chart rect.bar"), view.locator(".chart circle.point")
    assert await bars.count() == len(months) == await points.count()
    assert await bars.evaluate_all("bs => bs.map(b => b.dataset.month)") == months
    description = await view.locator(".chart svg desc").text_content()
    to_date = value["month_to_date"]  # the sandbox's clock stands in the trend's last month
    assert to_date == months[-1] and description and "(to date)" in description.split(";")[-1]
    assert "to-date" in (await bars.nth(len(months) - 1).get_attribute("class") or "")
    header = await view.locator(f".data-table tr[data-month='{to_date}'] th").text_content()
    assert header and header.endswith("(to date)")
    for month, figures in value["trend"].items():
        assert usd(figures["sales"]) in description  # the chart's text alternative has every figure
        cell = view.locator(f".data-table tr[data-month='{month}'] td").first
        assert await cell.text_content() == usd(figures["sales"])
    for channel, opted_in in data["consent"].items():
        row = view.locator(f"[data-channel={channel}]")
        assert await row.get_attribute("data-consent") == ("yes" if opted_in else "no")
        assert ("not opted in" not in await row.inner_text()) == opted_in
    contactable = [CHANNELS[c] for c, yes in data["consent"].items() if yes]
    expected = f"Contactable on {', '.join(contactable)}" if contactable else "Not contactable on any channel"
    assert await view.locator(".contactable").inner_text() == expected
    assert await view.locator("[data-segment]").count() == len(data["segments"]["top"])
    for title, scores in data["affinities"].items():
        assert await view.locator(f"[data-chart='{title}'] li").count() == len(scores)
    for code, product in data["recommendations"].items():
        assert await view.locator(f"[data-product='{code}'] .price").inner_text() == usd(product["price"])
        assert product["name"] in await view.locator(f"[data-product='{code}']").inner_text()
    hosted.assert_clean()
    await hosted.screenshot(screenshots / f"card-{label}-light.png")
    await hosted.page.close()


async def test_a_partial_failure_says_so_in_place(browser: Any, tool_results: dict[str, Any],
                                                  screenshots: Path) -> None:
    call = tool_results["card_partial"]
    unavailable = call["result"]["structuredContent"]["unavailable"]
    assert {"affinities", "value.trend"} <= set(unavailable)
    hosted = await card(browser, call)
    view = hosted.frame
    for key in ("affinities", "value.trend"):
        text = await view.locator(f"[data-unavailable='{key}']").inner_text()
        assert text.startswith("Unavailable: ") and unavailable[key] in text
    assert await view.locator("[data-section=affinities] [data-unavailable]").count() == 1  # in its own section
    assert await view.locator("[data-section=value] [data-unavailable='value.trend']").count() == 1
    assert await view.locator(".chart").count() == 0 and await view.locator("[data-kpi=total_sales]").count() == 1
    assert await view.locator("[data-section=recommendations] [data-product]").count() > 0
    hosted.assert_clean()
    await hosted.screenshot(screenshots / "card-partial.png")
    await hosted.page.close()


async def test_an_error_result_is_shown_as_its_message(browser: Any, tool_results: dict[str, Any]) -> None:
    call = tool_results["ambiguous"]
    assert call["result"]["isError"]
    hosted = await open_view(browser, document(CARD_URI), call)
    message = hosted.frame.locator("#status.problem")
    await message.wait_for()
    assert await message.inner_text() == call["result"]["content"][0]["text"]
    hosted.assert_clean()
    await hosted.page.close()


async def test_the_card_follows_the_host_theme_and_speaks_the_protocol(browser: Any, tool_results: dict[str, Any],
                                                                       screenshots: Path) -> None:
    hosted = await card(browser, tool_results["card_vip"], variables=HOST_VARIABLES)
    assert await hosted.background() == HOST_LIGHT  # the host's style variable, light half
    await hosted.screenshot(screenshots / "card-vip-host-light.png")
    await hosted.set_theme("dark")
    assert await hosted.background() == HOST_DARK
    await hosted.screenshot(screenshots / "card-vip-host-dark.png")
    messages = await hosted.messages()
    init = messages[0]
    assert init["method"] == "ui/initialize" and init["params"]["protocolVersion"] == "2026-01-26"
    assert init["params"]["appInfo"]["name"] and "appCapabilities" in init["params"]
    assert messages[1]["method"] == "ui/notifications/initialized"  # nothing else before the handshake ends
    sizes = [m["params"] for m in messages if m.get("method") == "ui/notifications/size-changed"]
    assert sizes and sizes[-1]["height"] > 300 and all(s["width"] > 0 for s in sizes)
    box = await hosted.page.locator("#view").bounding_box()
    assert box and box["height"] == sizes[-1]["height"]  # the host sized the frame to the view
    await hosted.page.evaluate("window.ping()")
    await hosted.page.wait_for_function("window.viewMessages.some(m => m.id === 99 && m.result)")
    hosted.assert_clean()
    await hosted.page.close()


async def test_the_card_has_a_dark_default_and_fits_narrow_and_wide_panes(browser: Any, tool_results: dict[str, Any],
                                                                          screenshots: Path) -> None:
    narrow = await card(browser, tool_results["card_vip"], theme="dark", width=360)
    assert max(await narrow.background()) < 60  # the view's own dark palette, no host variables
    assert await narrow.frame.locator("html").evaluate("e => e.scrollWidth - e.clientWidth") <= 0
    consent, segments = [await narrow.frame.locator(f"[data-section={s}]").bounding_box()
                         for s in ("consent", "segments")]
    assert consent and segments and segments["y"] > consent["y"]  # one column
    await narrow.screenshot(screenshots / "card-vip-dark-narrow.png")
    narrow.assert_clean()
    await narrow.page.close()
    wide = await card(browser, tool_results["card_vip"], width=1000)
    consent, segments = [await wide.frame.locator(f"[data-section={s}]").bounding_box()
                         for s in ("consent", "segments")]
    assert consent and segments and segments["y"] == consent["y"] and segments["x"] > consent["x"]  # two columns
    wide.assert_clean()
    await wide.page.close()


async def test_the_chart_data_is_reachable_by_keyboard(browser: Any, tool_results: dict[str, Any]) -> None:
    hosted = await card(browser, tool_results["card_vip"])
    view = hosted.frame
    svg = view.locator(".chart svg")
    assert await svg.get_attribute("role") == "img"
    assert await svg.get_attribute("aria-labelledby") == "trend-title trend-desc"
    data_table = view.locator(".data-table")
    assert not await data_table.is_visible()
    await view.locator("details summary").focus()
    await hosted.page.keyboard.press("Enter")
    assert await data_table.is_visible()
    hosted.assert_clean()
    await hosted.page.close()


async def test_the_standalone_card_renders_without_a_host(browser: Any, tool_results: dict[str, Any],
                                                          screenshots: Path) -> None:
    """What `cdp-mcp card` writes: no host, no network; the system's dark mode followed."""
    call = tool_results["card_vip"]
    data = call["result"]["structuredContent"]
    page = await browser.new_page(viewport={"width": 900, "height": 2400}, color_scheme="dark")
    errors, requests = watch(page)
    await page.set_content(standalone(CARD_URI, data, call["arguments"], generated="2026-01-26T12:00:00+00:00"))
    await page.locator("main[aria-busy=false] footer").wait_for()
    assert await page.locator("h1#name").inner_text() == data["who"]["name"]
    assert "generated 2026-01-26T12:00:00+00:00" in await page.locator("footer").inner_text()
    assert await page.locator(".chart rect.bar").count() == len(data["value"]["trend"])
    assert max(rgb(await page.locator("body").evaluate("b => getComputedStyle(b).backgroundColor"))) < 60
    assert errors == [] and requests == []
    await page.screenshot(path=str(screenshots / "card-standalone-dark.png"), full_page=True)
    await page.close()


async def test_one_row_per_screened_customer_with_marks_recency_and_errors(
    browser: Any, tool_results: dict[str, Any], screenshots: Path,
) -> None:
    call = tool_results["screening"]
    data = call["result"]["structuredContent"]
    rows = data["rows"]
    assert len(rows) == SCREENED and any("error" in r for r in rows)
    recencies = {r.get("days_since_last_purchase") for r in rows if "error" not in r}
    assert {None, 0, 1} <= recencies and max(d for d in recencies if d is not None) > 1  # every wording
    hosted = await table(browser, call)
    view = hosted.frame
    assert await view.locator("tbody tr").count() == SCREENED
    subtitle = await view.locator("header .sub").inner_text()  # the segment by its name, not its id
    assert data["segment_name"] and subtitle == f"“{data['segment_name']}” on {data['channel']}", subtitle
    for key, count in data["summary"].items():
        assert await view.locator(f"[data-count='{key.replace('_', '-')}'] strong").inner_text() == str(count)
    for row in rows:
        tr = view.locator(f"tbody tr[data-index='{row['index']}']")
        texts = await tr.locator("td").all_inner_texts()
        if "error" in row:
            assert row["error"] in texts[-1] and "failed" in (await tr.get_attribute("class") or "")
            assert not await tr.locator(".row-error").is_visible()  # said once, in its column
            continue
        assert texts[2].endswith("yes" if row["in_segment"] else "no")
        assert texts[3].endswith("yes" if row["contactable"] else "no")
        assert texts[4] == days_ago(row.get("days_since_last_purchase"))
        assert row["name"] in texts[1]
        eligible = row["in_segment"] and row["contactable"]
        assert await tr.get_attribute("data-eligible") == ("yes" if eligible else "no")
    hosted.assert_clean()
    await hosted.screenshot(screenshots / "table-light.png")
    await hosted.page.close()


async def test_table_columns_sort_by_keyboard_and_click(browser: Any, tool_results: dict[str, Any]) -> None:
    rows = tool_results["screening"]["result"]["structuredContent"]["rows"]
    hosted = await table(browser, tool_results["screening"])
    view = hosted.frame
    assert await row_order(hosted) == list(range(SCREENED))
    recency = view.locator("th:has(button[data-sort=recency])")
    await view.locator("button[data-sort=recency]").focus()
    await hosted.page.keyboard.press("Enter")
    known = sorted((r["days_since_last_purchase"], r["index"]) for r in rows if "days_since_last_purchase" in r)
    assert (await row_order(hosted))[:len(known)] == [i for _, i in known]  # no recency last
    assert await recency.get_attribute("aria-sort") == "ascending"
    await hosted.page.keyboard.press("Space")  # the focus stayed on the header: the same key sorts the other way
    assert await recency.get_attribute("aria-sort") == "descending"
    newest_last = sorted(known, key=lambda k: (-k[0], k[1]))  # ties keep the request order
    assert (await row_order(hosted))[SCREENED - len(known):] == [i for _, i in newest_last]
    await view.locator("button[data-sort=in_segment]").click()
    marks = await view.locator("tbody td[data-col=in_segment]").all_inner_texts()
    first_no = next((i for i, m in enumerate(marks) if m.endswith("no")), len(marks))
    assert marks[:first_no] and all(m.endswith("yes") for m in marks[:first_no])
    await view.locator("#only-eligible").check()
    eligible = [r["index"] for r in rows if r.get("in_segment") and r.get("contactable")]
    assert sorted(await row_order(hosted)) == eligible
    assert await view.locator("#shown").inner_text() == f"{len(eligible)} shown"
    hosted.assert_clean()
    await hosted.page.close()


async def test_redacted_identifiers_show_as_redacted_in_both_themes(browser: Any, tool_results: dict[str, Any],
                                                                    screenshots: Path) -> None:
    call = tool_results["screening_redacted"]
    assert call["result"]["structuredContent"]["rows"][0]["customer"] == {"email": "[redacted]"}
    hosted = await table(browser, call, variables=HOST_VARIABLES)
    assert await hosted.frame.locator("tbody tr[data-index='0'] .redacted").inner_text() == "redacted"
    assert "[redacted]" not in await hosted.frame.locator("tbody").inner_text()
    assert await hosted.background() == HOST_LIGHT
    await hosted.set_theme("dark")
    assert await hosted.background() == HOST_DARK
    await hosted.screenshot(screenshots / "table-redacted-dark.png")
    hosted.assert_clean()
    await hosted.page.close()


async def test_the_table_fits_a_narrow_pane(browser: Any, tool_results: dict[str, Any], screenshots: Path) -> None:
    rows = tool_results["screening"]["result"]["structuredContent"]["rows"]
    hosted = await table(browser, tool_results["screening"], width=360, theme="dark")
    view = hosted.frame
    assert await view.locator("html").evaluate("e => e.scrollWidth - e.clientWidth") <= 0  # the page does not scroll
    scroller = view.locator(".scroller")
    assert await scroller.evaluate("e => e.scrollWidth <= e.clientWidth")  # nor does the table: every mark shows
    assert await view.locator("th:has(button[data-sort=contactable])").is_visible()
    assert not await view.locator("th.col-error").is_visible()  # errors move under the customer
    failed = [r for r in rows if "error" in r]
    for row in failed:
        assert await view.locator(f"tr[data-index='{row['index']}'] .row-error").inner_text() == row["error"]
    assert await scroller.get_attribute("tabindex") == "0" and await scroller.get_attribute("role") == "region"
    await hosted.screenshot(screenshots / "table-dark-narrow.png")
    hosted.assert_clean()
    await hosted.page.close()


async def test_a_small_audience_screening_shows_every_row_with_its_outcome(
    browser: Any, tool_results: dict[str, Any], screenshots: Path,
) -> None:
    call = tool_results["audience_small"]
    data = call["result"]["structuredContent"]
    hosted = await table(browser, call)
    view = hosted.frame
    assert await view.locator("tbody tr").count() == len(data["rows"])
    for key, count in data["summary"].items():
        assert await view.locator(f"[data-count='{key.replace('_', '-')}'] strong").inner_text() == str(count)
    for row in data["rows"][:5]:
        cell = view.locator(f"tbody tr[data-line='{row['line']}'] td[data-col=outcome]")
        assert await cell.inner_text() == row["outcome"].replace("_", " ")
    assert await view.locator("#next").count() == 0  # whole: nothing to page
    hosted.assert_clean()
    await hosted.screenshot(screenshots / "audience-small.png")
    await hosted.page.close()


async def test_a_running_screening_shows_progress_then_pages_its_rows(browser: Any, live: Any,
                                                                     screenshots: Path) -> None:
    arguments = {"customers": [{"gcr_id": n} for n in range(1, 1001)], "segment_id": "101", "channel": "email",
                 "confirm": True}
    started = await live.call_tool("screen_audience", arguments)
    called: list[str] = []

    async def call_tool(params: dict[str, Any]) -> dict[str, Any]:
        called.append(params["name"])
        result = await live.call_tool(params["name"], params.get("arguments") or {})
        return dict(result.model_dump(mode="json", by_alias=True, exclude_none=True))

    call = {"arguments": arguments, "result": started.model_dump(mode="json", by_alias=True, exclude_none=True)}
    hosted = await open_view(browser, document(SCREENING_URI), call, call_tool=call_tool)
    view = hosted.frame
    await view.locator("main[aria-busy=false] progress").wait_for()
    assert "of 1,000 screened" in await view.locator("#progress-text").inner_text()
    assert await view.locator("#status-message").count() == 0  # "Call get_screening…" is for a model, not a person
    await hosted.screenshot(screenshots / "audience-progress.png")
    await view.locator("[data-count=eligible]").wait_for(timeout=90_000)  # completed: the counts appear
    done = (await live.call_tool("get_screening", {"screening_id": started.structured_content["screening_id"]})
            ).structured_content
    for key, count in done["summary"].items():
        assert await view.locator(f"[data-count='{key.replace('_', '-')}'] strong").inner_text() == f"{count:,}"
    assert await view.locator("tbody tr").count() == 50
    assert await view.locator("#page-info").inner_text() == f"Rows 1{DASH}50 of 1,000"
    await view.locator("#next").click()
    await view.locator("tbody tr[data-line='51']").wait_for()
    assert await view.locator("tbody tr").count() == 50
    assert f"Rows 51{DASH}100" in await view.locator("#page-info").inner_text()
    await view.locator("#previous").click()
    await view.locator("tbody tr[data-line='1']").wait_for()
    await view.locator("#only").select_option("eligible")
    await view.locator(f"#page-info:has-text('of {done['summary']['eligible']:,}')").wait_for()
    outcomes = set(await view.locator("tbody td[data-col=outcome]").all_inner_texts())
    assert outcomes == {"eligible"} and await view.locator("tbody tr").count() <= 50
    assert called.count("get_screening") >= 4  # polls, then the pages and the filter
    await hosted.screenshot(screenshots / "audience-pages.png")


HOSTILE_SPECS = [spec for spec in SAMPLE_SPECS if spec.sample.hostile]
MARKUP_FIRST = sorted(HOSTILE_SPECS, key=lambda spec: spec.sample.label != "hostile_html")
RAW = [text for spec in MARKUP_FIRST for text in (spec.sample.full_name, spec.address or "", spec.activity or "",
                                                   *(value for _, value in spec.attributes)) if text]
"""Every attempt as the sandbox stores it, before any sanitizing: what a view must show as text if it ever got it."""
NARROW = 380
ACTIVE = "[onerror], [onload], [onmouseover], img, iframe, object, embed, a[href], svg image, svg a"


def raw(i: int) -> str:
    return RAW[i % len(RAW)]


def tainted_card(call: dict[str, Any]) -> dict[str, Any]:
    """The card with an attempt, unsanitized, in every text it shows: name, tier, city, segments, affinity charts and
    labels, recommendation codes and names, an unavailable reason."""
    card = copy.deepcopy(call)
    data = card["result"]["structuredContent"]
    data["who"] |= {"name": raw(0), "tier": raw(1), "city": raw(2)}
    data["segments"]["top"] = {raw(3 + i): raw(4 + i) for i in range(0, 8, 2)}
    data["affinities"] = {raw(11): {raw(12): 90, raw(13): 40}, raw(14): {raw(15): 70}}
    data["recommendations"] = {raw(16 + i): {"name": raw(17 + i), "price": 9.5} for i in range(0, 6, 2)}
    data["unavailable"] = {"consent": raw(22)}
    del data["consent"]
    return card


def tainted_table(call: dict[str, Any]) -> dict[str, Any]:
    """The screening with an attempt, unsanitized, in every row's name, in the identifiers echoed and in an error."""
    table = copy.deepcopy(call)
    data = table["result"]["structuredContent"]
    for i, row in enumerate(data["rows"]):
        row |= {"name": raw(i), "customer": {"email": raw(i + 7)}}
    data["rows"][0]["error"] = raw(3)
    data["segment_name"] = raw(5)
    return table


async def inert_at_380(hosted: HostedView, screenshot: Path) -> None:
    """Nothing ran, nothing was requested, nothing active was made, and nothing sticks out of a 380 px pane."""
    view = hosted.frame
    assert await view.locator(ACTIVE).count() == 0
    assert await view.locator("html").evaluate("e => e.scrollWidth - e.clientWidth") <= 0
    await hosted.screenshot(screenshot)
    hosted.assert_clean()
    await hosted.page.close()


@pytest.mark.parametrize("label", [spec.sample.label for spec in HOSTILE_SPECS])
async def test_the_card_shows_a_hostile_customer_as_inert_text(browser: Any, tool_results: dict[str, Any],
                                                               screenshots: Path, label: str) -> None:
    call = tool_results[f"hostile_card_{label}"]
    name = call["result"]["structuredContent"]["who"]["name"]
    hosted = await card(browser, call, width=NARROW)
    assert await hosted.frame.locator("h1#name").inner_text() == name
    written = await hosted.frame.locator("[data-origin=customer]").all_text_contents()  # as the result's _meta says
    assert written == [name, call["result"]["structuredContent"]["who"]["city"]]
    await inert_at_380(hosted, screenshots / f"card-{label}-380.png")


async def test_the_card_shows_unsanitized_attempts_as_literal_text(browser: Any, tool_results: dict[str, Any],
                                                                   screenshots: Path) -> None:
    """Were the sanitizer bypassed, the view still puts every value in the page as text: defence in depth."""
    call = tainted_card(tool_results["hostile_card_hostile_html"])
    hosted = await card(browser, call, width=NARROW)
    view = hosted.frame
    assert await view.locator("h1#name").text_content() == raw(0)
    assert [await c.text_content() for c in await view.locator("[data-segment]").all()] == \
        [raw(4 + i) for i in range(0, 8, 2)]
    assert raw(22) in (await view.locator("[data-unavailable=consent]").text_content() or "")
    for i in range(0, 6, 2):
        assert raw(17 + i) in (await view.locator(f"[data-product='{raw(16 + i)}']").text_content() or "")
    await inert_at_380(hosted, screenshots / "card-unsanitized-380.png")


async def test_the_table_shows_hostile_and_unsanitized_names_as_inert_text(browser: Any, tool_results: dict[str, Any],
                                                                           screenshots: Path) -> None:
    call = tool_results["hostile_screening"]
    rows = call["result"]["structuredContent"]["rows"]
    hosted = await table(browser, call, width=NARROW)
    for row in rows:
        cell = hosted.frame.locator(f"tbody tr[data-index='{row['index']}'] td.who")
        assert (await cell.text_content() or "").startswith(row["name"])
        assert await cell.locator("[data-origin=customer]").text_content() == row["name"]
    await inert_at_380(hosted, screenshots / "table-hostile-380.png")
    tainted = tainted_table(call)
    hosted = await table(browser, tainted, width=NARROW)
    for row in tainted["result"]["structuredContent"]["rows"]:
        cell = hosted.frame.locator(f"tbody tr[data-index='{row['index']}'] td.who")
        assert (await cell.text_content() or "").startswith(row["name"])
    await inert_at_380(hosted, screenshots / "table-unsanitized-380.png")


async def test_withheld_names_say_so(browser: Any, tool_results: dict[str, Any]) -> None:
    """Under CDP_UNTRUSTED=omit the card and the table say the name was withheld, not that there is none."""
    hosted = await card(browser, tool_results["card_omitted"], width=NARROW)
    assert await hosted.frame.locator("h1#name").inner_text() == "Name withheld"
    hosted.assert_clean()
    await hosted.page.close()
    hosted = await table(browser, tool_results["screening_omitted"], width=NARROW)
    marks = await hosted.frame.locator("td.who .withheld").all_inner_texts()
    assert marks == ["name withheld"] * 3
    hosted.assert_clean()
    await hosted.page.close()


async def test_an_audience_screening_shows_hostile_unsanitized_and_withheld_names_as_such(
    browser: Any, tool_results: dict[str, Any], screenshots: Path,
) -> None:
    """The audience table labels the names its result says are customer-written, keeps attempts as literal text
    (sanitized or not), and says when a name was withheld."""
    call = tool_results["hostile_audience"]
    rows = call["result"]["structuredContent"]["rows"]
    hosted = await table(browser, call, width=NARROW)
    for row in rows:
        cell = hosted.frame.locator(f"tbody tr[data-line='{row['line']}'] td.who")
        assert await cell.locator("[data-origin=customer]").text_content() == row["name"]
    await inert_at_380(hosted, screenshots / "audience-hostile-380.png")
    tainted = copy.deepcopy(call)
    for i, row in enumerate(tainted["result"]["structuredContent"]["rows"]):
        row |= {"name": raw(i), "customer": {"email": raw(i + 7)}, "error": raw(i + 3)}
    hosted = await table(browser, tainted, width=NARROW)
    for row in tainted["result"]["structuredContent"]["rows"]:
        cell = hosted.frame.locator(f"tbody tr[data-line='{row['line']}'] td.who")
        assert (await cell.text_content() or "").startswith(row["name"])
    await inert_at_380(hosted, screenshots / "audience-unsanitized-380.png")
    hosted = await table(browser, tool_results["audience_omitted"], width=NARROW)
    assert await hosted.frame.locator("td.who .withheld").all_inner_texts() == ["name withheld"] * 3
    hosted.assert_clean()
    await hosted.page.close()
