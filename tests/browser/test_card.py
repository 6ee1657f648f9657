"""The customer card (get_customer_overview's MCP Apps view) in a real browser, fed real results from the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from host import HOST_VARIABLES, HostedView, open_view

from cdp_mcp.views import CARD_URI, document
from tests.browser.conftest import CARD_LABELS

CHANNELS = {"email": "Email", "sms": "SMS", "push": "Push", "whatsapp": "WhatsApp"}


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def shown(browser: Any, call: dict[str, Any], **options: Any) -> HostedView:
    hosted = open_view(browser, document(CARD_URI), call, **options)
    hosted.frame.locator("main[aria-busy=false] footer").wait_for()
    return hosted


def clean(hosted: HostedView) -> None:
    """No console error (CSP violations included) and no request to any origin."""
    assert hosted.errors == [] and hosted.requests == []


@pytest.mark.parametrize("label", CARD_LABELS)
def test_the_card_shows_the_customer(browser: Any, tool_results: dict[str, Any], screenshots: Path,
                                     label: str) -> None:
    call = tool_results[f"card_{label}"]
    card = call["result"]["structuredContent"]
    hosted = shown(browser, call)
    view = hosted.frame
    assert view.locator("h1#name").inner_text() == card["who"]["name"]
    sub = view.locator(".who .sub").inner_text()
    assert card["who"]["tier"] in sub and card["who"]["city"] in sub and f"gcr_id {card['gcr_id']}" in sub
    value = card["value"]
    assert view.locator("[data-kpi=total_sales] dd").inner_text() == usd(value["total_sales"])
    assert view.locator("[data-kpi=orders] dd").inner_text() == f"{value['orders']:,}"
    if "average_basket" in value:
        assert view.locator("[data-kpi=average_basket] dd").inner_text() == usd(value["average_basket"])
    months = list(value["trend"])
    assert view.locator(".chart rect.bar").count() == len(months) == view.locator(".chart circle.point").count()
    assert [view.locator(".chart rect.bar").nth(i).get_attribute("data-month") for i in range(len(months))] == months
    description = view.locator(".chart svg desc").text_content()
    for month, figures in value["trend"].items():
        assert usd(figures["sales"]) in description  # the chart's text alternative has every figure
        assert view.locator(f".data-table tr[data-month='{month}'] td").first.text_content() == usd(figures["sales"])
    for channel, opted_in in card["consent"].items():
        row = view.locator(f"[data-channel={channel}]")
        assert row.get_attribute("data-consent") == ("yes" if opted_in else "no")
        assert ("not opted in" not in row.inner_text()) == opted_in
    contactable = [CHANNELS[c] for c, yes in card["consent"].items() if yes]
    summary = view.locator(".contactable").inner_text()
    assert summary == (f"Contactable on {', '.join(contactable)}" if contactable else "Not contactable on any channel")
    assert view.locator("[data-segment]").count() == len(card["segments"]["top"])
    for title, scores in card["affinities"].items():
        assert view.locator(f"[data-chart='{title}'] li").count() == len(scores)
    for code, product in card["recommendations"].items():
        assert view.locator(f"[data-product='{code}'] .price").inner_text() == usd(product["price"])
        assert product["name"] in view.locator(f"[data-product='{code}']").inner_text()
    clean(hosted)
    hosted.screenshot(screenshots / f"card-{label}-light.png")
    hosted.page.close()


def test_a_partial_failure_says_so_in_place(browser: Any, tool_results: dict[str, Any], screenshots: Path) -> None:
    call = tool_results["card_partial"]
    unavailable = call["result"]["structuredContent"]["unavailable"]
    assert {"affinities", "value.trend"} <= set(unavailable)
    hosted = shown(browser, call)
    view = hosted.frame
    for key in ("affinities", "value.trend"):
        note = view.locator(f"[data-unavailable='{key}']")
        assert note.inner_text().startswith("Unavailable: ") and unavailable[key] in note.inner_text()
    assert view.locator("[data-section=affinities] [data-unavailable]").count() == 1  # in its own section
    assert view.locator("[data-section=value] [data-unavailable='value.trend']").count() == 1
    assert view.locator(".chart").count() == 0 and view.locator("[data-kpi=total_sales]").count() == 1
    assert view.locator("[data-section=recommendations] [data-product]").count() > 0
    clean(hosted)
    hosted.screenshot(screenshots / "card-partial.png")
    hosted.page.close()


def test_an_error_result_is_shown_as_the_message(browser: Any, tool_results: dict[str, Any]) -> None:
    call = tool_results["ambiguous"]
    assert call["result"]["isError"]
    hosted = open_view(browser, document(CARD_URI), call)
    message = hosted.frame.locator("#status.problem")
    message.wait_for()
    assert message.inner_text() == call["result"]["content"][0]["text"]
    clean(hosted)
    hosted.page.close()


def test_the_card_follows_the_host_theme_and_speaks_the_protocol(browser: Any, tool_results: dict[str, Any],
                                                                 screenshots: Path) -> None:
    hosted = shown(browser, tool_results["card_vip"], variables=HOST_VARIABLES)
    light = hosted.background()
    assert light == (0xFB, 0xFA, 0xF7)  # the host's variable, light half
    hosted.screenshot(screenshots / "card-vip-host-light.png")
    hosted.set_theme("dark")
    hosted.frame.locator("html[data-theme=dark]").wait_for()
    assert hosted.background() == (0x1F, 0x1E, 0x1C)
    hosted.screenshot(screenshots / "card-vip-host-dark.png")
    messages = hosted.messages()
    methods = [m.get("method") for m in messages]
    init = messages[0]
    assert init["method"] == "ui/initialize" and init["params"]["protocolVersion"] == "2026-01-26"
    assert init["params"]["appInfo"]["name"] and "appCapabilities" in init["params"]
    assert methods[1] == "ui/notifications/initialized"
    sizes = [m["params"] for m in messages if m.get("method") == "ui/notifications/size-changed"]
    assert sizes and sizes[-1]["height"] > 300 and all(s["width"] > 0 for s in sizes)
    assert hosted.page.locator("#view").bounding_box()["height"] == sizes[-1]["height"]  # the host sized it
    hosted.page.evaluate("window.ping()")
    hosted.page.wait_for_function("window.viewMessages.some(m => m.id === 99 && m.result)")
    clean(hosted)
    hosted.page.close()


def test_the_card_has_a_dark_default_and_fits_narrow_and_wide_panes(browser: Any, tool_results: dict[str, Any],
                                                                   screenshots: Path) -> None:
    narrow = shown(browser, tool_results["card_vip"], theme="dark", width=360)
    assert max(narrow.background()) < 60  # the view's own dark palette, no host variables
    view = narrow.frame
    overflow = view.locator("html").evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 0
    consent, segments = (view.locator(f"[data-section={s}]").bounding_box() for s in ("consent", "segments"))
    assert consent and segments and segments["y"] > consent["y"]  # one column
    narrow.screenshot(screenshots / "card-vip-dark-narrow.png")
    clean(narrow)
    narrow.page.close()
    wide = shown(browser, tool_results["card_vip"], width=1000)
    consent, segments = (wide.frame.locator(f"[data-section={s}]").bounding_box() for s in ("consent", "segments"))
    assert consent and segments and segments["y"] == consent["y"] and segments["x"] > consent["x"]  # two columns
    clean(wide)
    wide.page.close()


def test_the_chart_data_is_reachable_by_keyboard(browser: Any, tool_results: dict[str, Any]) -> None:
    hosted = shown(browser, tool_results["card_vip"])
    view = hosted.frame
    svg = view.locator(".chart svg")
    assert svg.get_attribute("role") == "img" and svg.get_attribute("aria-labelledby") == "trend-title trend-desc"
    table = view.locator(".data-table")
    assert not table.is_visible()
    view.locator("details summary").focus()
    hosted.page.keyboard.press("Enter")
    assert table.is_visible()
    clean(hosted)
    hosted.page.close()
