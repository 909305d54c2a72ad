"""GitHub-flavoured Markdown: the one Markdown escaper, and the brief's Markdown emitter.

Customer text (quotes, theme labels, keywords, segment values) must come out as inert text: no
@mentions (they notify strangers), no #123 / owner/repo#1 / GH-1 cross-links (they post
back-references into other issues), no images, links or HTML. GitHub resolves mentions and
references *after* Markdown parsing, so backslash escapes are not enough: a zero-width joiner
(U+200D) after `@` and `#` and inside `GH-`, `://` and `www.` breaks them while the text reads
the same. HTML is entity-escaped, so customer text can never forge an HTML comment marker either.
Used for issue bodies, the Markdown report and the sprint plan alike.
"""

from __future__ import annotations

import html
import re
from typing import assert_never

from backlog_bridge.brief.document import (
    ZWJ,
    Badge,
    Block,
    BriefDocument,
    Code,
    Figures,
    Heading,
    Inline,
    Link,
    Links,
    Paragraph,
    Quotes,
    Runs,
    Strong,
    Table,
    Text,
    Verdict,
    break_bare_links,
    one_line,
    safe_url,
    spaced,
)

# CommonMark lets every ASCII punctuation character be backslash-escaped; these are the ones that
# start or close Markdown syntax (& < > are entity-escaped first, so entities survive). Parentheses
# only matter after `]` (escaped) or as a list marker `1)` (handled below), so figures such as
# "40 (30 detractors, 10 passives)" stay readable for a person editing the source.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#+\-.!|~=^$])")
_LIST_PAREN = re.compile(r"^(\d+)\)")
_GH_REF = re.compile(r"\b(GH)(?=\\?-\d)", re.IGNORECASE)
_PLAIN_CODE = re.compile(r"[\w.:/=+, -]+")


def neutralise_references(text: str) -> str:
    """Break mentions, issue references and autolinks with a zero-width joiner (text reads the same)."""
    text = text.replace("@", "@" + ZWJ).replace("#", "#" + ZWJ)
    return break_bare_links(_GH_REF.sub(lambda m: m.group(1) + ZWJ, text))


def escape_markdown(text: str) -> str:
    """`text` as one line of inert Markdown: HTML entity-escaped, syntax escaped, references broken."""
    text = html.escape(one_line(text), quote=False)
    text = _LIST_PAREN.sub(r"\1\\)", _MD_SPECIAL.sub(r"\\\1", text))
    return neutralise_references(text)


def escape_title(text: str) -> str:
    """A plain-text title (GitHub does not render Markdown in titles, but links references)."""
    return neutralise_references(one_line(text))


def to_markdown(document: BriefDocument, level: int = 3) -> str:
    """The brief as Markdown; its heading at `level` (3: `###`) to fit the surrounding document."""
    return "\n\n".join(block_markdown(block, level) for block in document.blocks)


def block_markdown(block: Block, level: int = 3) -> str:
    """One block as Markdown."""
    e = escape_markdown
    if isinstance(block, Heading):
        return f"{'#' * level} {e(block.text)}"
    if isinstance(block, Figures):
        return "\n".join(f"- **{e(row.name)}:** {runs_markdown(row.runs)}" for row in block.rows)
    if isinstance(block, Table):
        lines = [f"**{e(block.caption)}:**", "", _row(block.header), "|" + " --- |" * len(block.header)]
        return "\n".join(lines + [_row(row) for row in block.rows])
    if isinstance(block, Paragraph):
        return runs_markdown(block.runs)
    if isinstance(block, Verdict):
        return "\n".join([runs_markdown(block.runs), "", *(f"- {e(figure)}" for figure in block.figures)]).rstrip()
    if isinstance(block, Quotes):
        return "\n\n".join([f"**{e(block.title)}:**", *(f"> {e(quote)}" for quote in block.quotes)])
    if isinstance(block, Links):
        return " · ".join(inline_markdown(link) for link in block.links)
    assert_never(block)


def runs_markdown(runs: Runs) -> str:
    """Inline runs as Markdown."""
    return "".join(inline_markdown(run) for run in runs)


def inline_markdown(run: Inline) -> str:
    """One inline run as Markdown; a link only to a safe URL."""
    if isinstance(run, Text):
        return spaced(run.text, escape_markdown)
    if isinstance(run, Strong | Badge):
        return f"**{escape_markdown(run.text)}**"
    if isinstance(run, Code):
        # A code span shows `<`, `&` and backslashes literally: only plain identifiers go in one.
        return f"`{run.text}`" if _PLAIN_CODE.fullmatch(run.text) else escape_markdown(run.text)
    if isinstance(run, Link):
        url = safe_url(run.url)
        return f"[{escape_markdown(run.text)}]({url})" if url else escape_markdown(run.text)
    assert_never(run)


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(escape_markdown(cell) for cell in cells) + " |"
