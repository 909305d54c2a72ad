"""Does a comment name a problem or a request, or is it praise or a vague remark with no reason?

"pretty good", "does the job", "meh, it's ok I guess" say how someone feels but not why: clustered,
they form big themes nobody can act on, and filed, they become issues with no problem in them. Such
comments go to a counted "no specific reason" bucket that reports show, never to themes or trackers.

The decision is made per clause, because feedback mixes the two ("good but exports are slow" names a
problem; "good, nothing special" does not): a comment is vague only when every clause is. A clause is
vague when it holds no word that names anything specific (lexical cue: stop words and generic
sentiment only), specific when it holds several such words or a problem or request word ("need",
"can't", "missing", "slow") beside a specific one, and otherwise judged by meaning: its
embedding's mean similarity to the nearest shipped examples of vague remarks against that to the
nearest shipped examples of specific problems and requests (a k-nearest-prototypes vote). The examples
below are written for the purpose (generic NPS wording, no product's own phrases); the labelled set in
``benchmarks/data/vague_remarks.csv`` that measures the decision shares no text with them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from backlog_bridge.cluster.clusterer import FloatArray
from backlog_bridge.cluster.label import CUE_WORDS, GENERIC_WORDS, Encode, words

VAGUE_EXAMPLES = (
    "good",
    "very good",
    "pretty good overall",
    "great",
    "it's great",
    "excellent",
    "amazing",
    "awesome product",
    "we love this",
    "really like it",
    "it's fine",
    "fine i guess",
    "it's okay",
    "okay i suppose",
    "ok",
    "alright",
    "not bad",
    "could be worse",
    "decent",
    "decent enough",
    "solid",
    "it works",
    "works well enough",
    "it does what it should",
    "gets the job done",
    "serves its purpose",
    "good enough for us",
    "no complaints",
    "nothing to complain about",
    "nothing special",
    "average",
    "mediocre",
    "middle of the road",
    "so-so",
    "meh",
    "not great, not terrible",
    "could be better",
    "room for improvement",
    "there is always room to improve",
    "some things could be improved",
    "needs some work",
    "a few issues here and there",
    "some minor issues",
    "has its ups and downs",
    "mixed feelings",
    "not impressed",
    "disappointed",
    "very disappointing",
    "bad",
    "terrible",
    "awful experience",
    "hate it",
    "not happy",
    "unhappy with it",
    "it just doesn't work for us",
    "not what we expected",
    "expected more",
    "we are looking at alternatives",
    "might switch to a competitor",
    "we will probably cancel",
    "considering other options",
    "would not recommend",
    "i would recommend it",
    "recommended it to friends",
    "happy customer",
    "satisfied overall",
    "mostly satisfied",
    "pleased so far",
    "keep up the good work",
    "thank you",
    "thanks team",
    "good job guys",
    "well done",
    "been using it for years",
    "long time user",
    "we use it every day",
    "my team uses it",
    "no reason",
    "just because",
    "hard to say",
    "i don't know",
    "not sure yet",
    "too early to tell",
    "haven't used it much",
    "still learning it",
    "it is what it is",
    "nothing more to add",
    "that's all",
    "everything is fine",
    "all good here",
    "generally positive",
    "quality went down",
    "it used to be better",
    "getting worse",
    "lots of problems",
    "too many issues",
    "full of bugs",
    "buggy",
    "nice tool",
    "useful",
    "helpful",
    "easy",
    "simple",
    "reliable",
    "the best",
    "best in class",
    "better than the rest",
    "worth it",
    "value for money",
    "the team is great",
    "great company",
    "great service",
    "good experience so far",
    "overall a good experience",
    "as expected",
    "just okay",
    "it's alright for now",
    "love the calendar view",
    "the search is fast",
    "support was very helpful",
    "the staff were friendly",
    "easy to set up",
    "the new design looks great",
    "integrations work nicely",
    "reporting is really useful",
    "the mobile app is great",
    "fast and reliable",
    "saves us a lot of time",
    "clean interface",
    "customer service was excellent",
    "checkout was quick",
    "delivery was on time",
)
"""Praise (also of a named part: nothing to fix there), judgement, mood or intent without a reason to file."""

SPECIFIC_EXAMPLES = (
    "the export to excel takes forever",
    "reports load very slowly",
    "search never finds what i need",
    "the app crashes when i upload a file",
    "it freezes on the login screen",
    "i keep getting logged out",
    "password reset email never arrives",
    "two factor codes don't work",
    "single sign-on with okta is missing",
    "please add a dark mode",
    "we need an api for bulk updates",
    "would love a gantt chart",
    "wish it integrated with outlook calendar",
    "add keyboard shortcuts",
    "let us customise the fields",
    "support took a week to answer",
    "the support agent was rude",
    "nobody called me back",
    "long wait on the phone",
    "chat support is a bot that can't help",
    "too expensive for small teams",
    "the price went up again",
    "charged twice this month",
    "billing is confusing",
    "refund never arrived",
    "cancelling the subscription is impossible",
    "hidden fees on the invoice",
    "the mobile app is missing offline mode",
    "notifications come too late",
    "too many email notifications",
    "can't turn off notifications",
    "sync with google drive breaks",
    "data got lost after the update",
    "my changes were not saved",
    "the new layout is confusing",
    "menus are hard to find",
    "the font is too small",
    "onboarding was confusing",
    "documentation is outdated",
    "no way to undo a delete",
    "permissions are too coarse",
    "guests can see private boards",
    "import from csv fails",
    "attachments over 10 mb fail",
    "the calendar shows the wrong time zone",
    "dates are in us format only",
    "translation into german is poor",
    "the website is down a lot",
    "pages time out in the afternoon",
    "the dashboard is slow",
    "printing cuts off the last column",
    "the integration with slack stopped working",
    "webhooks fire twice",
    "the delivery was late",
    "package arrived damaged",
    "my order was cancelled without notice",
    "flight was delayed five hours",
    "lost my luggage",
    "the seat was broken",
    "rooms were dirty",
    "the food was cold",
    "waited an hour for a table",
    "the loan fees were not disclosed",
    "interest rate was higher than promised",
    "they withdrew money from my account without permission",
    "debt collectors keep calling",
    "the payment was applied late",
    "my credit report shows a wrong balance",
    "they would not give me a payoff amount",
    "the contract terms changed",
    "account was closed without warning",
    "can't find the settings page",
    "the filter resets every time",
    "sorting by date doesn't work",
    "no bulk edit",
    "the free plan is too limited",
    "seat pricing is unfair",
    "missing a linux client",
    "the windows app uses too much memory",
    "battery drains fast with the app",
    "video calls keep dropping",
    "audio quality is bad",
    "the checkout page errors out",
    "coupon code was not accepted",
    "shipping costs are too high",
    "the product description was wrong",
    "customer service never answers emails",
    "the representative hung up on me",
    "they transferred me five times",
    "on hold for two hours",
    "good tool but the exports are slow",
    "love it, just add dark mode please",
    "fine, but the mobile app crashes a lot",
    "ok overall except the pricing",
    "great app, needs better search",
    "works, but syncing is unreliable",
    "decent, wish it had recurring tasks",
    "not bad but support is slow",
    "it's fine though the reports are clunky",
    "solid product, the api docs are lacking",
    "slow",
    "too pricey",
    "crashes",
    "laggy",
    "confusing ui",
    "bad support",
    "expensive",
    "missing features like time tracking",
    "hard to set up",
    "login issues",
)
"""Problems and requests that name what is wrong, missing or wanted, including mixed remarks."""

# Clauses end at punctuation and at words that join or contrast two statements.
_CLAUSE_END = re.compile(
    r"[.,;:!?()\n]+|\s[-–—]+\s|\b(?:but|except|however|although|though|yet|otherwise|apart from|other than"
    r"|and|plus|also|just|only)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Words of remarks, sentiment and intent: with stop words and `GENERIC_WORDS`, a clause made only of
# these names nothing to fix ("we like it", "keep it up", "would recommend", "could be better").
VAGUE_WORDS = GENERIC_WORDS | words(
    """
    like likes liked love loves loved hate hates enjoy enjoyed recommend recommended recommending
    keep thanks thank cheers guys team folks everyone far definitely absolutely probably honestly
    basically okish alright awesome amazing excellent fantastic wonderful brilliant perfect superb
    terrible horrible awful disappointing mediocre average boring meh fine decent solid cool
    happy glad pleased satisfied unsatisfied dissatisfied impressed unimpressed frustrated annoyed
    improve improved improving improvement better worse suppose guess overall general generally
    enough expected expect expectations special ok okay yes yeah nope ups downs feelings
    recommendation reason reasons sure tell say said saying says done does doing job purpose
    complaint complaints big small minor major bugs bug buggy glitches glitchy lately recently quirks
    annoyances rough edges clunky switching moving switch alternative alternatives competitor
    friend friends colleague colleagues meet meets met favourite favorite purchase waste cheerful
    specific particular intuitive polish polished did place places
    it's that's there's here's what's i'm we're you're they're i've we've i'd we'd i'll we'll let's
    don't doesn't isn't aren't wasn't weren't won't can't cannot couldn't wouldn't shouldn't didn't
    haven't hasn't somewhat exciting smooth smoother fancy spectacular stellar flawless
    """
)


@dataclass(frozen=True)
class SpecificityParams:
    """How vague remarks are told from specific ones.

    Attributes:
        k: nearest examples of each kind whose similarities are averaged.
        margin: a clause is vague when its mean similarity to the nearest vague examples exceeds
            that to the nearest specific ones by more than this.
        specific_words: a clause with at least this many specific words is specific outright.
    """

    k: int = 3
    margin: float = 0.15
    specific_words: int = 4


def clauses(text: str) -> list[str]:
    """The clauses of a comment, split at punctuation and at joining or contrasting words."""
    return [" ".join(piece.split()) for piece in _CLAUSE_END.split(text) if piece and piece.strip()]


def specific_words(clause: str) -> list[str]:
    """Words of a clause that may name something to fix: not stop words, not remark or sentiment words."""
    words = [w.casefold().replace("’", "'") for w in _WORD.findall(clause)]
    return [w for w in words if w not in ENGLISH_STOP_WORDS and w not in VAGUE_WORDS and len(w) > 1]


class SpecificityJudge:
    """Decides per comment whether it is a vague remark (praise, judgement or mood without a reason).

    Example:
        >>> judge = SpecificityJudge(embedder.encode)  # doctest: +SKIP
        >>> judge.vague(["pretty good", "good but the exports are slow", "please add dark mode"])  # doctest: +SKIP
        [True, False, False]
    """

    def __init__(
        self,
        encode: Encode,
        params: SpecificityParams | None = None,
        vague_examples: Sequence[str] = VAGUE_EXAMPLES,
        specific_examples: Sequence[str] = SPECIFIC_EXAMPLES,
    ) -> None:
        """Embed the examples once with `encode`, the comments' model."""
        self.encode = encode
        self.params = params or SpecificityParams()
        self._vague = encode(list(vague_examples))
        self._specific = encode(list(specific_examples))

    def vague(self, texts: Sequence[str]) -> list[bool]:
        """True for each comment whose every clause is vague (an empty comment is vague too)."""
        per_text = [clauses(text) for text in texts]
        undecided = sorted({c for cs in per_text for c in cs if self._lexical(c) is None})
        verdict = dict(zip(undecided, self._by_meaning(undecided), strict=True)) if undecided else {}
        found = []
        for cs in per_text:
            decided = [self._lexical(c) for c in cs]
            found.append(all(verdict[c] if d is None else d for c, d in zip(cs, decided, strict=True)))
        return found

    def _lexical(self, clause: str) -> bool | None:
        """Vague when nothing specific is named, specific when much is; None leaves it to meaning."""
        named = specific_words(clause)
        if not named:
            return True
        if len(named) >= self.params.specific_words:
            return False
        said = {w.casefold().replace("’", "'") for w in _WORD.findall(clause)}
        if said & CUE_WORDS and set(named) - CUE_WORDS:
            return False
        return None

    def _by_meaning(self, texts: Sequence[str]) -> list[bool]:
        vectors = self.encode(list(texts))
        return [bool(s > self.params.margin) for s in self.scores(vectors)]

    def scores(self, vectors: FloatArray) -> npt.NDArray[np.float64]:
        """Mean similarity to the k nearest vague examples minus that to the k nearest specific ones."""
        k = self.params.k
        return _top_mean(vectors @ self._vague.T, k) - _top_mean(vectors @ self._specific.T, k)


def _top_mean(sims: FloatArray, k: int) -> npt.NDArray[np.float64]:
    k = min(k, sims.shape[1])
    return np.asarray(np.sort(sims, axis=1)[:, -k:].mean(axis=1), dtype=np.float64)
