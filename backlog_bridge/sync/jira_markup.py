r"""Jira wiki markup for a theme's issue: the managed section, its markers, and escaping.

Jira's REST API v2 (Cloud and Data Center alike) reads and writes descriptions and comments in wiki
markup; Cloud converts to and from its document format on the way. Wiki markup has no hidden
comments, so the markers are short monospace tokens in grey (`{{backlog-bridge:begin}}`). Customer
text can never forge one: escaping turns every `{` into `\{`.

Customer text (quotes, theme labels, keywords, segment values) reaches Jira as inert text:

* every character that starts wiki syntax is backslash-escaped, so `[~accountid:...]` mentions,
  `[text|url]` links, `!image!`, `{html}` / `{color}` macros, tables and emphasis stay literal;
* a backslash itself would start a line break (`\\`), so it becomes a look-alike (U+29F5);
* bare URLs (Jira links `https://...`, `mailto:...` by itself) are broken with a zero-width joiner
  so they read the same but are not links;
* line breaks collapse to spaces: nothing a customer wrote can start a heading, list or `bq.` line.

The managed section (the human's text outside it is kept verbatim)::

    {color:#97a0af}{{backlog-bridge:begin}} Managed by backlog_bridge: ...{color}
    h3. Checkout fails on mobile
    ...
    {color:#97a0af}{{backlog-bridge:theme=KEY}} {{backlog-bridge:figures ...}} {{backlog-bridge:end}}{color}
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from backlog_bridge.plan.model import PlanItem, ThemeBrief
from backlog_bridge.sync.tracker import ManagedFigures

BEGIN = "{{backlog-bridge:begin}}"
END = "{{backlog-bridge:end}}"
ZWJ = "\u200d"
BACKSLASH_LOOKALIKE = "\u29f5"
TITLE_PREFIX = "NPS: "
MAX_SUMMARY = 255
"""Jira's limit on a summary."""
GREY = "#97a0af"

_THEME_MARKER = re.compile(r"\{\{backlog-bridge:theme=([A-Za-z0-9_.:-]+)\}\}")
_FIGURES_MARKER = re.compile(r"\{\{backlog-bridge:figures ([A-Za-z0-9_.%&=+-]*)\}\}")
_STAMP_MARKER = re.compile(r"\{\{backlog-bridge:comment=([A-Za-z0-9_.:-]+)\}\}")
# Characters that start or close wiki markup: emphasis * _ ? - + ^ ~, macros { }, links and
# mentions [ ], images !, tables |, lists and headings # at a line start, citations ??.
_WIKI_SPECIAL = re.compile(r"([*_?\-+^~{}\[\]|!#])")
_WHITESPACE = re.compile(r"\s+")
_SCHEME = re.compile(r"(?<=[A-Za-z])(?=://)")
_MAILTO = re.compile(r"\b(mailto|file|news|irc)(?=:)", re.IGNORECASE)
_WWW = re.compile(r"\b(www)(?=\\?\.)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", _CONTROL.sub("", text)).strip()


def neutralise_links(text: str) -> str:
    """Break bare URLs Jira would link (scheme://, mailto:, www.) with a zero-width joiner."""
    text = _SCHEME.sub(ZWJ, text)
    text = _MAILTO.sub(lambda m: m.group(1) + ZWJ, text)
    return _WWW.sub(lambda m: m.group(1) + ZWJ, text)


def escape_wiki(text: str) -> str:
    """`text` as one line of inert Jira wiki markup (see the module docstring)."""
    text = _one_line(text).replace("\\", BACKSLASH_LOOKALIKE)
    text = _WIKI_SPECIAL.sub(r"\\\1", text)
    return neutralise_links(text)


def escape_summary(text: str) -> str:
    """A plain-text summary: one line, no control characters (Jira does not render markup there)."""
    return _one_line(text)


