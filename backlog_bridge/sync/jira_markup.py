r"""Jira wiki markup for a theme's issue: the managed section and its markers.

Jira's REST API v2 (Cloud and Data Center alike) reads and writes descriptions and comments in wiki
markup; Cloud converts to and from its document format on the way. Wiki markup has no hidden
comments, so the markers are short monospace tokens in grey (`{{backlog-bridge:begin}}`).

The brief inside is `brief.wording`'s, emitted by `brief.jira_wiki`, whose escaper keeps customer
text inert (no mentions, links, images or macros) and turns every `{` into `\{`, so it can never forge
a marker.

The managed section (the human's text outside it is kept verbatim)::

    {color:#97a0af}{{backlog-bridge:begin}} Managed by backlog_bridge: ...{color}
    h3. Checkout fails on mobile
    ...
    {color:#97a0af}{{backlog-bridge:theme=KEY}} {{backlog-bridge:figures ...}} {{backlog-bridge:end}}{color}
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlencode

from backlog_bridge.brief.document import ZWJ, one_line
from backlog_bridge.brief.jira_wiki import BACKSLASH_LOOKALIKE, escape_wiki, to_wiki
from backlog_bridge.brief.wording import issue_brief
from backlog_bridge.plan.model import PlanItem
from backlog_bridge.sync.tracker import ManagedFigures

__all__ = ["BACKSLASH_LOOKALIKE", "BEGIN", "END", "ZWJ", "JiraWikiMarkup", "escape_wiki"]

BEGIN = "{{backlog-bridge:begin}}"
END = "{{backlog-bridge:end}}"
TITLE_PREFIX = "NPS: "
MAX_SUMMARY = 255
"""Jira's limit on a summary."""
GREY = "#97a0af"

_THEME_MARKER = re.compile(r"\{\{backlog-bridge:theme=([A-Za-z0-9_.:-]+)\}\}")
_FIGURES_MARKER = re.compile(r"\{\{backlog-bridge:figures ([A-Za-z0-9_.%&=+-]*)\}\}")
_STAMP_MARKER = re.compile(r"\{\{backlog-bridge:comment=([A-Za-z0-9_.:-]+)\}\}")


def _grey(text: str) -> str:
    return f"{{color:{GREY}}}{text}{{color}}"


class JiraWikiMarkup:
    """`Markup` for Jira: wiki markup with monospace-token markers."""

    def title(self, label: str) -> str:
        """`NPS: <label>` as a one-line summary, at most 255 characters."""
        return (TITLE_PREFIX + one_line(label))[:MAX_SUMMARY]

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
            to_wiki(issue_brief(item)),
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
