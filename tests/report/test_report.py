"""The theme report on a hand-made store with known answers: JSON content, Markdown, self-contained HTML."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import ClassVar

import pytest
from sqlmodel import Session, col, select

from backlog_bridge import pipeline
from backlog_bridge.classify import NpsCounts, estimate
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.plan.redact import Redactor
from backlog_bridge.plan.rules import Rules
from backlog_bridge.report.data import Report, gather_report
from backlog_bridge.report.loop import LoopParams
from backlog_bridge.report.render import md, publish, render_html, render_json, render_markdown, report_dict
from backlog_bridge.settings import Settings
from backlog_bridge.store.tables import Response, Theme, ThemeEvent, ThemeMember, TrackerLink

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)  # theme window: 2026-07-03 to 2026-09-30
WINDOW_START = AS_OF - timedelta(days=90)
CLOSED = datetime(2026, 5, 1, tzinfo=UTC)
GENERATED = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & pricing'
PII_QUOTE = "crashes daily, mail me at jo.doe@example.com"
LIVE_QUOTE = "@everyone the app crashes, see #123, GH-7 and https://evil.example/x or www.evil.example"


def spread(start: datetime, days: int, rows: list[tuple]) -> list[tuple]:
    """Spread (score, theme, plan) rows evenly over `days` days, in a fixed shuffled order."""
    random.Random(7).shuffle(rows)
    step = timedelta(days=days) / len(rows)
    return [(start + step * (i + 0.5), *row) for i, row in enumerate(rows)]


def current_window() -> list[tuple]:
    # 400 responses: 200 promoters, 100 passives, 100 detractors -> NPS +25.
    # "app crashes": 40 detractors + 10 passives, all Enterprise; HOSTILE: 5 + 5.
    rows = [(3, "A", "Enterprise")] * 40 + [(7, "A", "Enterprise")] * 10
    rows += [(2, "B", "Team")] * 5 + [(8, "B", "Team")] * 5
    rest = [(5, None)] * 55 + [(7, None)] * 85 + [(10, None)] * 200
    rows += [(score, theme, "Enterprise" if i % 2 else "Team") for i, (score, theme) in enumerate(rest)]
    return spread(WINDOW_START, 90, rows)


def previous_window() -> list[tuple]:
    # 2026-04-05..04-30 (before the dashboard fix) and 2026-05-08..06-06 (after it): 200 responses each.
    # "slow dashboard" (C): 30 then 3; "app crashes": 10 in each half (20 in the window before the current one).
    before = [(3, "C", "Team")] * 30 + [(3, "A", "Team")] * 10 + [(9, None, "Team")] * 160
    after = [(3, "C", "Team")] * 3 + [(3, "A", "Team")] * 10 + [(9, None, "Team")] * 187
    return spread(datetime(2026, 4, 5, tzinfo=UTC), 25, before) + spread(datetime(2026, 5, 8, tzinfo=UTC), 29, after)


@pytest.fixture
def store(engine):
    with Session(engine) as session:
        themes = {
            "A": Theme(key="theme-aaaa", label="app crashes", keywords=["app", "crash"], model="m", centroid=b"",
                       quotes=[{"response_id": 1, "text": PII_QUOTE}, {"response_id": 2, "text": "the app crashes"},
                               {"response_id": 4, "text": LIVE_QUOTE}]),
            "B": Theme(key="theme-bbbb", label=HOSTILE, keywords=["price"], model="m", centroid=b"",
                       quotes=[{"response_id": 3, "text": "<b>too</b> expensive ]]> -->"}]),
            "C": Theme(key="theme-cccc", label="slow dashboard", model="m", centroid=b"", status="retired"),
        }  # fmt: skip
        session.add_all(themes.values())
        session.flush()
        rows = previous_window() + current_window()
        responses = [
            Response(source="s", external_id=f"R{i}", score=score, comment="c", responded_at=at, content_hash="h",
                     category="promoter" if score >= 9 else "passive" if score >= 7 else "detractor",
                     segments={"plan": plan, "account": f"acc-{i}"})
            for i, (at, score, _, plan) in enumerate(rows)
        ]  # fmt: skip
        session.add_all(responses)
        session.flush()
        session.add_all(
            ThemeMember(response_id=response.id, theme_id=themes[theme].id, bucket="theme")
            for response, (_, _, theme, _) in zip(responses, rows, strict=True)
            if theme is not None
        )
        session.add(ThemeEvent(theme_id=themes["A"].id, kind="born", detail={"size": 50}, at=CLOSED))
        session.add(ThemeEvent(theme_id=themes["B"].id, kind="renamed", actor="human", detail={"to": HOSTILE}))
        session.add_all([
            TrackerLink(tracker="jira", theme_key="theme-aaaa", state="open", issue_key="FB-1",
                        url="https://jira.example.com/browse/FB-1", priority="P1"),
            TrackerLink(tracker="github", theme_key="theme-bbbb", state="open", issue_key="org/repo#2",
                        url="javascript:alert(1)"),
            TrackerLink(tracker="jira", theme_key="theme-cccc", state="closed", issue_key="FB-3",
                        url="https://jira.example.com/browse/FB-3", closed_at=CLOSED),
        ])  # fmt: skip
        session.commit()
    return engine


def make_report(engine, loop: LoopParams | None = None) -> Report:
    """The report as the pipeline makes it: the plan for the window first, then the report around that plan."""
    settings, rules = Settings(), Rules()
    window = AnalysisWindow(AS_OF, settings.themes.window_days)
    plan = pipeline.plan_stage(settings, engine, rules, window)
    return gather_report(engine, plan, window, settings.nps, Redactor.from_rules(rules.redaction), GENERATED, loop)


@pytest.fixture
def report(store) -> Report:
    return make_report(store, LoopParams(30, 7))


@pytest.fixture
def page(report) -> str:
    return render_html(report)


def test_known_answers_reach_the_json(report):
    data = json.loads(render_json(report))
    overall = estimate(NpsCounts(200, 100, 100))
    assert data["overall"]["nps"] == pytest.approx(25.0) and data["overall"]["responses"] == 400
    assert data["overall"]["low"] == pytest.approx(overall.low, abs=0.01)
    assert data["overall"]["high"] == pytest.approx(overall.high, abs=0.01)
    assert data["window_start"] == "2026-07-03T00:00:00+00:00" and data["as_of"] == "2026-10-01T00:00:00+00:00"
    first, second = data["themes"]
    # k = 50 of N = 400, T = -80, E = (200 - 60) / 350 * 100 = 40: impact = 50/400 * (-120) = -15.
    assert first["rank"] == 1 and first["brief"]["label"] == "app crashes"
    assert first["brief"]["impact"] == pytest.approx(-15.0)
    assert first["brief"]["impact_low"] < -15 < first["brief"]["impact_high"] < 0
    assert (first["brief"]["respondents"], first["brief"]["share"]) == (50, 0.125)
    assert first["brief"]["trend"] == "growing"  # 20 of 400 in the window before, 50 of 400 now
    assert [(s["field"], s["value"]) for s in first["brief"]["segments"]] == [("plan", "Enterprise")]
    assert first["status"] == "open: jira FB-1, P1"
    assert [x["kind"] for x in first["lineage"]] == ["born"]
    assert second["brief"]["label"] == HOSTILE and second["brief"]["respondents"] == 10
    assert second["rank"] == 2


def test_share_over_time_counts_members_per_month(report):
    crashes = report.themes[0].share_series
    by_month = {p.period: (p.respondents, p.responses) for p in crashes}
    assert by_month["2026-04"] == (10, 200) and by_month["2026-05"][0] + by_month["2026-06"][0] == 10
    assert sum(p.respondents for p in crashes) == 70 and sum(p.responses for p in crashes) == 800
    assert all(p.low <= p.share <= p.high for p in crashes)


def test_nps_series_and_segments(report):
    assert report.period == "month"
    assert [p.group for p in report.nps_series] == [f"2026-{m:02d}" for m in range(4, 10)]
    assert sum(p.responses for p in report.nps_series) == 800
    # `account` has one value per response: not a segment to break down.
    assert {s.field for s in report.segments} == {"plan"}
    assert {s.point.group: s.point.responses for s in report.segments} == {"Enterprise": 220, "Team": 180}


def test_past_fix_verdict_is_in_the_report_even_for_a_retired_theme(report):
    (verdict,) = report.verdicts
    assert (verdict.label, verdict.issue_key, verdict.outcome.value) == ("slow dashboard", "FB-3", "improved")
    assert (verdict.before.mentions.n, verdict.before.responses) == (30, 200)
    assert (verdict.after.mentions.n, verdict.after.responses) == (3, 200)
    data = report_dict(report)
    assert data["verdicts"][0]["final"] is True
    assert data["verdicts"][0]["comment"].startswith("Closing the loop on this fix: IMPROVED.")


def test_summary_answers_the_four_questions(report):
    s = report.summary
    assert s.hurts_most.startswith("“app crashes” costs the most: 15.0 NPS points (95% CI")
    assert "from 50 respondents (12.5% of responses)" in s.hurts_most
    assert "NPS +25.0" in s.how_sure and "of 2 themes are large enough and significant" in s.how_sure
    assert s.being_done == "Themes: 2 with an open issue."
    assert s.past_fixes.startswith("1 fix judged — 1 improved (“slow dashboard”: improved)")


def test_only_redacted_quotes_leave_the_store(report, page):
    rendered = [page, render_markdown(report), render_json(report)]
    for text in rendered:
        assert "jo.doe@example.com" not in text and "jo.doe" not in text
    assert all(Redactor.default().findings(q) == [] for t in report.themes for q in t.brief.quotes)
    assert "crashes daily, mail me at" in report.themes[0].brief.quotes[0]


class _Collector(HTMLParser):
    """Every start tag with its attributes, and whether tags are balanced (void elements aside)."""

    VOID: ClassVar[set[str]] = {
        "meta",
        "br",
        "img",
        "hr",
        "link",
        "input",
        "path",
        "use",
        "rect",
        "circle",
        "line",
        "stop",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_well_formed_self_contained_and_escaped(report, page):
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    tags = [tag for tag, _ in parser.tags]
    assert page.startswith("<!DOCTYPE html>") and tags[:2] == ["html", "head"]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags and "img" not in tags
    assert tags.count("svg") == 4  # NPS, impacts, shares, segments
    ids = [attrs["id"] for _, attrs in parser.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), "duplicate ids across the inline SVGs"
    # Each theme's section has the anchor its issue's "Theme report" link ends with.
    assert {f"theme-{t.brief.theme_id}" for t in report.themes} <= set(ids)
    # Nothing is loaded from elsewhere: no src, no stylesheet or font URLs; links only to http(s) issues.
    assert not any("src" in attrs for _, attrs in parser.tags)
    assert "@import" not in page and "@font-face" not in page and not re.search(r"url\((?!#)", page)
    hrefs = [attrs["href"] for tag, attrs in parser.tags if tag == "a"]
    external = [h for h in hrefs if not h.startswith("#")]
    assert set(external) == {"https://jira.example.com/browse/FB-1", "https://jira.example.com/browse/FB-3"}
    assert all(h[1:] in ids for h in hrefs if h.startswith("#"))
    assert "javascript:" not in "".join(hrefs)
    # Customer text is escaped, and reads back intact as text.
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; pricing" in page
    assert "<b>too</b>" not in page and HOSTILE in "".join(parser.text)


def test_html_leads_with_the_summary_and_has_a_section_per_theme(page):
    assert page.index("At a glance") < page.index('id="chart-nps"') < page.index('id="chart-impact"')
    for label in ("What hurts most", "How sure we are", "What is being done", "What past fixes achieved"):
        assert f"<dt>{label}</dt>" in page
    assert page.count("<article class=theme") == 2
    assert "Theme report <span class=muted>— as of 2026-09-30</span>" in page
    assert "IMPROVED" not in page and ">improved</span>" in page  # the CSS upper-cases it


def test_markdown_escapes_customer_text(report):
    text = render_markdown(report)
    assert text.startswith("# Theme report — 2026-09-30\n")
    assert "## 1\\. app crashes" in text and "## 2\\. &lt;script&gt;alert" in text
    assert "&lt;b&gt;too&lt;/b&gt; expensive" in text and "<b>" not in text
    assert md("a | b\nc *d*") == "a \\| b c \\*d\\*"
    # The fix verdict, worded as in the HTML report, links its issue (our own http(s) link).
    assert (
        "**slow dashboard** ([FB\\-3](https://jira.example.com/browse/FB-3)), fix shipped 2026\\-05\\-01: **improved**"
        in text
    )


def test_markdown_report_leaves_no_mention_reference_or_bare_url_live(report):
    rendered = render_markdown(report)
    # Our own links to the issues are links; nothing else may be.
    ours = re.findall(r"\]\((https?://[^)]*)\)", rendered)
    assert set(ours) == {"https://jira.example.com/browse/FB-1", "https://jira.example.com/browse/FB-3"}
    text = re.sub(r"\]\(https?://[^)]*\)", "]", rendered)
    assert "the app crashes, see" in text  # the quote is there...
    for live in ("@everyone", "#123", "GH-7", "GH\\-7", "https://", "www.", "www\\."):
        assert live not in text, live  # ...but GitHub links none of it
    assert "\u200d" in md("@here") and md("@here").replace("\u200d", "") == "@here"


def test_publish_keeps_one_file_per_run_and_a_latest(report, tmp_path):
    folder = tmp_path / "reports"
    first = publish(report, folder, ("html", "json"))
    assert sorted(p.name for p in first) == sorted(
        ["report-20261001T060000Z.html", "latest.html", "report-20261001T060000Z.json", "latest.json"]
    )
    later = [replace(report, generated_at=GENERATED + timedelta(days=d)) for d in (1, 2)]
    for r in later:
        publish(r, folder, ("json",), keep=2)
    runs = sorted(p.name for p in folder.glob("report-*.json"))
    assert runs == ["report-20261002T060000Z.json", "report-20261003T060000Z.json"]
    assert (folder / "latest.json").read_text(encoding="utf-8") == render_json(later[-1])
    assert (folder / "report-20261001T060000Z.html").read_text(encoding="utf-8") == render_html(report)
    assert not list(folder.glob(".*.tmp"))


def test_an_empty_store_still_renders(engine):
    report = make_report(engine)
    assert report.themes == () and report.verdicts == () and report.overall is None
    assert "No theme measurably costs NPS points" in report.summary.hurts_most
    page = render_html(report)
    assert "No active themes yet." in page and "<svg" not in page
    assert json.loads(render_json(report))["themes"] == []
    assert render_markdown(report).startswith("# Theme report")


def test_charts_are_deterministic(report, page):
    assert render_html(report) == page
    assert len(re.findall(r"<svg[^>]*viewBox", page)) == 4


def test_no_specific_reason_is_counted_shown_and_redacted(store):
    from sqlmodel import col, select

    remarks = ["pretty good", "pretty good", "pretty good", "does the job. Thanks, Maria", "does the job. Thanks, Maria",
               "meh", "n/a", "-"]  # fmt: skip
    with Session(store) as session:
        themed = set(session.exec(select(ThemeMember.response_id)))
        loose = [
            r for r in session.exec(select(Response).where(col(Response.category) != "promoter").order_by(col(Response.id)))
            if r.id not in themed and r.responded_at.replace(tzinfo=UTC) >= WINDOW_START
        ][: len(remarks)]  # fmt: skip
        for response, text in zip(loose, remarks, strict=True):
            response.comment = text
            bucket = "not_actionable" if text in ("n/a", "-") else "no_specific_reason"
            session.add(ThemeMember(response_id=response.id, theme_id=None, bucket=bucket))
        session.commit()
    report = make_report(store, LoopParams(30, 7))
    aside = report.no_specific_reason
    assert (aside.count, aside.not_actionable, aside.comments) == (6, 2, 60 + 8)
    assert aside.share == pytest.approx(6 / 68)
    assert aside.examples == ("pretty good", "does the job. Thanks, [name]", "meh")
    page, markdown, data = render_html(report), render_markdown(report), json.loads(render_json(report))
    assert "No specific reason" in page and "## No specific reason" in markdown
    assert "6 of 68 detractor and passive comments (8.8%)" in markdown
    assert data["no_specific_reason"]["count"] == 6
    for text in (page, markdown, render_json(report)):
        assert "Maria" not in text
    # never a theme: the plan (and so the tracker) only sees themes
    assert all(t.brief.label not in remarks for t in report.themes)


def test_a_declined_issue_is_reported_as_declined_with_no_verdict(store):
    """Closed as Won't Do: the theme's status says so, and no fix is judged."""
    with Session(store) as session:
        for link in session.exec(select(TrackerLink).where(col(TrackerLink.issue_key).in_(["FB-1", "FB-3"]))):
            link.state, link.closed_at, link.closure = "closed", link.closed_at or CLOSED, "declined"
            session.add(link)
        session.commit()
    report = make_report(store)
    assert not report.verdicts
    statuses = [section["status"] for section in report_dict(report)["themes"]]
    assert any(status.startswith("declined (not planned) on ") and "FB-1" in status for status in statuses), statuses
    assert not any("fix shipped" in status for status in statuses)
