"""GitHub-flavoured Markdown for a theme's issue: the managed section and its markers.

The brief inside is `brief.wording`'s, emitted by `brief.markdown`, whose escaper keeps customer
text inert (no @mentions, cross-links, images, links or HTML) and so unable to forge our markers.

The issue body is the human's text outside the markers (kept verbatim) plus one managed section::

    <!-- backlog_bridge:begin -->
    <!-- backlog_bridge:theme=KEY -->
    <!-- backlog_bridge:figures {"respondents": 80, "share": 0.034, "priority": "P1"} -->
    ...rendered brief...
    <!-- backlog_bridge:end -->
"""

from __future__ import annotations

import json
import re

from backlog_bridge.brief.document import ZWJ
from backlog_bridge.brief.markdown import escape_markdown, escape_title, to_markdown
from backlog_bridge.brief.wording import issue_brief
from backlog_bridge.plan.model import PlanItem
from backlog_bridge.sync.tracker import ManagedFigures

__all__ = ["BEGIN", "END", "ZWJ", "MarkdownMarkup", "escape_markdown", "escape_title"]

BEGIN = "<!-- backlog_bridge:begin -->"
END = "<!-- backlog_bridge:end -->"
TITLE_PREFIX = "NPS: "
MAX_TITLE = 256

_THEME_MARKER = re.compile(r"<!-- backlog_bridge:theme=([A-Za-z0-9_.:-]+) -->")
_FIGURES_MARKER = re.compile(r"<!-- backlog_bridge:figures (\{[^<>]*\}) -->")
_STAMP_MARKER = re.compile(r"<!-- backlog_bridge:comment=([A-Za-z0-9_.:-]+) -->")


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
            to_markdown(issue_brief(item)),
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
