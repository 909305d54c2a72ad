"""Crontab lines as APScheduler triggers, read as cron reads them.

Apart from the worker so that the settings can check `[schedule]` when they load, without the
settings and the worker importing each other.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A trigger for a 5-field crontab line in an IANA time zone (DST aware).

    Raises:
        ValueError: the expression or the time zone is not valid (the message says which).
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {timezone!r} (use an IANA name such as 'Europe/Berlin')") from error
    fields = expression.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"expected 5 fields, got {len(fields)}")
        if fields[2] != "*" and fields[4] != "*":
            # cron runs when either matches, APScheduler only when both do: refuse rather than guess
            raise ValueError("set the day of month or the weekday, not both")
        fields[4] = _cron_weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=zone)
    except ValueError as error:
        raise ValueError(f"not a 5-field crontab line {expression!r}: {error}") from error


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _cron_weekdays(field: str) -> str:
    """Weekday numbers as cron means them (0 and 7 = Sunday), spelled as names.

    APScheduler 3 reads numbers with 0 = Monday, so "0 6 * * 1" would run on Tuesdays; names mean
    the same to both. Names and "*" pass through.
    """
    names: list[str] = []
    for item in field.split(","):
        base, _, step = item.partition("/")
        if not re.fullmatch(r"\*|\d+(-\d+)?", base) or (base == "*" and not step):
            names.append(item)
            continue
        first, _, last = ("0-6" if base == "*" else base).partition("-")
        low, high = int(first), int(last or (6 if step else first))
        if not 0 <= low <= high <= 7:
            raise ValueError(f"weekday {item!r}: use 0-7 (0 and 7 = Sunday) or mon-sun")
        for day in range(low, high + 1, int(step or 1)):
            if _CRON_DAYS[day] not in names:
                names.append(_CRON_DAYS[day])
    return ",".join(names)
