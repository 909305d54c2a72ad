"""Render the theme report: one self-contained HTML file, Markdown for a wiki, JSON for other tools.

The HTML works offline from disk: CSS in the page, charts as inline SVG, no scripts, fonts or external
resources. Every text that came from customers or people (labels, quotes, keywords, reasons, issue keys)
is escaped with `html.escape`; links are written only for http(s) addresses.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from backlog_bridge.report import charts
from backlog_bridge.report.data import IssueLink, NoSpecificReason, NpsPoint, Report, ThemeSection, status_of
from backlog_bridge.report.loop import Outcome, Verdict, verdict_comment, verdict_figures
from backlog_bridge.sync.render import escape_markdown

Format = Literal["html", "md", "json"]
SUFFIX: dict[str, str] = {"html": ".html", "md": ".md", "json": ".json"}

# --- JSON ------------------------------------------------------------------------------------------


def report_dict(report: Report) -> dict[str, Any]:
    """Every field of the report, JSON-ready (datetimes as ISO 8601, enums as their values)."""
    data: dict[str, Any] = _plain(report)
    for verdict, out in zip(report.verdicts, data["verdicts"], strict=True):
        out["final"] = verdict.final
        out["comment"] = verdict_comment(verdict)
    for section, out in zip(report.themes, data["themes"], strict=True):
        out["status"] = status_of(section)[1]
    return data


def render_json(report: Report) -> str:
    """The report as indented JSON text."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, 6)
    return value


# --- Markdown --------------------------------------------------------------------------------------


def md(text: object) -> str:
    """Customer text made inert in Markdown, as in the tracker bodies (the same escaper).

    One line, markup escaped, and @mentions, #123 / GH-1 references and bare URLs broken with a
    zero-width joiner: a report pasted into GitHub notifies nobody and links nothing.
    """
    return escape_markdown(str(text))


def render_markdown(report: Report) -> str:
    """The report for a wiki page: summary, NPS, themes table, a section per theme, past fixes."""
    s = report.summary
    lines = [
        f"# Theme report — {report.last_day:%Y-%m-%d}",
        "",
        f"Window {report.window_start:%Y-%m-%d} to {report.last_day:%Y-%m-%d}; "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC. Intervals are 95%.",
        "",
        "## At a glance",
        "",
        f"- **What hurts most:** {md(s.hurts_most)}",
        f"- **How sure we are:** {md(s.how_sure)}",
        f"- **What is being done:** {md(s.being_done)}",
        f"- **What past fixes achieved:** {md(s.past_fixes)}",
        "",
        "## NPS over time",
        "",
        "| period | NPS | 95% CI | responses |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {p.group} | {p.nps:+.1f} | {_ci(p)} | {p.responses}{' (too few)' if p.too_small else ''} |"
              for p in report.nps_series]  # fmt: skip
    lines += ["", "## Themes by points at stake", ""]
    lines += ["| # | theme | respondents | share | points at stake (95% CI) | trend | tracker |",
              "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    lines += [
        f"| {t.rank} | {md(t.brief.label)} | {t.brief.respondents} | {t.brief.share:.1%} | {_stake(t)} | "
        f"{md(t.brief.trend)} | {md(status_of(t)[1])} |"
        for t in report.themes
    ]
    if report.segments:
        lines += ["", "## NPS by segment (theme window)", "", "| segment | value | NPS | 95% CI | responses |",
                  "| --- | --- | --- | --- | --- |"]  # fmt: skip
        lines += [f"| {md(g.field)} | {md(g.point.group)} | {g.point.nps:+.1f} | {_ci(g.point)} | {g.point.responses} |"
                  for g in report.segments]  # fmt: skip
    lines += _md_no_reason(report.no_specific_reason)
    lines += ["", "## Past fixes", ""]
    lines += [_md_verdict(v) for v in report.verdicts] or ["No fix has shipped yet."]
    for section in report.themes:
        lines += _md_section(section)
    return "\n".join(lines).rstrip() + "\n"


