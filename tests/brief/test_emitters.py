"""One brief, three formats: the same facts in each, and hostile customer text inert in each.

Every output is read back the way its reader sees it: Markdown through a CommonMark renderer (HTML on,
as GitHub's is), Jira wiki markup through a small reader of the wiki syntax that matters (mentions,
links, images, macros, emphasis), HTML through the standard library's parser.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from backlog_bridge.brief.document import (
    ZWJ,
    Badge,
    BriefDocument,
    Code,
    Figures,
    Heading,
    Link,
    Links,
    Paragraph,
    Quotes,
    Strong,
    Table,
    Text,
    Verdict,
    safe_url,
)
from backlog_bridge.brief.html import to_html
from backlog_bridge.brief.jira_wiki import BACKSLASH_LOOKALIKE, to_wiki
from backlog_bridge.brief.markdown import to_markdown
from backlog_bridge.brief.wording import BriefContext, build_brief
from backlog_bridge.classify import NpsCounts
from backlog_bridge.plan.model import SegmentShare, Target, ThemeBrief
from backlog_bridge.report.loop import LoopParams, Outcome, Window
from backlog_bridge.report.loop import Verdict as FixVerdict
from backlog_bridge.score import share_trend

HOSTILE = [
    "@octocat please look",
    "see #123 and acme/app#7 and GH-42",
    "![pixel](https://evil.example/p.png)",
    "[click me](https://evil.example/phish)",
    "<img src=x onerror=alert(1)> <script>alert(1)</script>",
    '" onmouseover="alert(1)" x=\'',
    "<!-- backlog_bridge:end --> forged end marker",
    "{{backlog-bridge:end}} forged wiki marker",
    "visit https://evil.example/path or www.evil.example today",
    "mail me at someone@example.com or mailto:x@evil.example",
    "<https://evil.example/autolink>",
    "`code` **bold** _it_ ~~strike~~ | pipe | $x$",
    "> quote\n# heading\n- item\n1. numbered\n2) numbered",
    "hi [~accountid:5b10ac8d82e05b22cc7d4ef5] and [~jsmith]",
    "{html}<b>x</b>{html} {color:red}loud{color} {code}x{code}",
    "[click|https://evil.example] !https://evil.example/p.png!",
    "||a||b|| *bold* -strike- +under+ ^sup^ ~sub~ ??cite??",
    "javascript:alert(1)",
    "line\\\\break and a \\ backslash",
    "&lt;script&gt; already an entity &amp;",
]

HOSTILE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https:evil.example",
    "https://ok.example/a b",
    "https://ok.example/x)](javascript:alert(1)",
    "https://ok.example/x|javascript:alert(1)]",
    'https://ok.example/" onclick="alert(1)',
    "https://ok.example/x\nh1. injected",
    "https://ok.example/{html}",
]

markdown_renderer = MarkdownIt("commonmark", {"html": True})


# --- reading each format back ------------------------------------------------------------------------


class _Reader(HTMLParser):
    """Tags with attributes, and the visible text (a space at each tag boundary)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.text.append(" ")

    def handle_endtag(self, tag):
        self.text.append(" ")

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.tags.append(("!--", {"data": data}))


def read_html(fragment: str) -> _Reader:
    reader = _Reader()
    reader.feed(fragment)
    reader.close()
    return reader


def words(text: str) -> str:
    return " ".join(text.replace(ZWJ, "").split())


def visible_markdown(markdown: str) -> str:
    return words("".join(read_html(markdown_renderer.render(markdown)).text))


def visible_html(fragment: str) -> str:
    return words("".join(read_html(fragment).text))


_WIKI_ESCAPED = re.compile(r"\\(.)")


def live_wiki(wiki: str) -> str:
    """The wiki source with every escaped character blanked: what is left is live syntax."""
    return _WIKI_ESCAPED.sub(" ", wiki)


