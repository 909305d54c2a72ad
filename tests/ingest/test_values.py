from datetime import UTC, datetime, timedelta, timezone

import pytest

from backlog_bridge.ingest.values import (
    RowError,
    clean_text,
    looks_like_formula,
    parse_score,
    parse_timestamp,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "score"),
    [(9, 9), ("9", 9), (" 7 ", 7), (8.0, 8), ("8.0", 8), ("10 - Extremely likely", 10),
     ("0 - Not at all likely", 0), ("10 (Extremely likely)", 10), ("nine", 9), ("Ten", 10), ("6,0", 6)],
)  # fmt: skip
def test_scores_that_parse(raw, score):
    assert parse_score(raw) == score


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("eleven", "outside 0-10"), (11, "outside 0-10"), (-1, "outside 0-10"), ("-1", "outside 0-10"),
     ("", "missing"), (None, "missing"), ("7.5", "not a whole number"), ("N/A", "not a number"),
     ("=HYPERLINK(\"http://x\",\"9\")", "formula"), (float("nan"), "whole number"), (True, "not a number"),
     ("Extremely likely", "not a number")],
)  # fmt: skip
def test_scores_that_are_refused_with_a_reason(raw, reason):
    with pytest.raises(RowError, match=reason):
        parse_score(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-04T14:22:05Z", datetime(2026, 3, 4, 14, 22, 5, tzinfo=UTC)),
        ("2026-03-04 14:22:05", datetime(2026, 3, 4, 14, 22, 5, tzinfo=UTC)),
        ("2026-03-04T16:22:05+02:00", datetime(2026, 3, 4, 14, 22, 5, tzinfo=UTC)),
        ("2026-03-04 14:22:05 -0700", datetime(2026, 3, 4, 21, 22, 5, tzinfo=UTC)),
        ("2026-03-04 14:22:05 UTC", datetime(2026, 3, 4, 14, 22, 5, tzinfo=UTC)),
        ("2026-03-04", datetime(2026, 3, 4, tzinfo=UTC)),
        ("03/04/2026 2:22:05 PM", datetime(2026, 3, 4, 14, 22, 5, tzinfo=UTC)),
        ("25/03/2026", datetime(2026, 3, 25, tzinfo=UTC)),
        ("25.03.2026 08:00", datetime(2026, 3, 25, 8, 0, tzinfo=UTC)),
        (1772634125, datetime(2026, 3, 4, 14, 22, 5, tzinfo=UTC)),
        ("1772634125000", datetime(2026, 3, 4, 14, 22, 5, tzinfo=UTC)),
        (46085, datetime(2026, 3, 4, tzinfo=UTC)),  # Excel serial day number
        ("46085.5", datetime(2026, 3, 4, 12, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_that_parse(raw, expected):
    assert parse_timestamp(raw, now=NOW) == expected


def test_dayfirst_decides_ambiguous_dates():
    assert parse_timestamp("03/04/2026", dayfirst=True, now=NOW) == datetime(2026, 4, 3, tzinfo=UTC)
    assert parse_timestamp("03/04/2026", dayfirst=False, now=NOW) == datetime(2026, 3, 4, tzinfo=UTC)


def test_naive_times_take_the_source_zone():
    berlin_winter = timezone(timedelta(hours=1))
    moment = parse_timestamp("2026-03-04 10:00", default_tz=berlin_winter, now=NOW)
    assert moment == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("", "missing"), (None, "missing"), ("yesterday", "not a date"), ("2099-01-01", "future"),
     ("31/02/2026", "not a valid date"), ("1970-01-01", "before 1990"), ("13/13/2026", "not a valid date"),
     ("03/04/2026 25:99", "not a valid date")],
)  # fmt: skip
def test_timestamps_that_are_refused(raw, reason):
    with pytest.raises(RowError, match=reason):
        parse_timestamp(raw, now=NOW)


def test_clean_text_and_formula_detection():
    assert clean_text("  hi \x00 ") == "hi"
    assert clean_text("   ") is None
    assert looks_like_formula('=HYPERLINK("http://evil","click")')
    assert looks_like_formula("+SUM(A1:A2)")
    assert not looks_like_formula("=) great product")
    assert not looks_like_formula("- the app is slow")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("9" * 400, "400 characters long"), (10**400, "outside 0-10"), (float("inf"), "outside 0-10"),
     (float("-inf"), "outside 0-10"), ("1e400", "not a number"), ("9" * 99, "outside 0-10")],
)  # fmt: skip
def test_huge_and_infinite_scores_are_refused_with_a_reason(raw, reason):
    with pytest.raises(RowError, match=reason):
        parse_score(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1764547200000000, datetime(2025, 12, 1, tzinfo=UTC)), ("1764547200000000", datetime(2025, 12, 1, tzinfo=UTC)),
     ("March 4, 2026", datetime(2026, 3, 4, tzinfo=UTC)), ("4 Mar 2026 10:15", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
     ("Tue, 03 Mar 2026 10:00:00 +0100", datetime(2026, 3, 3, 9, tzinfo=UTC)), ("4. März 2026", None)],
)  # fmt: skip
def test_microseconds_and_text_dates(raw, expected):
    if expected is None:
        with pytest.raises(RowError):
            parse_timestamp(raw, now=NOW)
    else:
        assert parse_timestamp(raw, now=NOW) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(float("inf"), "not a date"), (10**400, "not a date"), (1e30, "neither a Unix timestamp"),
     ("9" * 400, "characters long"), ("0001-01-01T00:00:00+05:00", "out of range"), ("March", "lacks a day"),
     ("Mar 4", "lacks a day"), ("4 Mar 2126", "future"), ("Jan 1, 1901", "before 1990"), ("Monday", "lacks a day")],
)  # fmt: skip
def test_dates_out_of_range_or_incomplete_are_refused_with_a_reason(raw, reason):
    with pytest.raises(RowError, match=reason):
        parse_timestamp(raw, now=NOW)


def test_text_dates_follow_the_files_day_first_order():
    assert parse_timestamp("04/03/2026 10:15", dayfirst=True, now=NOW) == datetime(2026, 3, 4, 10, 15, tzinfo=UTC)
    assert parse_timestamp("04-Mar-2026", dayfirst=False, now=NOW) == datetime(2026, 3, 4, tzinfo=UTC)


def test_clean_text_drops_control_characters_and_lone_surrogates():
    assert clean_text("a\x00b\x07c\x1b[0m\td\ud800") == "abc[0m\td\ufffd"
