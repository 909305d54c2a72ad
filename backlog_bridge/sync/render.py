"""GitHub-flavoured Markdown for a theme's issue: the managed section, its markers, and escaping.

Customer text (quotes, theme labels, keywords, segment values) must reach the tracker as inert
text: no @mentions (they notify strangers), no #123 / owner/repo#1 / GH-1 cross-links (they post
back-references into other issues), no images, links or HTML. GitHub resolves mentions and
references *after* Markdown parsing, so backslash escapes are not enough: a zero-width joiner
(U+200D) after `@` and `#` and inside `GH-`, `://` and `www.` breaks them while the text reads
the same. HTML is entity-escaped, so customer text can never forge our markers either.

The issue body is the human's text outside the markers (kept verbatim) plus one managed section::

    <!-- backlog_bridge:begin -->
    <!-- backlog_bridge:theme=KEY -->
    <!-- backlog_bridge:figures {"respondents": 80, "share": 0.034, "priority": "P1"} -->
    ...rendered brief...
    <!-- backlog_bridge:end -->
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlsplit

from backlog_bridge.plan.model import PlanItem, ThemeBrief
from backlog_bridge.sync.tracker import ManagedFigures

BEGIN = "<!-- backlog_bridge:begin -->"
END = "<!-- backlog_bridge:end -->"
ZWJ = "\u200d"
TITLE_PREFIX = "NPS: "
MAX_TITLE = 256

_THEME_MARKER = re.compile(r"<!-- backlog_bridge:theme=([A-Za-z0-9_.:-]+) -->")
_FIGURES_MARKER = re.compile(r"<!-- backlog_bridge:figures (\{[^<>]*\}) -->")
_STAMP_MARKER = re.compile(r"<!-- backlog_bridge:comment=([A-Za-z0-9_.:-]+) -->")
# CommonMark lets every ASCII punctuation character be backslash-escaped; these are the ones that
# start or close Markdown syntax (& < > are entity-escaped first, so entities survive).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=^$])")
_WHITESPACE = re.compile(r"\s+")
_GH_REF = re.compile(r"\b(GH)(?=\\?-\d)", re.IGNORECASE)
_SCHEME = re.compile(r"(?<=[A-Za-z])(?=://)")
_WWW = re.compile(r"\b(www)(?=\\?\.)", re.IGNORECASE)


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def neutralise_references(text: str) -> str:
    """Break mentions, issue references and autolinks with a zero-width joiner (text reads the same)."""
    text = text.replace("@", "@" + ZWJ).replace("#", "#" + ZWJ)
    text = _GH_REF.sub(lambda m: m.group(1) + ZWJ, text)
    text = _SCHEME.sub(ZWJ, text)
    return _WWW.sub(lambda m: m.group(1) + ZWJ, text)


def escape_markdown(text: str) -> str:
    """`text` as one line of inert Markdown: HTML entity-escaped, syntax escaped, references broken."""
    text = html.escape(_one_line(text), quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return neutralise_references(text)


def escape_title(text: str) -> str:
    """A plain-text title (GitHub does not render Markdown in titles, but links references)."""
    return neutralise_references(_one_line(text))


def _safe_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s<>()\[\]\"'`]", url):
        return None
    return url


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _points(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


class MarkdownMarkup:
    """`Markup` for GitHub: Markdown with HTML-comment markers."""

    def title(self, label: str) -> str:
        """`NPS: <label>`, escaped, at most 256 characters (GitHub's limit)."""
        return (TITLE_PREFIX + escape_title(label))[:MAX_TITLE]

    def section(self, item: PlanItem) -> str:
        """The managed section for `item`, markers included."""
        figures = ManagedFigures.of(item)
        data = json.dumps({"respondents": figures.respondents, "share": figures.share, "priority": figures.priority})
        lines = [
            BEGIN,
            f"<!-- backlog_bridge:theme={_marker_safe(item.brief.theme_key)} -->",
            f"<!-- backlog_bridge:figures {_comment_safe(data)} -->",
            *render_brief(item),
            "",
            "<sub>Managed by backlog_bridge: this section is rewritten on every sync; write above or below it.</sub>",
            END,
        ]
        return "\n".join(lines)

    def merge(self, current: str | None, section: str) -> str:
        """Replace the managed section of `current`, keeping every character outside it."""
        body = current or ""
        start = body.find(BEGIN)
        if start < 0:
            return f"{body.rstrip()}\n\n{section}" if body.strip() else section
        end = body.find(END, start)
        # A human who deleted the end marker: everything from the begin marker on is ours.
        stop = len(body) if end < 0 else end + len(END)
        return body[:start] + section + body[stop:]

    def figures(self, body: str) -> ManagedFigures | None:
        """The figures marker of the managed section, or None (absent or unreadable)."""
        match = _FIGURES_MARKER.search(body)
        if match is None:
            return None
        try:
            data = json.loads(match.group(1))
            priority = data.get("priority")
            return ManagedFigures(int(data["respondents"]), float(data["share"]), str(priority) if priority else None)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def theme_key(self, body: str) -> str | None:
        """The theme key of the hidden theme marker, or None."""
        match = _THEME_MARKER.search(body or "")
        return match.group(1) if match else None

    def escape(self, text: str) -> str:
        """Inert Markdown for `text`."""
        return escape_markdown(text)

    def stamped(self, text: str, stamp: str) -> str:
        """`text` followed by a hidden stamp marker."""
        return f"{text}\n\n<!-- backlog_bridge:comment={_marker_safe(stamp)} -->"

    def has_stamp(self, comment: str, stamp: str) -> bool:
        """True when `comment` carries `stamp`."""
        return any(m.group(1) == _marker_safe(stamp) for m in _STAMP_MARKER.finditer(comment or ""))


def _marker_safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", value)


def _comment_safe(value: str) -> str:
    return value.replace("--", "- -").replace("<", "").replace(">", "")


def render_brief(item: PlanItem) -> list[str]:
    """The human-readable part of the managed section (every customer-derived string escaped)."""
    brief = item.brief
    e = escape_markdown
    priority = f" · priority **{e(item.priority)}**" if item.priority else ""
    lines = [
        f"### {e(brief.label)}",
        "",
        f"**NPS impact:** {_points(brief.impact)} points "
        f"(interval {_points(brief.impact_low)} to {_points(brief.impact_high)}){priority}",
        f"**Respondents:** {brief.respondents} ({brief.detractors} detractors, {brief.passives} passives), "
        f"{_pct(brief.share)} of responses",
        f"**Trend:** {e(brief.trend)}" + (f": {e(brief.trend_text)}" if brief.trend_text else ""),
    ]
    if brief.lift_text:
        lines.append(f"**If fixed:** {e(brief.lift_text)}")
    if brief.keywords:
        lines.append("**Keywords:** " + ", ".join(e(k) for k in brief.keywords))
    lines += _segments(brief)
    if brief.explanation:
        lines += ["", f"**Why this priority:** {e(brief.explanation)}"]
    if brief.quotes:
        lines += ["", "**What customers say:**"]
        for quote in brief.quotes[:5]:
            lines += ["", f"> {e(quote)}"]
    url = _safe_url(brief.report_url)
    if url:
        lines += ["", f"[Theme report]({url})"]
    return lines


def _segments(brief: ThemeBrief) -> list[str]:
    if not brief.segments:
        return []
    rows = ["", "| Segment | In this theme | Overall |", "| --- | --- | --- |"]
    for s in brief.segments:
        rows.append(
            f"| {escape_markdown(s.field)} = {escape_markdown(s.value)} | {_pct(s.share)} | {_pct(s.baseline)} |"
        )
    return rows