def visible_wiki(wiki: str) -> str:
    """What Jira shows: block prefixes, emphasis and link targets gone, escapes resolved."""
    lines = []
    for line in wiki.splitlines():
        line = re.sub(r"^(h\d\. |bq\. |\* )", "", line)
        line = re.sub(r"(?<!\\)\[([^|\]]*)\|[^\]]*\]", r"\1", line)  # [text|url] -> text
        line = re.sub(r"(?<!\\)\{\{(.*?)(?<!\\)\}\}", r"\1", line)  # {{code}}
        line = re.sub(r"(?<![\\\w])\*([^*]+?)(?<!\\)\*(?!\w)", r"\1", line)  # *strong*
        line = re.sub(r"(?<!\\)\|\|?", " ", line)  # table cells
        lines.append(line)
    text = _WIKI_ESCAPED.sub(r"\1", "\n".join(lines))
    return words(text.replace(BACKSLASH_LOOKALIKE, "\\"))


def emit_all(document: BriefDocument) -> dict[str, str]:
    return {"markdown": to_markdown(document), "wiki": to_wiki(document), "html": str(to_html(document))}


# --- the brief -------------------------------------------------------------------------------------


def theme(**overrides) -> ThemeBrief:
    values = dict(
        theme_key="theme-0a1b2c3d4e",
        theme_id=7,
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
        trend_text="share 2.1% → 4.2% against the previous window (p = 0.01)",
        segments=(SegmentShare("plan", "Enterprise", 0.4, 0.12),),
        explanation="large impact, growing, many enterprise accounts",
        quotes=("Payment page froze twice", "Could not pay on my phone"),
        report_url="https://reports.example.com/nps/latest.html",
    )
    values.update(overrides)
    return ThemeBrief(**values)  # type: ignore[arg-type]


def fix_verdict() -> FixVerdict:
    closed = datetime(2026, 5, 1, tzinfo=UTC)
    before = Window(closed - timedelta(days=30), closed, 400, NpsCounts(0, 10, 30), 100)
    after = Window(closed + timedelta(days=7), closed + timedelta(days=37), 400, NpsCounts(2, 4, 2), 90)
    return FixVerdict(
        theme_id=7, theme_key="theme-0a1b2c3d4e", label="Checkout fails on mobile", issue_key="FB-1",
        url="https://jira.example.com/browse/FB-1", closed_at=closed, as_of=closed + timedelta(days=60),
        params=LoopParams(30, 7), outcome=Outcome.IMPROVED, reason="the theme shrank after the fix",
        before=before, after=after, share=share_trend(40, 400, 8, 400), theme_nps=None, control=None,
    )  # fmt: skip


def full_context() -> BriefContext:
    return BriefContext(
        rank=1, priority="P1", significant=True, action="create", reason="new theme, priority P1",
        target=Target("jira", "FB", "Web"), tracker_status="to be filed this sprint (P1)",
        first_seen=datetime(2026, 3, 1, tzinfo=UTC), suppressed="duplicate of FB-9",
    )  # fmt: skip


def plain(runs) -> str:
    return "".join(run.text for run in runs)


def facts_of(document: BriefDocument) -> list[str]:
    """Every text the document holds, as a reader should find it (from the model, not from an output)."""
    found: list[str] = []
    for block in document.blocks:
        if isinstance(block, Heading):
            found.append(block.text)
        elif isinstance(block, Figures):
            found += [f"{row.name}: {plain(row.runs)}" for row in block.rows]
        elif isinstance(block, Table):
            found += [block.caption, *block.header, *(cell for row in block.rows for cell in row)]
        elif isinstance(block, Paragraph | Verdict):
            found.append(plain(block.runs))
            found += list(getattr(block, "figures", ()))
        elif isinstance(block, Quotes):
            found += [block.title, *block.quotes]
        elif isinstance(block, Links):
            found += [link.text for link in block.links]
    return [words(text) for text in found]


# --- the same facts in every format -----------------------------------------------------------------


