"""The theme brief as a small document: blocks of inline runs, with no format of its own.

Every node maps onto each target: GitHub Markdown, Jira wiki markup, HTML, and Atlassian's document
format for Jira Cloud (ADF: heading, paragraph, text with strong/code/link marks, status lozenge, table,
blockquote, bullet list), so another emitter can be added without touching the wording. Nodes hold
plain, unescaped text: escaping is the emitter's job, once, at the edge.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal
from urllib.parse import urlsplit

ZWJ = "\u200d"
"""Zero-width joiner: put inside a trigger (`@name`, `https://`), it breaks the trigger and reads the same."""
Tone = Literal["good", "bad", "neutral"]
"""How a badge or verdict reads: good news, bad news, or neither."""

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME = re.compile(r"(?<=[A-Za-z])(?=://)")
_WWW = re.compile(r"\b(www)(?=\\?\.)", re.IGNORECASE)
# Characters that can close or break a link in one of the formats: Markdown `(url)`, Jira `[text|url]`,
# HTML attributes; whitespace and control characters never belong in a URL we write.
_URL_BREAKERS = re.compile(r"[\s\x00-\x1f\x7f<>()\[\]{}|!\"'`\\]")


def safe_url(url: str | None) -> str | None:
    """`url` when it is a plain http(s) address that cannot break out of a link in any format; else None.

    The one URL check: every emitter writes a link only through it (a `javascript:` or `data:` URL,
    or one with a bracket, quote or space, becomes plain text).
    """
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or _URL_BREAKERS.search(url):
        return None
    return url


def one_line(text: str) -> str:
    """`text` on one line without control characters: where every escaper starts."""
    return _WHITESPACE.sub(" ", _CONTROL.sub("", text)).strip()


def break_bare_links(text: str) -> str:
    """Break `scheme://` and `www.` (even with an escaped dot) with a zero-width joiner: no autolink."""
    return _WWW.sub(lambda m: m.group(1) + ZWJ, _SCHEME.sub(ZWJ, text))


# --- inline runs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """Plain text."""

    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True)
class Strong:
    """Emphasised text (a name, a priority)."""

    text: str
    kind: ClassVar[str] = "strong"


@dataclass(frozen=True)
class Code:
    """An identifier a reader may type into a command (a theme key)."""

    text: str
    kind: ClassVar[str] = "code"


@dataclass(frozen=True)
class Link:
    """A link; emitters write it only when `safe_url(url)` holds, else the text alone."""

    text: str
    url: str
    kind: ClassVar[str] = "link"


@dataclass(frozen=True)
class Badge:
    """A short status word with a tone: a trend, a fix verdict (ADF: a status lozenge)."""

    text: str
    tone: Tone
    kind: ClassVar[str] = "badge"


Inline = Text | Strong | Code | Link | Badge
Runs = tuple[Inline, ...]


# --- blocks ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """The brief's title; its level is the emitter's (it depends on the surrounding document)."""

    text: str
    kind: ClassVar[str] = "heading"


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of runs."""

    runs: Runs
    kind: ClassVar[str] = "paragraph"


@dataclass(frozen=True)
class Figure:
    """One named figure: "Respondents" -> "40 (30 detractors, 10 passives), ..."."""

    name: str
    runs: Runs


@dataclass(frozen=True)
class Figures:
    """The figure rows, in order."""

    rows: tuple[Figure, ...]
    kind: ClassVar[str] = "figures"


@dataclass(frozen=True)
class Table:
    """A small table of plain cells, under a caption."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class Quotes:
    """Customer quotes (already redacted) under a title."""

    title: str
    quotes: tuple[str, ...]
    kind: ClassVar[str] = "quotes"


@dataclass(frozen=True)
class Verdict:
    """What a shipped fix achieved: a sentence and its supporting figures."""

    tone: Tone
    runs: Runs
    figures: tuple[str, ...]
    kind: ClassVar[str] = "verdict"


@dataclass(frozen=True)
class Links:
    """Links out (the theme's section in the published report)."""

    links: tuple[Link, ...]
    kind: ClassVar[str] = "links"


Block = Heading | Paragraph | Figures | Table | Quotes | Verdict | Links


@dataclass(frozen=True)
class BriefDocument:
    """A theme brief, ready for any emitter."""

    anchor: str
    """The id of the theme's section in the HTML report (`theme-12`): report links end in `#anchor`."""
    blocks: tuple[Block, ...]


def theme_anchor(theme_id: int) -> str:
    """The id of a theme's section in the HTML report."""
    return f"theme-{theme_id}"


def spaced(text: str, escape: Callable[[str], str]) -> str:
    """`escape(text)` keeping one leading and one trailing space: escapers trim, runs need their gaps."""
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() and text.strip() else ""
    return lead + escape(text) + trail
