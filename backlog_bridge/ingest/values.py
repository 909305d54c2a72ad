"""Parse one raw cell into a canonical value, or say plainly why it cannot be (pure).

Each parser is total: it returns a value or raises `RowError` with a reason a user can act on (the
importer quarantines the row), whatever the cell holds: 400-digit numbers, infinities, control
characters, megabytes of text.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from dateutil import parser as dateutil_parser

EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
"""Day 0 of Excel's 1900 date system (the off-by-two of the 1900 leap-year bug is built in)."""

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*(?:[-–—:(/]|$|\s+[A-Za-z])")
_FORMULA = re.compile(r"^\s*[=+\-@]\s*[A-Za-z_]+\s*\(")
_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})(?:[ T,]+(.+))?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_HAS_LETTERS = re.compile(r"[A-Za-z]{3,}")

MAX_SCORE_CHARS = 100
"""A score cell longer than this is not a score (and is never handed to float())."""
MAX_DATE_CHARS = 100
"""A date cell longer than this is not a date (dateutil's parser is not meant for essays)."""
_MAX_EPOCH = 1e11
"""Unix seconds beyond this (year 5138) are not a survey date; larger numbers are ms or µs."""


class RowError(ValueError):
    """A cell that cannot become a canonical value; the message is the quarantine reason."""


def looks_like_formula(text: str) -> bool:
    """True for spreadsheet formula text such as =HYPERLINK(...), a CSV-injection vector."""
    return bool(_FORMULA.match(text))


def parse_score(value: Any) -> int:
    """A 0-10 score from a number, numeric text, a label like "10 - Extremely likely" or a word.

    >>> parse_score("10 - Extremely likely"), parse_score(" 7 "), parse_score(8.0), parse_score("nine")
    (10, 7, 8, 9)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError("score is missing")
    if isinstance(value, bool):
        raise RowError(f"score {value!r} is not a number from 0 to 10")
    if isinstance(value, int):
        if not 0 <= value <= 10:
            raise RowError(f"score {_shown(value)} is outside 0-10")
        return value
    if isinstance(value, float):
        return _score_from_number(value, value)
    text = as_text(value).strip()
    if len(text) > MAX_SCORE_CHARS:
        raise RowError(f"score {_clip(text)!r} is {len(text):,} characters long, not a number from 0 to 10")
    if looks_like_formula(text):
        raise RowError(f"score {_clip(text)!r} is spreadsheet formula text, not a number from 0 to 10")
    word = _NUMBER_WORDS.get(text.lower())
    if word is not None:
        return _score_from_number(float(word), text)
    match = _LEADING_NUMBER.match(text)
    if match is None:
        raise RowError(f"score {_clip(text)!r} is not a number from 0 to 10")
    return _score_from_number(float(match.group(1).replace(",", ".")), text)


def _score_from_number(number: float, original: Any) -> int:
    shown = _clip(original if isinstance(original, str) else repr(original))
    if math.isnan(number):
        raise RowError(f"score {shown!r} is not a whole number from 0 to 10")
    if not 0 <= number <= 10:  # also infinities (JSON 1e400), before int() could overflow
        raise RowError(f"score {shown!r} is outside 0-10")
    if number != int(number):
        raise RowError(f"score {shown!r} is not a whole number from 0 to 10")
    return int(number)


def parse_timestamp(
    value: Any, *, dayfirst: bool | None = None, default_tz: tzinfo = UTC, now: datetime | None = None
) -> datetime:
    """A timezone-aware UTC datetime from ISO 8601, US/European dates, Unix seconds or Excel serials.

    Args:
        value: the raw cell.
        dayfirst: order of ambiguous dd/mm vs mm/dd dates; None reads mm/dd unless the first part is > 12.
        default_tz: zone of timestamps written without an offset.
        now: the present, for refusing dates in the future (a sign of a misread column).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError("date is missing")
    if isinstance(value, bool):
        raise RowError(f"date {value!r} is not a date")
    if isinstance(value, int | float):
        moment = _from_number(_as_float(value))
    else:
        text = as_text(value).strip()
        if len(text) > MAX_DATE_CHARS:
            raise RowError(f"date {_clip(text)!r} is {len(text):,} characters long, not a date")
        moment = _from_text(text, dayfirst, default_tz)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 or 9999 shifted out of range by its offset
        raise RowError(f"date {_shown(value)!r} is out of range") from None
    present = now or datetime.now(UTC)
    if moment > present + timedelta(days=1):
        raise RowError(f"date {_shown(value)!r} is in the future")
    if moment.year < 1990:
        raise RowError(f"date {_shown(value)!r} is before 1990, probably a misread column")
    return moment


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int with hundreds of digits
        return math.inf


