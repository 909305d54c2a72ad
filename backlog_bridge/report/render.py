"""Render the theme report: one self-contained HTML file, Markdown for a wiki, JSON for other tools.

The HTML works offline from disk: CSS in the page, charts as inline SVG, no scripts, fonts or external
resources. It is the Jinja2 templates in `report/templates/` (autoescaped: no text is ever marked safe
but matplotlib's SVG); each theme's section is its brief (`brief.wording`), emitted by the brief's own
HTML macros, and the Markdown report uses the brief's Markdown emitter: a theme reads the same in the
report as in its issue. Links are written only for http(s) addresses (`brief.document.safe_url`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment
from markupsafe import Markup

from backlog_bridge.brief.document import Badge, BriefDocument
from backlog_bridge.brief.html import environment
from backlog_bridge.brief.markdown import block_markdown, escape_markdown, to_markdown
from backlog_bridge.brief.wording import BriefContext, build_brief, stake_text, trend_badge, verdict_block
from backlog_bridge.report import charts
from backlog_bridge.report.data import NoSpecificReason, NpsPoint, Report, ThemeSection, status_of
from backlog_bridge.report.loop import verdict_comment

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


# --- the brief of each theme ----------------------------------------------------------------------


def section_brief(section: ThemeSection) -> BriefDocument:
    """A theme's brief as the report shows it: the issue's, with rank, plan, tracker and fix verdict."""
    context = BriefContext(
        rank=section.rank,
        priority=section.priority,
        significant=section.significant,
        action=section.action,
        reason=section.reason,
        tracker_status=status_of(section)[1],
        issues=section.issues,
        suppressed=section.suppressed,
        first_seen=section.first_seen,
        verdict=section.verdict,
        link_report=False,  # the report is where that link leads
    )
    return build_brief(section.brief, context)


def glance(report: Report) -> list[tuple[str, str]]:
    """The four questions a lead asks first, with the report's answers."""
    s = report.summary
    return [
        ("What hurts most", s.hurts_most),
        ("How sure we are", s.how_sure),
        ("What is being done", s.being_done),
        ("What past fixes achieved", s.past_fixes),
    ]


# --- Markdown --------------------------------------------------------------------------------------


def md(text: object) -> str:
    """Customer text made inert in Markdown, as in the tracker bodies (the same escaper).

    One line, markup escaped, and @mentions, #123 / GH-1 references and bare URLs broken with a
    zero-width joiner: a report pasted into GitHub notifies nobody and links nothing.
    """
    return escape_markdown(str(text))


def render_markdown(report: Report) -> str:
    """The report for a wiki page: summary, NPS, themes table, past fixes, then each theme's brief."""
    lines = [
        f"# Theme report — {report.last_day:%Y-%m-%d}",
        "",
        f"Window {report.window_start:%Y-%m-%d} to {report.last_day:%Y-%m-%d}; "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC. Intervals are 95%.",
        "",
        "## At a glance",
        "",
        *(f"- **{name}:** {md(answer)}" for name, answer in glance(report)),
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
        f"| {t.rank} | {md(t.brief.label)} | {t.brief.respondents} | {t.brief.share:.1%} | {stake_text(t.brief)} | "
        f"{md(trend_badge(t.brief.trend).text)} | {md(status_of(t)[1])} |"
        for t in report.themes
    ]
    if report.segments:
        lines += ["", "## NPS by segment (theme window)", "", "| segment | value | NPS | 95% CI | responses |",
                  "| --- | --- | --- | --- | --- |"]  # fmt: skip
        lines += [f"| {md(g.field)} | {md(g.point.group)} | {g.point.nps:+.1f} | {_ci(g.point)} | {g.point.responses} |"
                  for g in report.segments]  # fmt: skip
    lines += _md_no_reason(report.no_specific_reason)
    lines += ["", "## Past fixes", ""]
    fixes = [block_markdown(verdict_block(v, titled=True)) for v in report.verdicts]
    lines.append("\n\n".join(fixes) or "No fix has shipped yet.")
    for section in report.themes:
        lines += ["", to_markdown(section_brief(section), level=2)]
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


# --- HTML ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ThemeView:
    """One theme as the templates need it: the section, its brief, and table cells."""

    section: ThemeSection
    document: BriefDocument
    stake: str
    trend: Badge
    status_kind: str
    status_short: str


@cache
def _environment() -> Environment:
    return environment(__package__ or "backlog_bridge.report")


def render_html(report: Report) -> str:
    """One self-contained HTML page: summary, charts, themes table, past fixes, a section per theme."""
    # matplotlib's SVG is the one markup the templates take as is (it escapes its own text).
    svgs = {
        "nps": charts.nps_chart(report.nps_series),
        "impact": charts.impact_chart(report.themes),
        "share": charts.share_chart(report.themes),
        "segments": charts.segment_chart(report.segments),
    }
    aside = report.no_specific_reason
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        glance=glance(report),
        charts={name: Markup(svg) for name, svg in svgs.items()},
        nps_caption=_nps_caption(report),
        impact_caption=_impact_caption(report),
        themes=[_theme_view(section) for section in report.themes],
        fixes=[verdict_block(v, titled=True) for v in report.verdicts],
        no_reason=aside,
        no_reason_text=_no_reason_text(aside) if aside else "",
    )


def _theme_view(section: ThemeSection) -> _ThemeView:
    kind, words = status_of(section)
    short = ": ".join(words.split(": ")[:2]) if kind == "waiting" else words
    return _ThemeView(
        section, section_brief(section), stake_text(section.brief), trend_badge(section.brief.trend), kind, short
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


def _ci(p: NpsPoint) -> str:
    return f"95% CI {p.low:+.1f} to {p.high:+.1f}"


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