def safe_url(url: str | None) -> str | None:
    """`url` when it is a plain http(s) URL that cannot break out of `[text|url]`; else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s\[\]{}|!<>\"'`\\]", url):
        return None
    return url


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _points(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")  # a minus sign, never a strike-through dash


def _grey(text: str) -> str:
    return f"{{color:{GREY}}}{text}{{color}}"


class JiraWikiMarkup:
    """`Markup` for Jira: wiki markup with monospace-token markers."""

    def title(self, label: str) -> str:
        """`NPS: <label>` as a one-line summary, at most 255 characters."""
        return (TITLE_PREFIX + escape_summary(label))[:MAX_SUMMARY]

    def section(self, item: PlanItem) -> str:
        """The managed section for `item`, markers included."""
        figures = ManagedFigures.of(item)
        data = {"respondents": str(figures.respondents), "share": repr(figures.share)}
        if figures.priority:
            data["priority"] = figures.priority
        encoded = urlencode(data, quote_via=quote)
        lines = [
            _grey(
                f"{BEGIN} Managed by backlog_bridge: this section is rewritten on every sync; write above or below it."
            ),
            *render_brief(item),
            _grey(
                f"{{{{backlog-bridge:theme={_marker_safe(item.brief.theme_key)}}}}} "
                f"{{{{backlog-bridge:figures {encoded}}}}} {END}"
            ),
        ]
        return "\n".join(lines)

    def merge(self, current: str | None, section: str) -> str:
        """Replace the managed section of `current` (whole lines around the markers), keeping all else."""
        body = current or ""
        token = body.find(BEGIN)
        if token < 0:
            return f"{body.rstrip()}\n\n{section}" if body.strip() else section
        start = body.rfind("\n", 0, token) + 1
        end_token = body.find(END, token)
        if end_token < 0:  # a human deleted the end marker: everything from the begin line on is ours
            return body[:start] + section
        newline = body.find("\n", end_token)
        stop = len(body) if newline < 0 else newline
        return body[:start] + section + body[stop:]

    def figures(self, body: str) -> ManagedFigures | None:
        """The figures marker of the managed section, or None (absent or unreadable)."""
        match = _FIGURES_MARKER.search(body or "")
        if match is None:
            return None
        data = {k: v[0] for k, v in parse_qs(match.group(1)).items()}
        try:
            priority = data.get("priority")
            return ManagedFigures(int(data["respondents"]), float(data["share"]), priority or None)
        except (ValueError, KeyError):
            return None

    def theme_key(self, body: str) -> str | None:
        """The theme key of the theme marker, or None."""
        match = _THEME_MARKER.search(body or "")
        return match.group(1) if match else None

    def escape(self, text: str) -> str:
        """Inert wiki markup for `text`."""
        return escape_wiki(text)

    def stamped(self, text: str, stamp: str) -> str:
        """`text` followed by a small grey stamp token."""
        return f"{text}\n\n{_grey(f'{{{{backlog-bridge:comment={_marker_safe(stamp)}}}}}')}"

    def has_stamp(self, comment: str, stamp: str) -> bool:
        """True when `comment` carries `stamp`."""
        return any(m.group(1) == _marker_safe(stamp) for m in _STAMP_MARKER.finditer(comment or ""))


def _marker_safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", value)


def render_brief(item: PlanItem) -> list[str]:
    """The human-readable part of the managed section (every customer-derived string escaped)."""
    brief = item.brief
    e = escape_wiki
    priority = f" · priority *{e(item.priority)}*" if item.priority else ""
    lines = [
        f"h3. {e(brief.label)}",
        f"*NPS impact:* {_points(brief.impact)} points "
        f"(interval {_points(brief.impact_low)} to {_points(brief.impact_high)}){priority}",
        f"*Respondents:* {brief.respondents} ({brief.detractors} detractors, {brief.passives} passives), "
        f"{_pct(brief.share)} of responses",
        f"*Trend:* {e(brief.trend)}" + (f": {e(brief.trend_text)}" if brief.trend_text else ""),
    ]
    if brief.lift_text:
        lines.append(f"*If fixed:* {e(brief.lift_text)}")
    if brief.keywords:
        lines.append("*Keywords:* " + ", ".join(e(k) for k in brief.keywords))
    lines += _segments(brief)
    if brief.explanation:
        lines.append(f"*Why this priority:* {e(brief.explanation)}")
    if brief.quotes:
        lines.append("*What customers say:*")
        lines += [f"bq. {e(quote_)}" for quote_ in brief.quotes[:5]]
    url = safe_url(brief.report_url)
    if url:
        lines.append(f"[Theme report|{url}]")
    return lines


def _segments(brief: ThemeBrief) -> list[str]:
    if not brief.segments:
        return []
    rows = ["||Segment||In this theme||Overall||"]
    for s in brief.segments:
        rows.append(f"|{escape_wiki(s.field)} = {escape_wiki(s.value)}|{_pct(s.share)}|{_pct(s.baseline)}|")
    return rows
