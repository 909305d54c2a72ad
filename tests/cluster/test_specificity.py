import numpy as np
import pytest

from backlog_bridge.cluster.specificity import (
    SPECIFIC_EXAMPLES,
    VAGUE_EXAMPLES,
    SpecificityJudge,
    SpecificityParams,
    clauses,
    specific_words,
)


class Recorder:
    """A fake encoder: fixed random unit vectors per text, and a record of what it was asked."""

    def __init__(self, dim=16):
        self.dim, self.calls, self.cache = dim, [], {}

    def encode(self, texts):
        self.calls.append(list(texts))
        rng = np.random.default_rng
        rows = [self.cache.setdefault(t, rng(abs(hash(t)) % 2**32).normal(size=self.dim)) for t in texts]
        rows = np.array(rows).reshape(len(texts), self.dim)
        return (rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def test_clauses_split_at_punctuation_and_contrast():
    assert clauses("good but slow exports") == ["good", "slow exports"]
    assert clauses("Fine, I guess. Search is broken!") == ["Fine", "I guess", "Search is broken"]
    assert clauses("works, except the calendar sync") == ["works", "the calendar sync"]


def test_specific_words_drop_stop_sentiment_and_remark_words():
    assert specific_words("it's pretty good overall") == []
    assert specific_words("we love it, keep it up") == []
    assert specific_words("the calendar sync duplicates events") == ["calendar", "sync", "duplicates", "events"]


def test_lexical_cues_decide_without_the_model():
    fake = Recorder()
    judge = SpecificityJudge(fake.encode)
    asked = len(fake.calls)
    flags = judge.vague(
        ["pretty good overall", "does the job I guess", "please add dark mode", "can't export to pdf",
         "good, but the calendar sync duplicates events", "meh. okay"]
    )  # fmt: skip
    assert flags == [True, True, False, False, False, True]
    assert len(fake.calls) == asked  # nothing left for the model to judge


def test_a_comment_is_vague_only_when_every_clause_is():
    fake = Recorder()
    # With one example of each kind equal to the clause, its own example decides.
    judge = SpecificityJudge(fake.encode, SpecificityParams(k=1), ["kanban view"], ["gantt view"])
    assert judge.vague(["nice. kanban view", "nice. gantt view", "gantt view, great"]) == [True, False, False]


def test_undecided_clauses_are_embedded_once_per_batch():
    fake = Recorder()
    judge = SpecificityJudge(fake.encode, SpecificityParams(k=1), ["kanban view"], ["gantt view"])
    before = len(fake.calls)
    judge.vague(["kanban view", "kanban view", "ok, kanban view"])
    assert fake.calls[before:] == [["kanban view"]]


def test_shipped_examples_are_distinct():
    folded = [t.casefold() for t in VAGUE_EXAMPLES + SPECIFIC_EXAMPLES]
    assert len(folded) == len(set(folded))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("comment", "vague"),
    [
        ("good but slow exports", False),
        ("app is fine I guess", True),
        ("love it", True),
        ("please add dark mode", False),
        ("Honestly it's alright, nothing amazing", True),
        ("the android widget never refreshes", False),
        ("way too pricey for what you get", False),
        ("calendar invites arrive in the wrong time zone", False),
        ("decent enough, I suppose", True),
    ],
)
def test_real_model_tells_vague_from_specific(embedder, comment, vague):
    assert SpecificityJudge(embedder.encode).vague([comment]) == [vague]


@pytest.mark.slow
def test_the_default_margin_keeps_borderline_praise_in_themes(embedder):
    # Praise naming a part is borderline: at margin 0 the meaning vote calls it vague; the default
    # margin asks for a clear lead, so it stays with the themes (a real problem set aside is worse).
    comment = ["Happy with the product, the team is responsive"]
    assert SpecificityJudge(embedder.encode, SpecificityParams(margin=0.0)).vague(comment) == [True]
    assert SpecificityJudge(embedder.encode).vague(comment) == [False]
