"""Before clustering: normalise comment text and set aside comments with nothing to act on.

"n/a", "ok", an emoji or a lone "-" would otherwise form big, meaningless themes and dilute real ones.
They go to an explicit "no actionable comment" bucket that reports can still count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

NO_ACTIONABLE_COMMENT = "no actionable comment"
"""Name of the bucket for comments that say nothing a team can act on."""

# Whole comments (after normalisation and stripping punctuation) that carry no actionable content,
# in English plus a few common other languages.
_GENERIC = frozenset(
    "|".join(
        (
            # no content
            "n a|na|none|nothing|no|nope|nil|null|no comment|no comments|nothing to add|nothing else",
            "nothing really|not really|no idea|dunno|idk|don t know|dont know|not sure|no thanks",
            "nothing to say|all good|test|asdf|xxx|yes|yeah|yep|maybe|same|see above|as above",
            # generic praise, acknowledgement or mood without a reason
            "good|ok|okay|k|great|fine|nice|cool|awesome|excellent|perfect|love it|very good|all fine",
            "thanks|thank you|thx|good job|keep it up|well done|satisfied|happy|good service",
            "great service|its fine|it s fine|it is fine|its ok|it s ok|it is ok|so so|meh|average|bad",
            # de / fr / es / it / pt / nl
            "nein|nichts|keine|keine ahnung|gut|alles gut|danke",
            "rien|non|aucun|aucune|rien a dire|bien|tres bien|merci|ras",
            "nada|ninguno|ninguna|bueno|muy bien|gracias",
            "niente|nessuno|bene|grazie|nao|obrigado|niets|geen|goed",
        )
    ).split("|")
)
_WORD = re.compile(r"\w+", re.UNICODE)
_MIN_LETTERS = 3


@dataclass(frozen=True)
class Split:
    """Row indices of a batch of comments, split by whether they are worth clustering.

    Attributes:
        actionable: rows to embed and cluster, in input order.
        no_actionable: rows for the `NO_ACTIONABLE_COMMENT` bucket, in input order.
    """

    actionable: tuple[int, ...]
    no_actionable: tuple[int, ...]


def normalise_text(text: str) -> str:
    """Unicode-NFKC, case-folded, whitespace-collapsed text: the embedding cache key.

    Two comments that differ only in case or spacing embed the same, so they share a cache entry.
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_actionable(comment: str | None) -> bool:
    """True when a comment may say something a team can act on.

    Not actionable: empty, punctuation/emoji/digits only, fewer than three letters in all, or a
    whole-comment stock phrase ("n/a", "good", "nothing", "nein", "rien", "nada", ...).
    """
    if comment is None:
        return False
    text = normalise_text(comment)
    words = [w for w in _WORD.findall(_strip_accents(text)) if not w.isdigit()]
    if sum(len(w) for w in words) < _MIN_LETTERS:
        return False
    phrase = " ".join(words).replace("_", " ")
    return phrase not in _GENERIC


def split_actionable(comments: Sequence[str | None]) -> Split:
    """Split a batch into rows worth clustering and rows for the no-actionable bucket."""
    flags = [is_actionable(c) for c in comments]
    return Split(
        actionable=tuple(i for i, ok in enumerate(flags) if ok),
        no_actionable=tuple(i for i, ok in enumerate(flags) if not ok),
    )


def _strip_accents(text: str) -> str:
    # "très bien" and "tres bien", "não" and "nao" must match the same stock phrase.
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