def _md_no_reason(n: NoSpecificReason | None) -> list[str]:
    if n is None:
        return []
    lines = ["", "## No specific reason", "", f"{_no_reason_text(n)}"]
    if n.examples:
        lines += ["", *(f"> {md(quote)}" + "  " for quote in n.examples)]
    return lines


def _no_reason_text(n: NoSpecificReason) -> str:
    return (
        f"{n.count} of {n.comments} detractor and passive comments ({n.share:.1%}) name no problem or request "
        f"(praise or a vague remark): counted here, never a theme or an issue. {n.not_actionable} more had "
        "nothing to act on (empty, “n/a”)."
    )


def _md_section(t: ThemeSection) -> list[str]:
    b = t.brief
    lines = [
        "",
        f"## {t.rank}. {md(b.label)}",
        "",
        f"- **Points at stake:** {_stake(t)}; {b.respondents} respondents ({b.detractors} detractors, "
        f"{b.passives} passives), {b.share:.1%} of responses",
        f"- **Trend:** {md(b.trend)} — {md(b.trend_text)}",
        f"- **Tracker:** {md(status_of(t)[1])}",
    ]
    if b.segments:
        lines.append("- **Most affected:** " + md(_segments_text(t)))
    if b.keywords:
        lines.append("- **Keywords:** " + md(", ".join(b.keywords)))
    if t.verdict is not None:
        lines.append(f"- **Fix verdict:** {t.verdict.outcome.value} — {md(t.verdict.reason)}")
    lines += ["", md(b.explanation), ""]
    lines += [f"> {md(q)}" for q in b.quotes]
    return lines


def _md_verdict(v: Verdict) -> str:
    issue = f" ({md(v.issue_key)})" if v.issue_key else ""
    figures = " ".join(md(f) for f in verdict_figures(v))
    head = f"- **{md(v.label)}**{issue}, closed {v.closed_at:%Y-%m-%d}: **{v.outcome.value}**"
    return f"{head} — {md(v.reason)}. {figures}"


# --- HTML ------------------------------------------------------------------------------------------


def e(text: object) -> str:
    """Escape any text for HTML content or a quoted attribute."""
    return html.escape(str(text), quote=True)


def render_html(report: Report) -> str:
    """One self-contained HTML page: summary, charts, themes table, a section per theme, past fixes."""
    body = [
        _header(report),
        _glance(report),
        _figure("nps", "NPS over time", charts.nps_chart(report.nps_series), _nps_caption(report)),
        _figure("impact", "What hurts NPS most", charts.impact_chart(report.themes), _impact_caption(report)),
        _themes_table(report.themes),
        _figure("share", "Share over time", charts.share_chart(report.themes), _SHARE_CAPTION),
        _figure("segments", "Segments", charts.segment_chart(report.segments), _SEGMENT_CAPTION),
        _no_reason_html(report.no_specific_reason),
        _fixes(report),
        '<h2 id="themes">Themes</h2>',
        *(_section(t) for t in report.themes),
        _method(report),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Theme report — {report.last_day:%Y-%m-%d}</title>\n<style>{_CSS}</style>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(part for part in body if part) + "\n</main>\n</body>\n</html>\n"
    )


_SIGNIFICANT = {True: "significant: gets a priority", False: "too small or too uncertain for a priority"}
_SHARE_CAPTION = "Top themes' share of all responses per period; a dashed line marks a shipped fix."
_SEGMENT_CAPTION = "NPS per segment value in the theme window."


def _no_reason_html(n: NoSpecificReason | None) -> str:
    if n is None:
        return ""
    quotes = "".join(f"<blockquote>{e(quote)}</blockquote>" for quote in n.examples)
    return (
        f'<section id="no-specific-reason"><h2>No specific reason</h2><p>{e(_no_reason_text(n))}</p>{quotes}</section>'
    )


def _header(report: Report) -> str:
    return (
        f"<header><h1>Theme report <span class=muted>— as of {report.last_day:%Y-%m-%d}</span></h1>"
        f"<p class=muted>Theme window {report.window_start:%Y-%m-%d} to {report.last_day:%Y-%m-%d} · "
        f"{len(report.themes)} themes · generated {report.generated_at:%Y-%m-%d %H:%M} UTC · all intervals 95%</p>"
        "</header>"
    )


