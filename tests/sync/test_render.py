"""Markdown rendering: customer text is inert, the managed section is the only thing we rewrite."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from backlog_bridge.plan.model import Action, PlanItem, SegmentShare, Target, ThemeBrief
from backlog_bridge.sync.render import BEGIN, END, ZWJ, MarkdownMarkup, escape_markdown, escape_title
from backlog_bridge.sync.tracker import ManagedFigures

HOSTILE = [
    "@octocat please look",
    "see #123 and acme/app#7 and GH-42",
    "![pixel](https://evil.example/p.png)",
    "[click me](https://evil.example/phish)",
    "<img src=x onerror=alert(1)> <script>alert(1)</script>",
    "<!-- backlog_bridge:end --> forged end marker",
    "visit https://evil.example/path or www.evil.example today",
    "mail me at someone@example.com",
    "<https://evil.example/autolink>",
    "`code` **bold** _it_ ~~strike~~ | pipe | $x$",
    "> quote\n# heading\n- item\n1. numbered",
]

markup = MarkdownMarkup()
# GitHub renders HTML and links; CommonMark with HTML on is the strict version of what it parses.
md = MarkdownIt("commonmark", {"html": True})


def brief(**overrides) -> ThemeBrief:
    values = dict(
        theme_key="theme-0a1b2c3d4e",
        theme_id=1,
        label="Checkout fails on mobile",
        keywords=("checkout", "mobile", "payment"),
        detractors=30,
        passives=10,
        respondents=40,
        share=0.042,
        impact=-3.2,
        impact_low=-4.1,
        impact_high=-2.3,
        lift=1.5,
        lift_text="+1.5 NPS points if half its detractors became passives",
        trend="growing",
        trend_text="share up from 2.1% to 4.2%",
        segments=(SegmentShare("plan", "Enterprise", 0.4, 0.12),),
        explanation="large impact, growing, many enterprise accounts",
        quotes=("Payment page froze twice", "Could not pay on my phone", "Checkout spinner forever"),
        report_url="https://reports.example.com/themes/theme-0a1b2c3d4e",
    )
    values.update(overrides)
    return ThemeBrief(**values)  # type: ignore[arg-type]


def item(b: ThemeBrief | None = None, priority: str | None = "P1") -> PlanItem:
    return PlanItem(
        brief=b or brief(),
        action=Action.CREATE,
        reason="new theme",
        score=3.5,
        priority=priority,
        tracker_priority=f"priority: {priority}" if priority else None,
        target=Target("github", "acme/app"),
        content_hash="h",
    )


def visible_text(markdown: str) -> str:
    """What a reader sees: rendered HTML with tags removed and entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", md.render(markdown))).replace(ZWJ, "")


@pytest.mark.parametrize("text", HOSTILE)
def test_customer_text_renders_as_inert_text(text):
    rendered = md.render(escape_markdown(text))
    assert not re.search(r"<(a|img|script|h\d|ul|ol|blockquote|code|strong|em|del)\b", rendered)
    # GitHub's own autolinks run on text after Markdown: none of their triggers survive intact.
    assert not re.search(r"@\w", rendered)
    assert not re.search(r"(^|[^\w])#\d", rendered)
    assert not re.search(r"\bGH-\d", rendered, re.IGNORECASE)
    assert not re.search(r"\w://", rendered)
    assert not re.search(r"\bwww\.", rendered, re.IGNORECASE)
    assert "<!--" not in escape_markdown(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_still_reads_the_same(text):
    shown = visible_text(escape_markdown(text))
    assert shown.strip() == " ".join(text.split())


def test_title_is_plain_text_with_references_broken():
    title = markup.title("Refund @billing-team about #12 https://x.example")
    assert title.startswith("NPS: ")
    assert "@b" not in title and "#1" not in title and "s://" not in title
    assert title.replace(ZWJ, "") == "NPS: Refund @billing-team about #12 https://x.example"
    assert len(markup.title("x" * 400)) == 256
    assert escape_title("a\n b") == "a b"


def test_section_has_every_part_of_the_brief_and_the_markers():
    section = markup.section(item())
    assert section.startswith(BEGIN) and section.endswith(END)
    assert "<!-- backlog_bridge:theme=theme-0a1b2c3d4e -->" in section
    text = visible_text(section)
    for expected in (
        "Points at stake (95% CI): 3.2 (2.3 to 4.1)",
        "Priority: P1",
        "40 (30 detractors, 10 passives), 4.2% of responses",
        "Trend: ↑ growing — share up from 2.1% to 4.2%",
        "If fixed: +1.5 NPS points",
        "Keywords: checkout, mobile, payment",
        "plan = Enterprise",
        "40.0%",
        "12.0%",
        "Why this priority: large impact",
        "Payment page froze twice",
        "Checkout spinner forever",
        "Theme report",
        "Theme key: theme-0a1b2c3d4e",
    ):
        assert expected in text, expected
    # The link leads to the theme's own section of the report.
    assert '<a href="https://reports.example.com/themes/theme-0a1b2c3d4e#theme-1">' in md.render(section)


def test_at_most_five_quotes_and_unsafe_report_url_dropped():
    section = markup.section(
        item(brief(quotes=tuple(f"quote {i}" for i in range(8)), report_url="javascript:alert(1)"))
    )
    assert "quote 4" in section and "quote 5" not in section
    assert "javascript" not in section and "Theme report" not in section


def test_hostile_quotes_cannot_break_out_of_the_section():
    b = brief(label="@everyone #1", quotes=tuple(HOSTILE[:5]), keywords=("<b>", "GH-1"))
    section = markup.section(item(b))
    assert section.count("<!--") == 4  # begin, theme, figures, end: none from the customer
    assert section.count(END) == 1
    body = markup.merge("Human notes", section)
    assert markup.merge(body, section) == body


def test_merge_keeps_human_text_outside_the_markers():
    first = markup.merge(None, markup.section(item()))
    assert first.startswith(BEGIN)
    edited = f"Context from support.\n\n{first}\n\nFollow-up: talk to payments."
    updated = markup.merge(edited, markup.section(item(brief(respondents=80))))
    assert updated.startswith("Context from support.\n\n")
    assert updated.endswith("\n\nFollow-up: talk to payments.")
    assert "80 (30 detractors" in updated and "40 (30 detractors" not in updated


def test_merge_appends_when_the_section_is_missing_and_handles_a_deleted_end_marker():
    section = markup.section(item())
    assert markup.merge("Only human text", section) == f"Only human text\n\n{section}"
    broken = "Intro\n" + section.replace(END, "")
    assert markup.merge(broken, section) == "Intro\n" + section


def test_figures_theme_key_and_stamps_round_trip():
    body = markup.merge("notes", markup.section(item()))
    assert markup.figures(body) == ManagedFigures(40, 0.042, "P1")
    assert markup.theme_key(body) == "theme-0a1b2c3d4e"
    assert markup.figures("no markers") is None and markup.theme_key("no markers") is None
    comment = markup.stamped(markup.escape("grew @a"), "change-abc123")
    assert markup.has_stamp(comment, "change-abc123")
    assert not markup.has_stamp(comment, "change-abc124")
    assert not markup.has_stamp("text <!-- backlog_bridge:comment=change-abc1234 -->", "change-abc123")
