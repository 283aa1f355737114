"""What a passage cannot say about itself: its document's title and period, as a short header.

A passage deep inside a quarterly report ("Total net sales increased 5%...") names neither the
company nor the quarter; only the document's first page and file name do. Every chunk is
embedded and keyword-indexed with a header made from those, so that a question naming the
document ("Apple's 10-Q for the quarter ended June 28, 2025") can find it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from desktop_app.core.records import Element

__all__ = ["DocumentContext", "describe_document", "find_periods", "main_periods",
           "names_a_period"]

OPENING_CHARS = 3000  # about a page: where titles, parties and dates stand
_MAX_TITLE = 120
_MAX_PERIODS = 3
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_ORDINALS = "first|second|third|fourth|1st|2nd|3rd|4th"
_PERIOD = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}\s*,\s*(?:19|20)\d\d"  # June 28, 2025
    rf"|\d{{1,2}}\s+(?:{_MONTHS})\.?\s+(?:19|20)\d\d"  # 28 June 2025
    rf"|(?:19|20)\d\d-[01]\d-[0-3]\d"  # 2025-06-28
    rf"|(?:{_ORDINALS})\s+quarter\s+(?:of\s+)?(?:fiscal\s+(?:year\s+)?)?(?:19|20)\d\d"
    rf"|Q[1-4]\s*(?:FY\s*)?(?:19|20)\d\d"  # Q3 2025, Q3 FY2025
    rf"|(?:fiscal\s+(?:year\s+)?|FY\s*)(?:19|20)\d\d"  # fiscal 2025, fiscal year 2025, FY2025
    rf"|(?:{_MONTHS})\s+(?:19|20)\d\d)\b",  # June 2025
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
_QUARTERS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
_NAMED_PERIOD = re.compile(
    r"\b(?:(?P<ordinal>first|second|third|fourth)\s+(?P<fq>fiscal\s+)?quarter\s+(?:of\s+)?"
    r"(?P<fq2>fiscal\s+)?(?:year\s+)?(?P<qyear>(?:19|20)\d\d)"
    r"|Q(?P<q>[1-4])\s*(?P<fq3>FY\s*|fiscal\s+)?(?P<qyear2>(?:19|20)\d\d)"
    r"|(?:fiscal\s+(?:year\s+)?|FY\s*)(?P<fyear>(?:19|20)\d\d))\b",
    re.IGNORECASE,
)
_ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth"}
MIN_MENTIONS = 3  # a period named fewer times is one the document compares with, at most
_DATE = rf"(?:{_MONTHS})\.?\s+\d{{1,2}}\s*,\s*(?:19|20)\d\d"
# How reports state the period they cover: "For the quarterly period ended June 28, 2025".
_COVERED = re.compile(
    rf"\b(?P<span>fiscal\s+year|year|quarterly\s+period|quarter|three\s+months)"
    rf"\s+ended:?\s+(?P<date>{_DATE})", re.IGNORECASE)
_MONTH_NUMBERS = {m: n for n, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


@dataclass(frozen=True, slots=True)
class DocumentContext:
    """A document's title (a heading of its opening, else its file name) and the periods its
    opening names; `header` is what each of its chunks is indexed with."""

    title: str
    periods: tuple[str, ...]
    titled_by_file: bool = False  # no heading: the title is the file name

    def header(self, heading: str | None = None) -> str:
        """The context of one passage: the document's, then the heading it stands under; ""
        when all it would say is the file name (the same words on every passage of the
        document only blur what each one says)."""
        if self.titled_by_file and not self.periods and not (heading and heading.strip()):
            return ""
        parts = [self.title, *self.periods]
        if heading and heading.strip() and heading.strip() != self.title:
            parts.append(_SPACE.sub(" ", heading.strip())[:_MAX_TITLE])
        return " · ".join(p for p in parts if p)


def describe_document(path: str, elements: Sequence[Element]) -> DocumentContext:
    """The context of a document, from its path and its first elements (the opening)."""
    opening = _opening(elements)
    heading = next((e.text for e in opening if e.kind == "Title" and _is_title(e.text)), None)
    name = _readable_name(path)
    if heading is None:
        title = name
    else:
        heading = _SPACE.sub(" ", heading.strip())[:_MAX_TITLE]
        # The file name says something the heading may not ("acme-q3-2023.pdf"), unless it
        # is only a number or the heading again.
        title = heading if not name or name.lower() in heading.lower() else f"{heading} ({name})"
    first_page = "\n".join(e.text for e in opening)
    periods = _periods(first_page, "\n".join(e.text for e in elements))
    return DocumentContext(title, tuple(periods), heading is None)


def _periods(opening: str, text: str) -> list[str]:
    """The period a document covers, as its opening states it ("for the quarter ended June
    30, 2025") and as people name it ("Q2 2025 (second quarter of 2025)"), else the dates its
    opening names."""
    covered = _COVERED.search(opening)
    keys = _main_keys(text)
    if covered is None:
        return find_periods(opening)[:2] + [_spelled(k) for k in keys]
    annual = "year" in covered.group("span").lower()
    ended = _SPACE.sub(" ", covered.group("date")).replace(" ,", ",")
    year = int(ended[-4:])
    # A report names the periods it compares with too: keep what fits the period covered.
    keys = [k for k in keys if k[2] in (year, year + 1) and not (annual and k[0])]
    if not keys:  # nothing says which fiscal quarter or year: the calendar's
        month = _month_number(ended)
        keys = [(0, True, year)] if annual else [((month - 1) // 3 + 1, False, year)] if month else []
    return [f"{'year' if annual else 'quarter'} ended {ended}", *(_spelled(k) for k in keys)]


def find_periods(text: str) -> list[str]:
    """Dates and periods a text names ("June 28, 2025", "Q3 2025", "fiscal 2024"), distinct,
    in order of appearance, at most a few."""
    found: dict[str, str] = {}
    for match in _PERIOD.finditer(text):
        period = _SPACE.sub(" ", match.group(0)).replace(" ,", ",")
        found.setdefault(period.lower(), period)
        if len(found) == _MAX_PERIODS:
            break
    return list(found.values())


def main_periods(text: str) -> list[str]:
    """The quarter or fiscal year a report is about, as people name it: see `_main_keys`."""
    return [_spelled(key) for key in _main_keys(text)]


def _main_keys(text: str) -> list[tuple[int, bool, int]]:
    """(quarter or 0, fiscal, year) of the period a report names most often (at least
    MIN_MENTIONS times), and for a year, of its quarter named most often."""
    counts: dict[tuple[int, bool, int], int] = {}
    for match in _NAMED_PERIOD.finditer(text):
        key = _period_key(match)
        counts[key] = counts.get(key, 0) + 1
    named = sorted((kv for kv in counts.items() if kv[1] >= MIN_MENTIONS), key=lambda kv: -kv[1])
    if not named:
        return []
    main = named[0][0]
    quarter = next((k for k, _ in named if k[0] and k[2] == main[2]), None) if not main[0] else None
    return [key for key in (main, quarter) if key]


def _spelled(key: tuple[int, bool, int]) -> str:
    quarter, fiscal, year = key
    if not quarter:
        return f"fiscal year {year} (FY{year})"
    kind = "fiscal " if fiscal else ""
    return f"Q{quarter} {kind}{year} ({_ORDINAL_NAMES[quarter]} quarter of {kind}{year})"


def _period_key(match: re.Match[str]) -> tuple[int, bool, int]:
    """(quarter or 0 for a whole year, fiscal, year) of a period named in a text."""
    if match.group("fyear"):
        return 0, True, int(match.group("fyear"))
    if match.group("ordinal"):
        fiscal = bool(match.group("fq") or match.group("fq2"))
        return _QUARTERS[match.group("ordinal").lower()], fiscal, int(match.group("qyear"))
    return int(match.group("q")), bool(match.group("fq3")), int(match.group("qyear2"))


def _month_number(date: str) -> int | None:
    return _MONTH_NUMBERS.get(date[:3].lower())


def names_a_period(question: str) -> bool:
    """Whether a question names a date, a quarter, a fiscal year or a year ("Q3 2023", "in
    its 2024 annual report"): a fact about which document is meant, more than about a passage."""
    return bool(_PERIOD.search(question) or _NAMED_PERIOD.search(question)
                or _YEAR.search(question))


_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def _opening(elements: Sequence[Element]) -> list[Element]:
    """The elements of the document's first page (or its first few thousand characters)."""
    first_page = next((e.page for e in elements if e.text.strip()), None)
    opening: list[Element] = []
    size = 0
    for element in elements:
        if size >= OPENING_CHARS or (first_page is not None and element.page != first_page):
            break
        if element.text.strip():
            opening.append(element)
            size += len(element.text)
    return opening


def _is_title(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= 20 and any(c.isalpha() for c in text)


def _readable_name(path: str) -> str:
    """The file name without its extension, or "" when it says nothing (only digits)."""
    stem = PurePath(path).stem
    return stem if any(c.isalpha() for c in stem) else ""
