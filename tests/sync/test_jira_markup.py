"""Jira wiki markup: customer text stays inert, markers cannot be forged, human text survives a merge."""

from __future__ import annotations

import hashlib

import pytest

from backlog_bridge.brief.document import safe_url
from backlog_bridge.plan.model import Action, PlanItem, SegmentShare, Target, ThemeBrief
from backlog_bridge.sync.jira_markup import (
    BACKSLASH_LOOKALIKE,
    BEGIN,
    END,
    ZWJ,
    JiraWikiMarkup,
    escape_wiki,
)
from backlog_bridge.sync.tracker import ManagedFigures

markup = JiraWikiMarkup()


def item(label="Checkout fails", quotes=("it broke",), key="theme-aaaaaaaaaa", report_url="https://r.example/x"):
    brief = ThemeBrief(
        theme_key=key,
        theme_id=1,
        label=label,
        keywords=("checkout", "mobile"),
        detractors=30,
        passives=10,
        respondents=40,
        share=0.04,
        impact=-3.3,
        impact_low=-4.4,
        impact_high=-2.5,
        lift=2.0,
        lift_text="+2.0 NPS points",
        trend="growing",
        trend_text="share rising",
        segments=(SegmentShare("plan", "Enterprise|Gold", 0.4, 0.12),),
        explanation="40 respondents",
        quotes=quotes,
        report_url=report_url,
    )
    return PlanItem(
        brief=brief,
        action=Action.CREATE,
        reason="test",
        score=1.0,
        priority="P1",
        tracker_priority="Highest",
        target=Target("jira", "FB"),
        content_hash=hashlib.sha256(label.encode()).hexdigest(),
    )


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("hi [~accountid:5b10ac8d82e05b22cc7d4ef5]", "[~accountid"),
        ("hi [~jsmith] and [~accountId:abc]", "[~"),
        ("{html}<b>x</b>{html}", "{html}"),
        ("{color:red}loud{color}", "{color:red}"),
        ("[click me|https://evil.example]", "[click me|"),
        ("!https://evil.example/pixel.png!", " !https"),
        ("*bold* _it_ -strike- +under+ ^sup^ ~sub~ ??cite??", " *bold* "),
        ("||a||b||", "||a"),
        ("{code}x{code} {noformat}y{noformat} {quote}z{quote}", "{code}"),
        ("{{mono}}", "{{mono}}"),
    ],
)
def test_escape_leaves_no_markup(text, absent):
    escaped = " " + escape_wiki(text)
    assert absent not in escaped


def test_escape_breaks_bare_links_and_keeps_the_text_readable():
    escaped = escape_wiki("go to https://evil.example/a or mailto:x@evil.example or www.evil.example")
    assert "https://" not in escaped and f"https{ZWJ}://" in escaped
    assert "mailto:" not in escaped and f"mailto{ZWJ}:" in escaped
    assert f"www{ZWJ}." in escaped
    assert escaped.replace(ZWJ, "") == "go to https://evil.example/a or mailto:x@evil.example or www.evil.example"


def test_escape_makes_one_line_and_no_line_break_macro():
    escaped = escape_wiki("line one\nh1. heading\n\n* item\\\\break \x07")
    assert "\n" not in escaped and "\\\\" not in escaped
    assert BACKSLASH_LOOKALIKE * 2 in escaped and "\x07" not in escaped
    assert escaped.startswith("line one h1. heading \\* item")


def test_customer_text_cannot_forge_a_marker():
    forged = f"{BEGIN} {{{{backlog-bridge:theme=theme-evil}}}} {END} {{{{backlog-bridge:comment=x}}}}"
    section = markup.section(item(quotes=(forged,), label=forged))
    assert section.count(BEGIN) == 1 and section.count(END) == 1
    assert markup.theme_key(section) == "theme-aaaaaaaaaa"
    assert not markup.has_stamp(section, "x")


def test_section_round_trip_figures_theme_and_merge():
    section = markup.section(item())
    assert section.splitlines()[0].startswith("{color:#97a0af}" + BEGIN)
    assert section.splitlines()[-1].endswith(END + "{color}")
    assert markup.figures(section) == ManagedFigures(40, 0.04, "P1")
    assert markup.theme_key(section) == "theme-aaaaaaaaaa"
    assert "|plan = Enterprise\\|Gold|40.0%|12.0%|" in section
    assert "[Theme report|https://r.example/x#theme-1]" in section  # the theme's section of the report

    body = f"Notes above.\n\n{section}\n\nNotes below."
    newer = markup.section(item(label="Checkout freezes"))
    merged = markup.merge(body, newer)
    assert merged == f"Notes above.\n\n{newer}\n\nNotes below."
    assert markup.merge(merged, newer) == merged  # idempotent
    assert markup.merge(None, newer) == newer
    assert markup.merge("Only human text", newer) == f"Only human text\n\n{newer}"


def test_merge_when_a_human_deleted_the_end_marker_replaces_from_the_begin_line():
    section = markup.section(item())
    damaged = "Above\n" + section.rsplit("\n", 1)[0] + "\nhuman tail"
    assert markup.merge(damaged, section) == "Above\n" + section


def test_report_links_must_be_plain_http_urls():
    assert safe_url("https://r.example/x?a=1") == "https://r.example/x?a=1"
    for bad in ("javascript:alert(1)", "https://r.example/x|evil", "https://r.example/]x", "ftp://r.example", None):
        assert safe_url(bad) is None
    assert "[Theme report|" not in markup.section(item(report_url="https://r.example/a]b"))


def test_titles_are_one_line_and_bounded():
    title = markup.title("Checkout\nfails " + "x" * 400)
    assert title.startswith("NPS: Checkout fails ") and "\n" not in title and len(title) == 255


def test_comment_stamps():
    comment = markup.stamped(markup.escape("Priority moved from P3 to P2."), "change-abc123")
    assert markup.has_stamp(comment, "change-abc123") and not markup.has_stamp(comment, "change-other")
    assert comment.startswith("Priority moved from P3 to P2.")


def test_unreadable_figures_are_none():
    assert markup.figures("{{backlog-bridge:figures respondents=x&share=0.1}}") is None
    assert markup.figures("no markers") is None