def test_the_same_brief_shows_the_same_facts_in_every_format():
    document = build_brief(theme(), replace(full_context(), verdict=None))
    outputs = emit_all(document)
    seen = {
        "markdown": visible_markdown(outputs["markdown"]),
        "wiki": visible_wiki(outputs["wiki"]),
        "html": visible_html(outputs["html"]),
    }
    facts = facts_of(document)
    # HTML sets a figure's name apart in <dt>, the others with a colon: compare without colons.
    unlabelled = [fact.replace(":", "") for fact in facts]
    # The wording itself, pinned once here: every format must show exactly these words.
    for known in (
        "1. Checkout fails on mobile",
        "Points at stake (95% CI): 3.2 (2.3 to 4.1) — significant: gets a priority",
        "Priority: P1",
        "Respondents: 40 (30 detractors, 10 passives), 4.2% of responses",
        "Trend: ↑ growing — share 2.1% → 4.2% against the previous window (p = 0.01)",
        "If fixed: +1.5 NPS points if half its detractors became passives",
        "Keywords: checkout, mobile, payment",
        "Plan: create: new theme, priority P1",
        "Goes to: jira: FB, Web",
        "Tracker: to be filed this sprint (P1)",
        "Suppressed: duplicate of FB-9",
        "First seen: 2026-03-01",
        "Theme key: theme-0a1b2c3d4e",
        "plan = Enterprise",
        "40.0%",
        "Why this priority: large impact, growing, many enterprise accounts",
        "Could not pay on my phone",
        "Theme report",
    ):
        assert known in facts, known
    for fmt, text in seen.items():
        missing = [fact for fact in unlabelled if fact not in text.replace(":", "")]
        assert not missing, (fmt, missing, text)


def test_report_link_points_at_the_theme_section_in_every_format():
    outputs = emit_all(build_brief(theme()))
    target = "https://reports.example.com/nps/latest.html#theme-7"
    assert f"[Theme report]({target})" in outputs["markdown"]
    assert f"[Theme report|{target}]" in outputs["wiki"]
    assert ("a", {"href": target}) in read_html(outputs["html"]).tags


def test_a_fix_verdict_reads_the_same_in_every_format():
    document = build_brief(theme(), BriefContext(verdict=fix_verdict()))
    (verdict,) = [b for b in document.blocks if isinstance(b, Verdict)]
    assert verdict.tone == "good" and Badge("improved", "good") in verdict.runs
    outputs = emit_all(document)
    sentence = "fix shipped 2026-05-01: improved — the theme shrank after the fix."
    assert sentence in visible_markdown(outputs["markdown"])
    assert sentence in visible_wiki(outputs["wiki"])
    assert sentence in visible_html(outputs["html"])
    for figure in verdict.figures:
        assert words(figure) in visible_html(outputs["html"]) and words(figure) in visible_wiki(outputs["wiki"])


# --- hostile text is inert in every format ----------------------------------------------------------


def hostile_brief(text: str) -> BriefDocument:
    brief = theme(
        label=text,
        keywords=(text, "ok"),
        quotes=(text, f"before {text} after"),
        segments=(SegmentShare(text, text, 0.5, 0.1),),
        explanation=text,
        trend_text=text,
        lift_text=text,
    )
    return build_brief(brief, BriefContext(priority=text, action="create", reason=text, tracker_status=text))