def _glance(report: Report) -> str:
    s = report.summary
    rows = [("What hurts most", s.hurts_most), ("How sure we are", s.how_sure),
            ("What is being done", s.being_done), ("What past fixes achieved", s.past_fixes)]  # fmt: skip
    items = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows)
    return f'<section class=glance aria-label="At a glance"><h2>At a glance</h2><dl>{items}</dl></section>'


def _figure(name: str, title: str, svg: str, caption: str) -> str:
    if not svg:
        return ""
    return (
        f'<section><h2>{e(title)}</h2><figure class=chart id="chart-{name}" role=img aria-label="{e(title)}">'
        f"{svg}<figcaption>{e(caption)}</figcaption></figure></section>"
    )


def _nps_caption(report: Report) -> str:
    o = report.overall
    if o is None:
        return "No responses in the theme window."
    return f"In the theme window: NPS {o.nps:+.1f} ({_ci(o)}) from {o.responses} responses."


def _impact_caption(report: Report) -> str:
    return (
        "Points at stake = NPS gained if the theme's respondents scored like everyone else. "
        f"Top {min(15, len(report.themes))} of {len(report.themes)} themes; details per theme below."
    )


def _themes_table(themes: Sequence[ThemeSection]) -> str:
    if not themes:
        return "<section><h2>Themes</h2><p>No active themes yet.</p></section>"
    rows = "".join(
        f'<tr><td class=num>{t.rank}</td><td><a href="#theme-{t.brief.theme_id}">{e(t.brief.label)}</a></td>'
        f"<td class=num>{t.brief.respondents}</td><td class=num>{t.brief.share:.1%}</td>"
        f"<td class=num>{e(_stake(t))}</td><td>{_trend_badge(t.brief.trend)}</td>"
        f"<td>{_status_html(t, short=True)}</td></tr>"
        for t in themes
    )
    return (
        "<section><h2>All themes</h2><div class=scroll><table><thead><tr><th>#</th><th>theme</th>"
        "<th>respondents</th><th>share</th><th>points at stake (95% CI)</th><th>trend</th><th>tracker</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )


def _section(t: ThemeSection) -> str:
    b = t.brief
    facts = [
        ("Points at stake", f"{_stake(t)} — {_SIGNIFICANT[t.significant]}"),
        ("Respondents", f"{b.respondents} ({b.detractors} detractors, {b.passives} passives), "
                        f"{b.share:.1%} of responses in the window"),
        ("Trend", f"{b.trend} — {b.trend_text}"),
        ("Plan", f"{t.action}: {t.reason}" + (f" (priority {t.priority})" if t.priority else "")),
    ]  # fmt: skip
    if b.segments:
        facts.append(("Most affected", _segments_text(t)))
    if b.keywords:
        facts.append(("Keywords", ", ".join(b.keywords)))
    if t.suppressed:
        facts.append(("Suppressed", t.suppressed))
    if t.first_seen:
        facts.append(("First seen", f"{t.first_seen:%Y-%m-%d}"))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts)
    dl += f"<dt>Tracker</dt><dd>{_issues_html(t)}</dd>"
    series = " · ".join(f"{p.period} {p.share:.1%}" for p in t.share_series)
    parts = [
        f'<article class=theme id="theme-{b.theme_id}"><h3>{t.rank}. {e(b.label)} {_trend_badge(b.trend)}</h3>',
        f"<dl class=facts>{dl}</dl>",
        f"<p class=explain>{e(b.explanation)}</p>",
    ]
    if series:
        parts.append(f"<p class=series><b>Share per period:</b> {e(series)}</p>")
    if t.verdict is not None:
        parts.append(_verdict_html(t.verdict))
    if b.quotes:
        parts.append("<h4>What customers say <span class=muted>(redacted)</span></h4>")
        parts += [f"<blockquote>{e(q)}</blockquote>" for q in b.quotes]
    if t.lineage:
        entries = "".join(
            f"<li><time>{x.at:%Y-%m-%d}</time> {e(x.kind)} <span class=muted>by {e(x.actor)} {e(x.detail)}</span></li>"
            for x in t.lineage
        )
        parts.append(f"<details><summary>Lineage ({len(t.lineage)} events)</summary><ul>{entries}</ul></details>")
    parts.append("</article>")
    return "".join(parts)


