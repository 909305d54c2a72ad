"""Remove personal data from quotes before they leave the machine (issue bodies, reports).

Detectors find spans; overlapping spans merge (leftmost-longest names the kind) and are replaced
in one pass, so detectors never see each other's replacement tokens and ``redact(redact(x)) == redact(x)``.
Every built-in pattern is anchored by a look-behind that stops it from starting inside a run it
could also start at the beginning of, and has no nested unbounded repeats: time is linear in the
text, so a hostile 1 MB comment cannot stall a run. Candidates are checked in Python where a
regex would be too loose (Luhn for cards, mod-97 for IBANs, digit counts for phone numbers), which
keeps years, dates, versions, prices and order ids intact. Look-arounds treat the brackets of
replacement tokens like letters, so text next to a token is judged as it was before redaction.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from backlog_bridge.plan.rules import RedactionRules, compile_pattern

Span = tuple[int, int]


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind (`email`, `phone`, ... or a team pattern's name) and where."""

    kind: str
    span: Span
    replacement: str


@dataclass(frozen=True)
class Detector:
    """A kind of personal data: a function yielding its spans in a text, and its replacement."""

    kind: str
    replacement: str
    find: Callable[[str], Iterator[Span]]


class Redactor:
    """Finds and replaces personal data with the detectors given (built-ins and team patterns).

    Example:
        >>> Redactor.default().redact("Mail me at jo@example.com, thanks, Maria")
        'Mail me at [email], thanks, [name]'
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self._detectors = tuple(detectors)

    @classmethod
    def from_rules(cls, rules: RedactionRules) -> Redactor:
        """The redactor redaction.toml describes: team patterns first (they win ties), then built-ins."""
        custom = [
            Detector(pattern.name, pattern.replacement, _regex_finder(compile_pattern(pattern)))
            for pattern in rules.pattern
        ]
        enabled = rules.builtin.model_dump()
        return cls([*custom, *(detector for detector in BUILTINS if enabled[detector.kind])])

    @classmethod
    def default(cls) -> Redactor:
        """Every built-in detector, no team patterns (what a missing redaction.toml means)."""
        return cls.from_rules(RedactionRules())

    @property
    def kinds(self) -> tuple[str, ...]:
        """Kinds this redactor detects, in tie-breaking order."""
        return tuple(detector.kind for detector in self._detectors)

    @property
    def replacements(self) -> tuple[str, ...]:
        """The tokens put in place of findings ("[email]", a team's "[redacted]"), each once."""
        return tuple(dict.fromkeys(detector.replacement for detector in self._detectors))

    def findings(self, text: str) -> list[Finding]:
        """Findings in text order; overlapping ones merge into one, named after the leftmost-longest.

        Merging (rather than dropping the loser) means every character any detector flagged is
        redacted, even when two detectors disagree about where something starts.
        """
        found = sorted(
            (start, -end, order, detector)
            for order, detector in enumerate(self._detectors)
            for start, end in detector.find(text)
            if end > start
        )
        merged: list[Finding] = []
        for start, negative_end, _, detector in found:
            end = -negative_end
            if merged and start < merged[-1].span[1]:
                last = merged[-1]
                merged[-1] = Finding(last.kind, (last.span[0], max(end, last.span[1])), last.replacement)
            else:
                merged.append(Finding(detector.kind, (start, end), detector.replacement))
        return merged

    def redact(self, text: str) -> str:
        """The text with every finding replaced by its token (`[email]`, `[phone]`, ...)."""
        parts = []
        last = 0
        for finding in self.findings(text):
            start, end = finding.span
            parts += [text[last:start], finding.replacement]
            last = end
        parts.append(text[last:])
        return "".join(parts)


def _regex_finder(pattern: re.Pattern[str]) -> Callable[[str], Iterator[Span]]:
    def find(text: str) -> Iterator[Span]:
        for match in pattern.finditer(text):
            yield match.span()

    return find


# email ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+\]-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TLD = re.compile(r"[A-Za-z]{2,63}")


_EMAIL_GLUED = re.compile(r"[\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def _domain_end(match: re.Match[str]) -> int | None:
    """End of the address at the last label that is a top-level domain ("x@a.io.v2" ends after io)."""
    domain_start = match.group().index("@") + 1 + match.start()
    labels = match.string[domain_start : match.end()].split(".")
    for count in range(len(labels), 1, -1):
        if _TLD.fullmatch(labels[count - 1]):
            return domain_start + len(".".join(labels[:count]))
    return None


def find_emails(text: str) -> Iterator[Span]:
    """Addresses like jo.doe+nps@mail.example.co.uk (the top-level domain must be letters).

    Addresses glued together ("a@x.coma+b@y.io") are one finding, so no tail is left to find later.
    """
    reach = 0
    for match in _EMAIL.finditer(text):
        end = _domain_end(match)
        if match.start() < reach or end is None:
            continue
        reach = end
        while glued := _EMAIL_GLUED.match(text, reach):
            reach = glued.end()
        yield match.start(), reach


# digit runs: phone numbers and payment cards ---------------------------------------------------

# A maximal run of digit groups (possessive: never split, so a second pass sees the same runs);
# `_sub_runs` decides which part of it, if any, is personal data.
_PHONE_RUN = re.compile(r"(?<![\w+@/.,:$€£\]-])\+?(?:\(\d{1,5}\)|\d)(?:[ ./-]?(?:\(\d{1,5}\)|\d))*+")
_CARD_RUN = re.compile(r"(?<![\w+@/.,:$€£\]-])\d++(?:[ -]\d++)*+")
_GROUP = re.compile(r"\+?\(?\d+\)?")
_GLUED = re.compile(r"[\w@\[]")
_MAX_PHONE_GROUPS = 7
_MAX_CARD_GROUPS = 6


def _sub_runs(
    run: re.Match[str], valid: Callable[[str], bool], digits: tuple[int, int], max_groups: int
) -> Iterator[Span]:
    """Leftmost-longest sub-runs of whole groups, with `digits` (min, max) digits, passing `valid`.

    A sub-run may not end where the text goes on with a letter ("0301234567abc" is an id).
    """
    text, offset = run.string, run.start()
    groups = [(m.start() + offset, m.end() + offset) for m in _GROUP.finditer(run.group())]
    counts = [0]
    for start, end in groups:
        counts.append(counts[-1] + sum(char.isdigit() for char in text[start:end]))
    low, high = digits

    def longest(i: int) -> int | None:
        for j in range(min(len(groups), i + max_groups), i, -1):
            found = counts[j] - counts[i]
            if found < low:  # shorter sub-runs have fewer digits still
                return None
            end = groups[j - 1][1]
            if found <= high and not _GLUED.match(text, end) and valid(text[groups[i][0] : end]):
                return j
        return None

    i = 0
    while i < len(groups):
        last = longest(i)
        if last is None:
            i += 1
            continue
        yield groups[i][0], groups[last - 1][1]
        i = last


def is_phone(candidate: str) -> bool:
    """International (+CC), NANP ((415) 555-0134, 415-555-0134) or trunk-0 national numbers.

    National numbers need a leading 0 and 9-12 digits in groups of two or more, so dates
    (2026-03-04, 04.03.2026), years and order ids are not phone numbers.
    """
    groups = re.findall(r"\d+", candidate)
    digits = "".join(groups)
    shape = [len(group) for group in groups]
    separators = set(re.findall(r"[ ./-]", candidate))
    if candidate.startswith("+"):
        return 8 <= len(digits) <= 15 and "/" not in separators
    if "." in separators:  # dots are common in versions: only 01.42.68.53.00 and 415.555.0134
        return (shape == [2] * 5 and digits[0] == "0") or (shape == [3, 3, 4] and digits[0] in "23456789")
    if candidate.startswith("("):
        return 10 <= len(digits) <= 12
    if shape == [3, 3, 4] and digits[0] in "23456789" and len(separators) == 1:
        return True
    if shape == [1, 3, 3, 4] and groups[0] == "1" and len(separators) == 1:
        return True
    if "/" in separators and not re.fullmatch(r"0\d{2,5}/ ?\d[\d -]*", candidate):
        return False
    return digits[0] == "0" and 9 <= len(digits) <= (15 if digits[1] == "0" else 12) and min(shape) >= 2


def find_phones(text: str) -> Iterator[Span]:
    """Phone numbers in international and national formats (see `is_phone`)."""
    for run in _PHONE_RUN.finditer(text):
        yield from _sub_runs(run, is_phone, (8, 15), _MAX_PHONE_GROUPS)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_card(candidate: str) -> bool:
    """13-19 digits, solid or in groups of 3+ (4-4-4-4, 4-6-5), a network's first digit (2-6), Luhn-valid."""
    groups = re.findall(r"\d+", candidate)
    digits = "".join(groups)
    plausible = 13 <= len(digits) <= 19 and digits[0] in "23456" and min(map(len, groups)) >= 3
    return plausible and luhn_ok(digits)


def find_cards(text: str) -> Iterator[Span]:
    """Payment card numbers, with or without space/dash separators."""
    for run in _CARD_RUN.finditer(text):
        yield from _sub_runs(run, is_card, (13, 19), _MAX_CARD_GROUPS)


# IBAN, IP addresses, URL query strings ----------------------------------------------------------

_IBAN = re.compile(r"(?<![\w\]])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w\[])", re.IGNORECASE)


def is_iban(candidate: str) -> bool:
    """15-34 characters with a valid ISO 13616 mod-97 checksum."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rotated = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rotated)) % 97 == 1


def find_ibans(text: str) -> Iterator[Span]:
    """Bank account numbers in IBAN form, grouped by four or written solid."""
    for match in _IBAN.finditer(text):
        ends = [m.end() for m in re.finditer(r"[A-Z0-9]+", match.group(), re.IGNORECASE)]
        # Longest prefix first: a trailing word in capitals may have been taken as a group.
        for end in sorted(ends, reverse=True):
            if is_iban(match.group()[:end]):
                yield match.start(), match.start() + end
                break


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.\]]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w\[]|\.[\d\[])")
_IPV6 = re.compile(r"(?<![\w:\]])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:\[])")


def find_ips(text: str) -> Iterator[Span]:
    """IPv4 (dotted quad) and IPv6 addresses; times like 10:30:00 are not valid IPv6."""
    for match in _IPV4.finditer(text):
        yield match.span()
    for match in _IPV6.finditer(text):
        candidate = match.group()
        if any(char not in ":" for char in candidate) and _valid_ipv6(candidate):
            yield match.span()


def _valid_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


# Only URLs starting after whitespace or an opening bracket/quote, and paths that stop there:
# each character is scanned from one start at most (linear even on "http://http://...").
_URL_QUERY = re.compile(r"(?<![^\s(\[\"'<])(?i:https?://|www\.)[^\s?#\"'<>()\[\]]*[?#]([^\s\"'<>()\[\]]*)")


def find_url_queries(text: str) -> Iterator[Span]:
    """Query strings and fragments of links (tokens, emails, ids); scheme, host and path are kept."""
    for match in _URL_QUERY.finditer(text):
        query = match.group(1).rstrip(".,;:!?")
        if query:
            yield match.start(1), match.start(1) + len(query)


# names -------------------------------------------------------------------------------------------

_TOKEN = r"[^\W\d_]+(?:['’-][^\W\d_]+)*"
_NAMES = rf"(?P<name>{_TOKEN}(?: {_TOKEN}){{0,2}})"
_INTRO = re.compile(
    r"(?<![\w\]])(?i:my\s{1,3}name\s{1,3}is|my\s{1,3}name['’]s|name['’]s|i\s{1,3}am|i['’]m|(?P<this>this\s{1,3}is)"
    r"|je\s{1,3}m['’]appelle|ich\s{1,3}hei(?:ß|ss)e|me\s{1,3}llamo)"
    rf"(?=:?[ \t]{{1,3}}{_NAMES})"
)
_GREETING = re.compile(
    r"(?<![\w\]])(?i:hi|hello|hey|dear|hallo|bonjour|hola|good\s{1,3}(?:morning|afternoon|evening))"
    rf"(?=(?:,[ \t]{{0,3}}|[ \t]{{1,3}}){_NAMES})"
)
_SIGN_OFF = re.compile(
    r"(?<![\w\]])(?i:many\s{1,3}thanks|thanks|thank\s{1,3}you|thx|cheers|(?:best|kind|warm)\s{1,3}regards|regards"
    r"|best\s{1,3}wishes|best(?=,)|sincerely|viele\s{1,3}grüße|grüße|gruß|cordialement|merci)"
    rf"(?=,?(?:[ \t]{{1,3}}|[ \t]*\r?\n[ \t]*){_NAMES})"
)
# Staff named by their role ("agent Maria Lopez", "a rep named Tom", "supervisor Mr Khan"): complaints name
# the people who handled them, and such a phrase is frequent enough in a theme to become its label.
_STAFF = re.compile(
    r"(?<![\w\]])(?i:agents?|reps?|representatives?|advisou?rs?|advisers?|associates?|supervisors?|managers?"
    r"|specialists?|technicians?|consultants?|operators?|officers?|assistants?|clerks?|cashiers?|drivers?"
    r"|(?:wo)?m[ae]n|lady|guy|person|someone|somebody|named|name\s{1,3}was)"
    # Atomic: once "Mr." is read it is never taken for the name itself (so a second pass finds nothing).
    r"(?>(?:\s{1,3}named|\s{1,3}called)?(?:\s{1,3}(?i:mrs?|ms|miss|dr)\.?)?)"
    rf"(?=:?[ \t]{{1,3}}{_NAMES})"
)
_DASH_SIGN_OFF = re.compile(rf"(?<!\S)(?:—|–|--?)[ \t]?{_NAMES}[ \t]*[.!]?[ \t]*$", re.MULTILINE)
_INTRO_CONTEXT = re.compile(r"[ \t]{1,3}(?:from|here|speaking|at|with)\b|[ \t]*,", re.IGNORECASE)

_NOT_NAMES_TEXT = """
    i i'm im me my we you your our us the a an this that these those it its and or but so not no yes
    very really just also still always never now here there sure sorry glad happy unhappy pleased
    afraid unable able done going trying using looking writing working frustrated disappointed
    annoyed confused tired satisfied dissatisfied new old one all everyone everybody team folks guys
    support again sir madam hello hi hey thanks thank regards best cheers customer customers user
    users admin please great good awesome excellent quite pretty super extremely totally completely
    definitely probably currently actually honestly finally kind warm many on in at from with for of
    to about product app company what when why how who where if as is are was be guess
"""
NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
"""Capitalised words that follow greetings and introductions but are not names ("Hi Team", "I'm Not")."""


def _name_end(text: str, start: int, end: int, whole: bool) -> int | None:
    """End of the leading capitalised non-stopword tokens in text[start:end]; all of them if `whole`."""
    reach = None
    for token in re.finditer(_TOKEN, text[start:end]):
        word = token.group()
        looks_like_name = word[0].isupper() and any(c.islower() for c in word[1:])
        if not looks_like_name or word.casefold().replace("’", "'") in NOT_NAMES:
            return None if whole else reach
        reach = start + token.end()
    return reach


def find_names(text: str) -> Iterator[Span]:
    """Names after introductions, greetings and sign-offs, and dash sign-offs at a line's end.

    "Hi, I'm Sarah from finance", "my name is John Smith", "This is John from finance",
    "Thanks, Maria", "— Tom", and staff named by their role ("agent Maria Lopez", "a rep named Tom").
    Names must be capitalised; "Hi team", "I'm frustrated" and "the agent I spoke to" stay.
    """
    for pattern in (_INTRO, _GREETING, _SIGN_OFF, _STAFF):
        for match in pattern.finditer(text):
            start, end = match.span("name")
            found = _name_end(text, start, end, whole=False)
            if found is None:
                continue
            # "This is" introduces products as often as people: require "from ...", "here", a comma.
            is_this_is = pattern is _INTRO and match.group("this") is not None
            if is_this_is and not _INTRO_CONTEXT.match(text, found):
                continue
            yield start, found
    for match in _DASH_SIGN_OFF.finditer(text):
        found = _name_end(text, match.start("name"), match.end("name"), whole=True)
        if found is not None:
            yield match.start("name"), found


BUILTINS = (
    Detector("url_query", "[query]", find_url_queries),
    Detector("email", "[email]", find_emails),
    Detector("iban", "[iban]", find_ibans),
    Detector("card", "[card]", find_cards),
    Detector("phone", "[phone]", find_phones),
    Detector("ip", "[ip]", find_ips),
    Detector("name", "[name]", find_names),
)
"""Built-in detectors in tie-breaking order, one per key of redaction.toml's [builtin]."""
