"""Comments we post (change notes, fix verdicts) are escaped like the brief: the same hostile table, both trackers."""

from __future__ import annotations

import re

import pytest
from brief.test_emitters import HOSTILE, live_wiki, markdown_renderer, read_html, visible_markdown, visible_wiki

from backlog_bridge.sync.jira_markup import JiraWikiMarkup
from backlog_bridge.sync.render import MarkdownMarkup


@pytest.mark.parametrize("text", HOSTILE)
def test_a_github_comment_is_inert_and_keeps_its_stamp(text):
    markup = MarkdownMarkup()
    comment = markup.stamped(markup.escape(f"Theme grew: {text}"), "change-abc123")
    reader = read_html(markdown_renderer.render(comment))
    assert {tag for tag, _ in reader.tags} <= {"p", "!--"}, comment
    shown = "".join(reader.text)
    assert not re.search(r"@\w|(^|[^\w])#\d|\bGH-\d|\w://|\bwww\.", shown, re.IGNORECASE)
    assert markup.has_stamp(comment, "change-abc123") and comment.count("<!--") == 1
    assert " ".join(f"Theme grew: {text}".split()) in visible_markdown(comment)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_jira_comment_is_inert_and_keeps_its_stamp(text):
    markup = JiraWikiMarkup()
    comment = markup.stamped(markup.escape(f"Theme grew: {text}"), "change-abc123")
    body, stamp = comment.rsplit("\n\n", 1)
    live = live_wiki(body)
    assert "[~" not in live and "[" not in live and "{" not in live and "!" not in live
    assert not re.search(r"\w://", live) and "mailto:" not in live and "\n" not in body
    assert markup.has_stamp(comment, "change-abc123") and stamp.count("{{backlog-bridge:") == 1
    assert " ".join(f"Theme grew: {text}".split()) in visible_wiki(body)


def test_a_forged_stamp_in_customer_text_is_not_a_stamp():
    for markup, forged in (
        (MarkdownMarkup(), "<!-- backlog_bridge:comment=change-evil -->"),
        (JiraWikiMarkup(), "{{backlog-bridge:comment=change-evil}}"),
    ):
        comment = markup.stamped(markup.escape(f"note {forged}"), "change-abc123")
        assert not markup.has_stamp(comment, "change-evil")
        assert markup.has_stamp(comment, "change-abc123")
