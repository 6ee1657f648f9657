"""Audiences from exports: CSV as segment builders write it, JSON lines, inline rows; bad rows rejected by line,
duplicates screened once, and the files no audience is made of refused with a reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cdp_mcp.errors import InvalidInputError
from cdp_mcp.jobs.audience import KEPT_REJECTIONS, column_for, from_customers, parse_bytes, read_file
from cdp_mcp.jobs.formats import MAX_BYTES
from cdp_mcp.jobs.sources import audience_path

EXPORT = (
    "\ufeffCustomer Code;Email Address;Mobile Number;GCR ID;First Name\n"
    "100001;Ada.Lovelace@Example.com;;;Ada\n"          # 2: email (lower-cased), code
    ";;555-010-0002;;Grace\n"                            # 3: mobile with dashes
    ";;;3;Alan\n"                                        # 4: gcr id
    ";not-an-email;;;Bad\n"                              # 5: malformed email
    ";;;;Nobody\n"                                       # 6: no identifier at all
    "100001;ada.lovelace@example.com;;;Ada again\n"      # 7: the same customer as line 2
    "\n"                                                 # 8: a blank line
    ";;;x1;Letters\n"                                    # 9: gcr id that is not a number
)


def test_a_segment_builder_export_is_read_with_its_own_column_names(tmp_path: Path) -> None:
    path = tmp_path / "winback.csv"
    path.write_text(EXPORT, encoding="utf-8")
    audience = read_file(path, max_rows=100)
    assert [(m.line, m.given().model_dump(exclude_none=True)) for m in audience.members] == [
        (2, {"email": "ada.lovelace@example.com", "customer_code": "100001"}),
        (3, {"mobile": "5550100002"}),
        (4, {"gcr_id": 3}),
    ]
    assert audience.duplicates == 1
    assert audience.rejected == 3
    reasons = {r.line: r.reason for r in audience.rejections}
    assert set(reasons) == {5, 6, 9}
    assert "email" in reasons[5] and "no identifier" in reasons[6] and "gcr_id" in reasons[9]


def test_two_columns_disagreeing_about_one_identifier_reject_the_row(tmp_path: Path) -> None:
    path = tmp_path / "two-emails.csv"
    path.write_text("email,Email Address\na@example.com,A@EXAMPLE.COM\nb@example.com,c@example.com\n")
    audience = read_file(path, max_rows=10)
    assert [m.email for m in audience.members] == ["a@example.com"]
    assert [(r.line, r.reason) for r in audience.rejections] == [(3, "conflicting email values")]


def test_json_lines_with_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "audience.jsonl"
    path.write_text("\n".join([json.dumps({"gcrId": 1}), "{broken", json.dumps(["not", "an", "object"]),
                               json.dumps({"customer_code_external": "100002", "segment": "x"})]) + "\n")
    audience = read_file(path, max_rows=10)
    assert [(m.line, m.given().model_dump(exclude_none=True)) for m in audience.members] == [
        (1, {"gcr_id": 1}), (4, {"customer_code": "100002"})]
    assert [(r.line, r.reason) for r in audience.rejections] == [(2, "not a JSON object"), (3, "not a JSON object")]


def test_inline_rows_are_numbered_by_position() -> None:
    audience = from_customers([{"gcr_id": 5}, {"email": "x"}, {"gcr_id": 5}, {"mobile": "+15550100001"}], max_rows=10)
    assert [m.line for m in audience.members] == [1, 4]
    assert audience.duplicates == 1 and [r.line for r in audience.rejections] == [2]


def test_a_header_without_identifiers_is_refused_naming_what_it_saw(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text("First Name,Last Name\nAda,Lovelace\n")
    with pytest.raises(InvalidInputError) as refused:
        read_file(path, max_rows=10)
    assert "'First Name'" in refused.value.message and "email" in refused.value.hint


@pytest.mark.parametrize(("content", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("email\nz\u00fcrich@example.com\n".encode("latin-1"), "UTF-8"),
    (b"", "empty"),
    (b"email\n\n\n", "no customer to screen"),
])
def test_files_that_hold_no_audience_are_refused(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as refused:
        read_file(path, max_rows=10)
    assert words in refused.value.message


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as sparse:  # 2 GB on paper, nothing on disk
        sparse.truncate(2 * 1024**3)
    with pytest.raises(InvalidInputError) as refused:
        read_file(path, max_rows=50_000)
    assert "2,048 MB" in refused.value.message and f"{MAX_BYTES // 1024 // 1024} MB" in refused.value.message


def test_a_hundred_thousand_bad_rows_are_counted_not_kept() -> None:
    data = ("email\n" + "not-an-email\n" * 100_000 + "ok@example.com\n").encode()
    audience = parse_bytes(data, name="upload.csv", max_rows=10)
    assert audience.rejected == 100_000 and len(audience.rejections) == KEPT_REJECTIONS
    assert [m.line for m in audience.members] == [100_002]


def test_the_row_cap_is_a_clear_refusal() -> None:
    data = ("gcr_id\n" + "".join(f"{n}\n" for n in range(1, 12))).encode()
    with pytest.raises(InvalidInputError) as refused:
        parse_bytes(data, name="upload.csv", max_rows=10)
    assert "more than 10 customers" in refused.value.message and "CDP_AUDIENCE_MAX" in refused.value.message


def test_column_names_recognised() -> None:
    assert [column_for(n) for n in ("GCR ID", "gcrId", "E-mail", "Email Address", "email_address", "Phone",
                                    "mobile_number", "Customer Code", "customer_code_external", "Segment")] == [
        "gcr_id", "gcr_id", "email", "email", "email", "mobile", "mobile", "customer_code", "customer_code", None]


def test_audience_files_come_from_the_audience_folder_only(tmp_path: Path) -> None:
    folder = tmp_path / "audiences"
    folder.mkdir()
    (folder / "export.csv").write_text("gcr_id\n1\n")
    outside = tmp_path / "secret.csv"
    outside.write_text("gcr_id\n1\n")
    os.symlink(outside, folder / "link.csv")
    os.symlink(folder / "export.csv", folder / "inside-link.csv")
    assert audience_path(folder, "export.csv") == (folder / "export.csv").resolve()
    assert audience_path(folder, "inside-link.csv") == (folder / "export.csv").resolve()
    for name in ("../secret.csv", str(outside), "link.csv", "."):
        with pytest.raises(InvalidInputError) as refused:
            audience_path(folder, name)
        assert "outside the audience folder" in refused.value.message, name
    with pytest.raises(InvalidInputError) as missing:
        audience_path(folder, "winback.csv")
    assert "no file 'winback.csv'" in missing.value.message and "export.csv" in missing.value.message
    with pytest.raises(InvalidInputError) as no_folder:
        audience_path(tmp_path / "nowhere", "export.csv")
    assert "does not exist" in no_folder.value.message and "CDP_AUDIENCE_DIR" in no_folder.value.hint


def test_a_json_array_is_refused_saying_to_write_json_lines(tmp_path: Path) -> None:
    for name, text in (("export.json", '[{"email": "ada@example.com"},\n {"gcr_id": 2}]\n'),
                       ("export.jsonl", '\n  [\n{"email": "ada@example.com"}]')):
        (tmp_path / name).write_text(text)
        with pytest.raises(InvalidInputError) as refused:
            read_file(tmp_path / name, max_rows=10)
        assert "JSON array" in refused.value.message and "one object per line" in (refused.value.hint or "")
