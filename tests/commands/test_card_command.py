"""`cdp-mcp card`: the customer card as a standalone HTML file, its path on stdout, errors as `call` reports them."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

from cdp_mcp.cli import main
from cdp_mcp.sandbox import SampleCustomer
from tests.generated_docs import VIEWS_PAGE

ROOT = Path(__file__).resolve().parents[2]


def embedded(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="cdp-data">(.*?)</script>', html, re.S)
    assert found, "no data embedded"
    assert "<" not in found.group(1)  # escaped: no text in the data can end the script element
    return json.loads(found.group(1))


def test_card_writes_a_standalone_file_and_prints_its_path(cdp_env: dict[str, str], showcase: SampleCustomer,
                                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cards" / "ada.html"
    out.parent.mkdir()
    assert main(["card", f"email={showcase.email}", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    html = out.read_text()
    data = embedded(html)
    assert data["arguments"] == {"email": showcase.email}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.*", str(data["generated"]))
    card = data["result"]
    assert isinstance(card, dict) and card["gcr_id"] == showcase.gcr_id and showcase.full_name in card["who"]["name"]
    assert html.startswith("<!DOCTYPE html>") and html.count('id="cdp-data"') == 1


def test_card_names_the_file_after_the_customer(cdp_env: dict[str, str], showcase: SampleCustomer,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["card", f"gcr_id={showcase.gcr_id}"]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == Path.cwd().resolve() / f"customer-card-{showcase.gcr_id}.html" and written.is_file()


def test_card_reports_errors_like_call(cdp_env: dict[str, str], ambiguous: SampleCustomer,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["card", f"email={ambiguous.email}"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "gcr_id" in captured.err and not list(Path.cwd().glob("*.html"))
    assert main(["card", "gcrid=1"]) == 2
    assert "gcr_id" in capsys.readouterr().err


def test_the_default_card_file_is_documented_and_kept_out_of_git() -> None:
    """Run in a checkout, `cdp-mcp card gcr_id=1` writes customer-card-1.html there: the views page says where it
    lands, and git ignores it (a customer's data must not be committed by accident)."""
    page = VIEWS_PAGE.read_text(encoding="utf-8")
    assert "customer-card-<gcr_id>.html" in page and "current directory" in page
    patterns = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
    assert any(fnmatch("customer-card-1.html", pattern) for pattern in patterns)
    assert any(fnmatch("customer-card-unknown.html", pattern) for pattern in patterns)
