"""Parse one raw cell into a canonical value, or say plainly why it cannot be (pure).

Each parser raises `RowError` with a reason a user can act on; the importer quarantines the row.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

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
    if isinstance(value, int | float):
        return _score_from_number(float(value), value)
    text = str(value).strip()
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
    if math.isnan(number) or number != int(number):
        raise RowError(f"score {original!r} is not a whole number from 0 to 10")
    if not 0 <= number <= 10:
        raise RowError(f"score {original!r} is outside 0-10")
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
        moment = _from_number(float(value))
    else:
        text = str(value).strip()
        moment = _from_text(text, dayfirst, default_tz)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)
    moment = moment.astimezone(UTC)
    present = now or datetime.now(UTC)
    if moment > present + timedelta(days=1):
        raise RowError(f"date {_clip(str(value))!r} is in the future")
    if moment.year < 1990:
        raise RowError(f"date {_clip(str(value))!r} is before 1990, probably a misread column")
    return moment


def _from_number(number: float) -> datetime:
    if math.isnan(number) or number < 0:
        raise RowError(f"date {number!r} is not a date")
    if 20_000 <= number < 100_000:  # Excel serial day numbers (1954-2173)
        return EXCEL_EPOCH + timedelta(days=number)
    if number > 1e12:  # Unix milliseconds
        number /= 1000.0
    if number > 1e8:  # Unix seconds
        return datetime.fromtimestamp(number, UTC)
    raise RowError(f"date {number!r} is neither a Unix timestamp nor an Excel date number")


def _from_text(text: str, dayfirst: bool | None, default_tz: tzinfo) -> datetime:
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _from_number(float(text))
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
        raise RowError(f"date {_clip(text)!r} is not a date this tool can read (use ISO 8601: 2026-03-31)")
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
    """Stripped text, or None for an empty cell."""
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