def _issues_html(t: ThemeSection) -> str:
    words = e(status_of(t)[1])
    links = [_link(i) for i in t.issues if i.url]
    return words + (" — " + ", ".join(links) if links else "")


def _link(issue: IssueLink) -> str:
    label = e(f"{issue.tracker} {issue.key or 'issue'} ({issue.state})")
    return f'<a href="{e(issue.url)}">{label}</a>' if _safe_url(issue.url) else label


def _safe_url(url: str | None) -> bool:
    return bool(url) and re.match(r"^https?://[^\s\"'<>]+$", url or "") is not None


def _status_html(t: ThemeSection, short: bool = False) -> str:
    kind, words = status_of(t)
    words = ": ".join(words.split(": ")[:2]) if short and kind == "waiting" else words
    return f"<span class='status {kind}'>{e(words)}</span>"


def _trend_badge(trend: str) -> str:
    arrow = {"growing": "↑ growing", "shrinking": "↓ shrinking", "stable": "→ stable"}.get(trend, "n/a")
    return f"<span class='badge {e(trend)}'>{e(arrow)}</span>"


def _fixes(report: Report) -> str:
    if not report.verdicts:
        return (
            '<section id="fixes"><h2>What past fixes achieved</h2><p>No fix has shipped yet: a verdict appears '
            "once a theme's issue is closed.</p></section>"
        )
    return (
        '<section id="fixes"><h2>What past fixes achieved</h2>'
        + "".join(_verdict_html(v, heading=True) for v in report.verdicts)
        + "</section>"
    )


def _verdict_html(v: Verdict, heading: bool = False) -> str:
    kind = {Outcome.IMPROVED: "good", Outcome.REGRESSED: "bad"}.get(v.outcome, "neutral")
    issue = e(v.issue_key or "issue")
    if _safe_url(v.url):
        issue = f'<a href="{e(v.url)}">{issue}</a>'
    title = f"<b>{e(v.label)}</b> ({issue}), " if heading else ""
    flag = " <b>Regression: the theme came back after its fix.</b>" if v.came_back else ""
    figures = "".join(f"<li>{e(f)}</li>" for f in verdict_figures(v))
    return (
        f"<div class='verdict {kind}'><p>{title}fix shipped {v.closed_at:%Y-%m-%d}: "
        f"<span class='outcome {kind}'>{e(v.outcome.value)}</span> — {e(v.reason)}.{flag}</p><ul>{figures}</ul></div>"
    )


def _method(report: Report) -> str:
    p = report.loop
    return (
        "<footer><h2>How to read this</h2><p>Points at stake: how many NPS points overall NPS would gain if the "
        "theme's respondents scored like everyone else; the interval is 95% (delta method), and only themes that "
        "stay significant after false-discovery control across themes get a priority. NPS intervals are "
        "adjusted-Wald (Rocks 2016); shares use Wilson intervals. Fix verdicts compare, as fixed in advance, the "
        f"{p.window_days} days before an issue closed with {p.window_days} days starting {p.grace_days} days "
        f"after it (two-proportion test at α = {p.alpha:g}); quotes are redacted of personal data.</p></footer>"
    )


def _stake(t: ThemeSection) -> str:
    b = t.brief
    return f"{_num(-b.impact)} ({_num(-b.impact_high)} to {_num(-b.impact_low)})"


def _num(value: float) -> str:
    """One decimal, never "-0.0"."""
    return f"{value + 0.0:.1f}" if round(value, 1) != 0 else "0.0"


def _ci(p: NpsPoint) -> str:
    return f"95% CI {p.low:+.1f} to {p.high:+.1f}"


