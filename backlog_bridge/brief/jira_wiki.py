r"""Jira wiki markup: the one wiki escaper, and the brief's wiki emitter.

Jira's REST API v2 (Cloud and Data Center alike) reads and writes descriptions and comments in wiki
markup; Cloud converts to and from its document format on the way. Customer text (quotes, theme labels,
keywords, segment values) reaches Jira as inert text:

* every character that starts wiki syntax is backslash-escaped, so `[~accountid:...]` mentions,
  `[text|url]` links, `!image!`, `{html}` / `{color}` macros, tables and emphasis stay literal;
* a backslash itself would start a line break (`\\`), so it becomes a look-alike (U+29F5);
* bare URLs (Jira links `https://...`, `mailto:...` by itself) are broken with a zero-width joiner
  so they read the same but are not links;
* line breaks collapse to spaces: nothing a customer wrote can start a heading, list or `bq.` line.
"""

from __future__ import annotations

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

BACKSLASH_LOOKALIKE = "\u29f5"

# Characters that start or close wiki markup: emphasis * _ ? - + ^ ~, macros { }, links and
# mentions [ ], images !, tables |, lists and headings # at a line start, citations ??.
_WIKI_SPECIAL = re.compile(r"([*_?\-+^~{}\[\]|!#])")
_MAILTO = re.compile(r"\b(mailto|file|news|irc)(?=:)", re.IGNORECASE)


def neutralise_links(text: str) -> str:
    """Break bare URLs Jira would link (scheme://, mailto:, www.) with a zero-width joiner."""
    return break_bare_links(_MAILTO.sub(lambda m: m.group(1) + ZWJ, text))


def escape_wiki(text: str) -> str:
    """`text` as one line of inert Jira wiki markup (see the module docstring)."""
    text = one_line(text).replace("\\", BACKSLASH_LOOKALIKE)
    text = _WIKI_SPECIAL.sub(r"\\\1", text)
    return neutralise_links(text)


def to_wiki(document: BriefDocument, level: int = 3) -> str:
    """The brief as Jira wiki markup; its heading at `level` (3: `h3.`)."""
    return "\n\n".join(block_wiki(block, level) for block in document.blocks)


def block_wiki(block: Block, level: int = 3) -> str:
    """One block as wiki markup."""
    e = escape_wiki
    if isinstance(block, Heading):
        return f"h{level}. {e(block.text)}"
    if isinstance(block, Figures):
        return "\n".join(f"* *{e(row.name)}:* {runs_wiki(row.runs)}" for row in block.rows)
    if isinstance(block, Table):
        header = "||" + "||".join(e(cell) for cell in block.header) + "||"
        rows = ["|" + "|".join(e(cell) for cell in row) + "|" for row in block.rows]
        return "\n".join([f"*{e(block.caption)}:*", header, *rows])
    if isinstance(block, Paragraph):
        return runs_wiki(block.runs)
    if isinstance(block, Verdict):
        return "\n".join([runs_wiki(block.runs), *(f"* {e(figure)}" for figure in block.figures)])
    if isinstance(block, Quotes):
        return "\n".join([f"*{e(block.title)}:*", *(f"bq. {e(quote)}" for quote in block.quotes)])
    if isinstance(block, Links):
        return " · ".join(inline_wiki(link) for link in block.links)
    assert_never(block)


def runs_wiki(runs: Runs) -> str:
    """Inline runs as wiki markup."""
    return "".join(inline_wiki(run) for run in runs)


def inline_wiki(run: Inline) -> str:
    """One inline run as wiki markup; a link only to a safe URL."""
    if isinstance(run, Text):
        return spaced(run.text, escape_wiki)
    if isinstance(run, Strong | Badge):
        return f"*{escape_wiki(run.text)}*"
    if isinstance(run, Code):
        return f"{{{{{escape_wiki(run.text)}}}}}"
    if isinstance(run, Link):
        url = safe_url(run.url)
        return f"[{escape_wiki(run.text)}|{url}]" if url else escape_wiki(run.text)
    assert_never(run)