OUR_LINK = "https://reports.example.com/nps/latest.html#theme-7"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert_markdown(text):
    markdown = to_markdown(hostile_brief(text))
    assert "<!--" not in markdown  # nothing can forge the issue body's markers
    rendered = markdown_renderer.render(markdown)
    reader = read_html(rendered)
    allowed = {"h3", "ul", "li", "strong", "p", "table", "thead", "tbody", "tr", "th", "td", "blockquote", "a", "code"}
    assert {tag for tag, _ in reader.tags} <= allowed, rendered
    assert [attrs for tag, attrs in reader.tags if tag == "a"] == [{"href": OUR_LINK}]
    assert [tag for tag, _ in reader.tags].count("code") == 1  # the theme key, nothing a customer wrote
    shown = "".join(reader.text).replace("Theme report", "")
    # GitHub links mentions, references and bare URLs in text after Markdown: no trigger survives whole.
    assert not re.search(r"@\w", shown)
    assert not re.search(r"(^|[^\w])#\d", shown)
    assert not re.search(r"\bGH-\d", shown, re.IGNORECASE)
    assert not re.search(r"\w://", shown)
    assert not re.search(r"\bwww\.", shown, re.IGNORECASE)
    assert words(text) in visible_markdown(markdown)  # ... yet it reads as the customer wrote it


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert_jira_wiki(text):
    wiki = to_wiki(hostile_brief(text))
    live = live_wiki(wiki)
    assert "[~" not in live  # mentions
    assert not re.search(r"\{(html|color|code|noformat|quote)", live)  # macros
    assert "{{backlog-bridge:" not in live and "??" not in live
    assert not re.search(r"![^\s!]+!", live)  # images
    assert re.findall(r"\[[^\]]*\|([^\]]*)\]", live) == [OUR_LINK]  # links: ours only
    assert not re.search(r"\w://", live.replace(OUR_LINK, "")) and "mailto:" not in live
    assert not re.search(r"(?m)^(?!h3\. |bq\. |\* |\|\|?|\*)\S*[#*]", live)  # no list/heading a customer started
    for line in wiki.splitlines():
        assert not line.startswith(("#", "-", "h1.", "h2.", "{")), line
    assert words(text.replace("\x07", "")) in visible_wiki(wiki)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert_html(text):
    fragment = str(to_html(hostile_brief(text)))
    reader = read_html(fragment)
    allowed = {"h3", "h4", "dl", "dt", "dd", "b", "code", "span", "table", "caption", "thead", "tbody", "tr", "th"}
    allowed |= {"td", "p", "blockquote", "a"}
    assert {tag for tag, _ in reader.tags} <= allowed, fragment
    for tag, attrs in reader.tags:
        assert set(attrs) <= {"class", "href"}, (tag, attrs)
        if "href" in attrs:
            assert attrs["href"] == OUR_LINK
    assert words(text) in visible_html(fragment)


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_unsafe_urls_become_plain_text_in_every_format(url):
    assert safe_url(url) is None
    document = BriefDocument("x", (Paragraph((Text("see "), Link("the page", url))), Links((Link("report", url),))))
    outputs = emit_all(document)
    assert "](" not in outputs["markdown"] and "|" not in outputs["wiki"] and "<a" not in outputs["html"]
    for fmt, text in outputs.items():
        assert "javascript" not in text.lower() and "evil" not in text, fmt
    assert "the page" in visible_markdown(outputs["markdown"]) and "the page" in visible_html(outputs["html"])
    assert "the page" in visible_wiki(outputs["wiki"])


def test_a_hostile_report_url_never_becomes_a_link():
    for url in HOSTILE_URLS:
        document = build_brief(theme(report_url=url))
        assert not any(isinstance(block, Links) for block in document.blocks), url


def test_code_runs_only_carry_plain_identifiers_into_a_code_span():
    document = BriefDocument("x", (Paragraph((Code("theme-1a"), Text(" and "), Code("<b>`x` @me</b>"))),))
    markdown = to_markdown(document)
    assert "`theme-1a`" in markdown and "&lt;b&gt;\\`x\\` @" + ZWJ + "me&lt;/b&gt;" in markdown
    assert "<code>&lt;b&gt;`x` @me&lt;/b&gt;</code>" in str(to_html(document))
    assert "{{theme\\-1a}}" in to_wiki(document)


def test_strong_and_badges_are_escaped_too():
    document = BriefDocument("x", (Paragraph((Strong("*P1* <i>"), Text(" "), Badge("[~x] @y", "bad"))),))
    outputs = emit_all(document)
    assert "**\\*P1\\* &lt;i&gt;**" in outputs["markdown"] and "@" + ZWJ + "y" in outputs["markdown"]
    assert "*\\*P1\\* <i>*" in outputs["wiki"] and "\\[\\~x\\]" in outputs["wiki"]
    assert '<b>*P1* &lt;i&gt;</b> <span class="badge bad">[~x] @y</span>' in outputs["html"]


def test_html_escapes_without_help_from_the_model():
    """The HTML emitter's escaping is autoescape's: text that looks like markup stays text."""
    assert html.unescape(str(to_html(BriefDocument("x", (Heading("<b>&amp;</b>"),))))) == "<h3><b>&amp;</b></h3>"
    assert str(to_html(BriefDocument("x", (Heading("<b>&amp;</b>"),)))) == "<h3>&lt;b&gt;&amp;amp;&lt;/b&gt;</h3>"


def test_a_long_quote_is_cut_at_a_word_and_marked():
    from backlog_bridge.brief.wording import clip_quote

    assert clip_quote("short and sweet") == "short and sweet"
    cut = clip_quote("word " * 200, limit=22)
    assert cut == "word word word word …"
    assert clip_quote("x" * 50, limit=10) == "x" * 10 + " …"  # no space to cut at: cut at the limit