def _segments_text(t: ThemeSection) -> str:
    return ", ".join(f"{s.field} {s.value}: {s.share:.0%} of respondents vs {s.baseline:.0%} overall"
                     for s in t.brief.segments)  # fmt: skip


_CSS = """
:root{--ink:#1f2933;--muted:#52606d;--line:#d9e2ec;--bg:#f7f9fb;--accent:#2f6fb0;--bad:#c0392b;--good:#2e7d4f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:60rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:1.75rem;margin:.5rem 0 .25rem}h2{font-size:1.3rem;margin:2rem 0 .75rem}
h3{font-size:1.1rem;margin:0 0 .5rem}h4{font-size:.95rem;margin:1rem 0 .4rem}
.muted{color:var(--muted);font-weight:normal}
section,article,footer{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;
margin:1rem 0}
.glance{border-left:5px solid var(--accent)}
.glance dl{display:grid;grid-template-columns:minmax(9rem,14rem) 1fr;gap:.5rem 1rem;margin:0}
.glance dt{font-weight:600}.glance dd{margin:0}
figure{margin:0}figure svg{width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:.9rem;margin-top:.4rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted)}td.num{text-align:right;white-space:nowrap}
a{color:var(--accent)}
.facts{display:grid;grid-template-columns:minmax(8rem,11rem) 1fr;gap:.25rem 1rem;margin:.5rem 0}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.explain{font-size:.95rem}
.series{font-size:.85rem;color:var(--muted)}
blockquote{margin:.4rem 0;padding:.35rem .8rem;border-left:3px solid var(--line);color:#323f4b;
background:var(--bg);white-space:pre-wrap;overflow-wrap:anywhere}
.badge{font-size:.78rem;font-weight:600;padding:.05rem .45rem;border-radius:1rem;background:var(--line);
white-space:nowrap}
.badge.growing{background:#fde2e1;color:var(--bad)}.badge.shrinking{background:#dcf2e4;color:var(--good)}
.status.open{color:var(--accent)}.status.closed{color:var(--good)}.status.to_file{font-weight:600}
.status.waiting{color:var(--muted)}
.verdict{border-left:4px solid var(--line);padding:.25rem .9rem;margin:.75rem 0}
.verdict.good{border-color:var(--good)}.verdict.bad{border-color:var(--bad)}
.verdict ul{margin:.25rem 0;padding-left:1.2rem;font-size:.9rem}
.outcome{font-weight:700;text-transform:uppercase;letter-spacing:.03em}
.outcome.good{color:var(--good)}.outcome.bad{color:var(--bad)}.outcome.neutral{color:var(--muted)}
details{margin-top:.75rem;font-size:.9rem}summary{cursor:pointer;color:var(--muted)}
@media print{body{background:#fff}section,article,footer{break-inside:avoid;border:none}}
"""

# --- writing files ---------------------------------------------------------------------------------


def render(report: Report, fmt: Format) -> str:
    """The report in one format."""
    if fmt == "html":
        return render_html(report)
    if fmt == "md":
        return render_markdown(report)
    return render_json(report)


def publish(
    report: Report, folder: Path, formats: Sequence[Format] = ("html", "json"), keep: int = 0, stem: str = "report"
) -> list[Path]:
    """Write one file per run (`report-20261031T020000Z.html`) and refresh `latest.html`, per format.

    Files are written to a temporary name and renamed, so a reader never sees half a report; `latest`
    is a copy, not a link, so it opens from disk anywhere. `keep` > 0 deletes the oldest run files
    beyond that many per format; 0 keeps every one.
    """
    folder.mkdir(parents=True, exist_ok=True)
    moment = report.generated_at.strftime("%Y%m%dT%H%M%SZ")
    written = []
    for fmt in formats:
        text = render(report, fmt)
        dated = folder / f"{stem}-{moment}{SUFFIX[fmt]}"
        for path in (dated, folder / f"latest{SUFFIX[fmt]}"):
            _write_atomic(path, text)
            written.append(path)
        if keep > 0:
            history = sorted(folder.glob(f"{stem}-*{SUFFIX[fmt]}"))
            for old in history[:-keep]:
                old.unlink()
    return written


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
