"""The screening table (screen_customers' MCP Apps view) in a real browser, fed a real screening of 20 customers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from host import HOST_VARIABLES, HostedView, open_view

from cdp_mcp.views import SCREENING_URI, document
from tests.browser.conftest import SCREENED


def shown(browser: Any, call: dict[str, Any], **options: Any) -> HostedView:
    hosted = open_view(browser, document(SCREENING_URI), call, **options)
    hosted.frame.locator("main[aria-busy=false] table").wait_for()
    return hosted


def column(hosted: HostedView, name: str) -> list[str]:
    return hosted.frame.locator(f"tbody td[data-col={name}]").all_inner_texts()


def order(hosted: HostedView) -> list[int]:
    return [int(i) for i in hosted.frame.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.index)")]


def test_one_row_per_customer_with_marks_recency_and_errors(browser: Any, tool_results: dict[str, Any],
                                                            screenshots: Path) -> None:
    call = tool_results["screening"]
    data = call["result"]["structuredContent"]
    rows = data["rows"]
    assert len(rows) == SCREENED and any("error" in r for r in rows)
    hosted = shown(browser, call)
    view = hosted.frame
    assert view.locator("tbody tr").count() == SCREENED
    for key, count in data["summary"].items():
        assert view.locator(f"[data-count='{key.replace('_', '-')}'] strong").inner_text() == str(count)
    for row in rows:
        tr = view.locator(f"tbody tr[data-index='{row['index']}']")
        texts = tr.locator("td").all_inner_texts()
        if "error" in row:
            assert row["error"] in texts[-1] and "failed" in (tr.get_attribute("class") or "")
            continue
        assert texts[2].endswith("yes" if row["in_segment"] else "no")
        assert texts[3].endswith("yes" if row["contactable"] else "no")
        days = row.get("days_since_last_purchase")
        assert texts[4] == ("no purchase" if days is None else "today" if days == 0 else f"{days:,} days ago")
        assert row["name"] in texts[1]
        eligible = row["in_segment"] and row["contactable"]
        assert tr.get_attribute("data-eligible") == ("yes" if eligible else "no")
    assert hosted.errors == [] and hosted.requests == []
    hosted.screenshot(screenshots / "table-light.png")
    hosted.page.close()


def test_columns_sort_by_click_and_keyboard(browser: Any, tool_results: dict[str, Any]) -> None:
    rows = tool_results["screening"]["result"]["structuredContent"]["rows"]
    hosted = shown(browser, tool_results["screening"])
    view = hosted.frame
    assert order(hosted) == list(range(SCREENED))
    recency = view.locator("button[data-sort=recency]")
    recency.focus()
    hosted.page.keyboard.press("Enter")
    known = sorted((r["days_since_last_purchase"], r["index"]) for r in rows if "days_since_last_purchase" in r)
    assert order(hosted)[:len(known)] == [i for _, i in known]  # unknown recency last
    assert view.locator("th:has(button[data-sort=recency])").get_attribute("aria-sort") == "ascending"
    hosted.page.keyboard.press("Space")  # focus stays on the header: the same key sorts the other way
    assert view.locator("th:has(button[data-sort=recency])").get_attribute("aria-sort") == "descending"
    newest_last = sorted(known, key=lambda k: (-k[0], k[1]))  # ties keep request order
    assert order(hosted)[SCREENED - len(known):] == [i for _, i in newest_last]  # unknown recency first now
    view.locator("button[data-sort=in_segment]").click()
    marks = column(hosted, "in_segment")
    first_no = next((i for i, m in enumerate(marks) if m.endswith("no")), len(marks))
    assert all(m.endswith("yes") for m in marks[:first_no]) and marks[:first_no]
    view.locator("#only-eligible").check()
    eligible = [r["index"] for r in rows if r.get("in_segment") and r.get("contactable")]
    assert sorted(order(hosted)) == eligible
    assert view.locator("#shown").inner_text() == f"{len(eligible)} shown"
    assert hosted.errors == []
    hosted.page.close()


def test_redacted_identifiers_show_as_redacted_in_both_themes(browser: Any, tool_results: dict[str, Any],
                                                              screenshots: Path) -> None:
    call = tool_results["screening_redacted"]
    given = call["result"]["structuredContent"]["rows"][0]["customer"]
    assert given == {"email": "[redacted]"}
    hosted = shown(browser, call, variables=HOST_VARIABLES)
    redacted = hosted.frame.locator("tbody tr[data-index='0'] .redacted")
    assert redacted.inner_text() == "redacted" and "[redacted]" not in hosted.frame.locator("tbody").inner_text()
    assert hosted.background() == (0xFB, 0xFA, 0xF7)
    hosted.set_theme("dark")
    hosted.frame.locator("html[data-theme=dark]").wait_for()
    assert hosted.background() == (0x1F, 0x1E, 0x1C)
    hosted.screenshot(screenshots / "table-redacted-dark.png")
    assert hosted.errors == [] and hosted.requests == []
    hosted.page.close()


def test_the_table_scrolls_inside_a_narrow_pane(browser: Any, tool_results: dict[str, Any], screenshots: Path) -> None:
    hosted = shown(browser, tool_results["screening"], width=380, theme="dark")
    view = hosted.frame
    assert view.locator("html").evaluate("e => e.scrollWidth - e.clientWidth") <= 0  # the page does not scroll
    scroller = view.locator(".scroller")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")  # the table does, in its own focusable region
    assert scroller.get_attribute("tabindex") == "0" and scroller.get_attribute("role") == "region"
    hosted.screenshot(screenshots / "table-dark-narrow.png")
    assert hosted.errors == []
    hosted.page.close()