def _from_number(number: float) -> datetime:
    shown = _clip(f"{number:.15g}")
    if not math.isfinite(number) or number < 0:
        raise RowError(f"date {shown} is not a date")
    if 20_000 <= number < 100_000:  # Excel serial day numbers (1954-2173)
        return EXCEL_EPOCH + timedelta(days=number)
    if number > 1e15:  # Unix microseconds
        number /= 1_000_000.0
    elif number > 1e12:  # Unix milliseconds
        number /= 1000.0
    if 1e8 < number < _MAX_EPOCH:  # Unix seconds
        return datetime.fromtimestamp(number, UTC)
    raise RowError(f"date {shown} is neither a Unix timestamp nor an Excel date number")


def _from_text(text: str, dayfirst: bool | None, default_tz: tzinfo) -> datetime:
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _from_number(_as_float(float(text)))
    iso = re.sub(r"\s*(UTC|GMT)$", "+00:00", text, flags=re.IGNORECASE)
    iso = iso.replace("Z", "+00:00").replace("z", "+00:00")
    if re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? [+-]\d{4}$", iso):  # Delighted/Rails style
        iso = iso[:-5].rstrip() + iso[-5:-2] + ":" + iso[-2:]
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    match = _SLASHED.match(text)
    if match is None:
        return _from_words(text, dayfirst)
    first, second, year_text, clock = match.groups()
    a, b, year = int(first), int(second), int(year_text)
    if year < 100:
        year += 2000
    if dayfirst is None:
        dayfirst = a > 12
    day, month = (a, b) if dayfirst else (b, a)
    hour, minute, second_ = _parse_clock(clock, text) if clock else (0, 0, 0)
    try:
        return datetime(year, month, day, hour, minute, second_)
    except ValueError as error:
        raise RowError(f"date {_clip(text)!r} is not a valid date ({error})") from None


def _from_words(text: str, dayfirst: bool | None) -> datetime:
    """Dates with a month name ("March 4, 2026", "4 Mar 2026 10:15"), read by dateutil.

    Only text with a word in it gets here, and dateutil must find a day, a month and a year: it
    would otherwise fill missing parts from today ("10" would become the 10th of this month).
    """
    refused = RowError(f"date {_clip(text)!r} is not a date this tool can read (use ISO 8601: 2026-03-31)")
    if not _HAS_LETTERS.search(text):
        raise refused
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown zone names: the source's zone applies
            first = dateutil_parser.parse(text, dayfirst=bool(dayfirst), default=datetime(2000, 1, 1))
            second = dateutil_parser.parse(text, dayfirst=bool(dayfirst), default=datetime(2001, 2, 2))
    except (ValueError, OverflowError, TypeError, LookupError):
        raise refused from None
    if first.date() != second.date():
        raise RowError(f"date {_clip(text)!r} lacks a day, month or year")
    return first


def _parse_clock(clock: str, whole: str) -> tuple[int, int, int]:
    match = _CLOCK.match(clock.strip())
    if match is None:
        raise RowError(f"date {_clip(whole)!r} has an unreadable time of day")
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    meridiem = (match.group(4) or "").lower()
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return hour, minute, second


def clean_text(value: Any) -> str | None:
    """Stripped text without control characters (NUL and the like; no database should see them), or None."""
    if value is None:
        return None
    text = strip_controls(as_text(value)).strip()
    return text or None


def as_text(value: Any) -> str:
    """str(value), total: Python refuses str() of ints over 4,300 digits, even inside a list."""
    try:
        return str(value)
    except ValueError:
        raise RowError(f"value of type {type(value).__name__} holds a number too long to read") from None


def strip_controls(text: str) -> str:
    """Text a database takes: no C0 controls but tab and line breaks (PostgreSQL refuses NUL), no lone surrogates."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))


def has_controls(text: str) -> bool:
    """True when `strip_controls` would change the text."""
    return _CONTROL.search(text) is not None


def storable(text: str) -> str:
    r"""Text kept as written but for what a database refuses: NUL written out as \x00, lone surrogates as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", "\\x00"))


def show_controls(text: str) -> str:
    r"""Text with each control character written out as \xNN, for keeping a raw row where NUL cannot go."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text))


def _shown(value: Any) -> str:
    """A cell for a message: clipped, and never str() of an int too long for it (Python refuses > 4300 digits)."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"<a number of about {int(value.bit_length() * 0.30103)} digits>"
    return _clip(str(value))


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
