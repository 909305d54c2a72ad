"""The team's declarative rules (rules/*.toml): load, validate, and apply them to one theme.

Four files, each optional; a missing file means the defaults documented in it (the shipped files
spell out every default). `load_rules` validates them all and reports every problem at once, each
as ``file:key: message`` (``rules/priority.toml:level[1].min_score: ...``; list indices count from
0), so one `backlog-bridge rules check` shows everything to fix. The helpers at the bottom
(`route_for`, `priority_for`, `suppression_for`) are pure: the planner calls them per theme.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
import types
import typing
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
)

from backlog_bridge.errors import RulesError

TrackerName = Literal["github", "jira"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

ROUTING_FILE = "routing.toml"
PRIORITY_FILE = "priority.toml"
SUPPRESSION_FILE = "suppression.toml"
REDACTION_FILE = "redaction.toml"
RULE_FILES = (ROUTING_FILE, PRIORITY_FILE, SUPPRESSION_FILE, REDACTION_FILE)

_GITHUB_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_JIRA_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}")
_PATTERN_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
BUILTIN_KINDS = ("email", "phone", "card", "iban", "ip", "name", "url_query")
"""Kinds of personal data redact.py finds without configuration, in redaction.toml's [builtin]."""


def _valid_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a valid regular expression: {error}") from None
    return value


Regex = Annotated[str, AfterValidator(_valid_regex)]


class RuleModel(BaseModel):
    """A rules table: unknown keys are errors (a typo must not silently disable a rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# routing.toml -------------------------------------------------------------------------------


class RouteDefaults(RuleModel):
    """`[default]`: where a theme goes when no route matches, and what routes inherit."""

    tracker: TrackerName | None = None
    """`github` or `jira`; must be configured in settings. Unset: the one tracker configured
    (GitHub when both or none are)."""
    project: str = ""
    """GitHub "owner/repo" or Jira project key; empty = the tracker's project from settings."""
    component: str = ""
    """Jira component (GitHub: added as a label); empty = none."""
    labels: tuple[Text, ...] = ("nps-feedback",)
    """Labels on every filed issue; a route's labels are added to these."""
    assignee: str = ""
    """GitHub login or Jira account id; empty = unassigned."""


class RouteMatch(RuleModel):
    """`[route.match]`: every condition given must hold (and at least one must be given)."""

    keywords_any: tuple[Text, ...] = ()
    """Any of these words or phrases, case-insensitive, as whole words in the label or keywords."""
    label_regex: Regex | None = None
    """Regular expression searched case-insensitively in the theme label."""
    segment: dict[Text, tuple[Text, ...]] = Field(default_factory=dict)
    """Segment field -> values; holds when those values make up at least `segment_min_share` of the
    theme's respondents, for every field given."""
    min_respondents: StrictInt | None = Field(default=None, ge=0)
    """Theme has at least this many respondents."""
    max_respondents: StrictInt | None = Field(default=None, ge=0)
    """Theme has at most this many respondents."""


class RouteRule(RuleModel):
    """`[[route]]`: a match and what to change from `[default]` when it matches."""

    name: Text
    """Shown in the plan so a reader knows why a theme went where it went."""
    match: RouteMatch
    tracker: TrackerName | None = None
    project: str | None = None
    """Unset: `[default].project` if the tracker is the default's, else the tracker's settings project."""
    component: str | None = None
    labels: tuple[Text, ...] = ()
    """Added to `[default].labels`."""
    assignee: str | None = None


class RoutingRules(RuleModel):
    """routing.toml: which tracker, project, component, labels and assignee a theme goes to."""

    segment_min_share: StrictFloat = Field(default=0.5, gt=0, le=1)
    """Share of a theme's respondents a segment match needs."""
    default: RouteDefaults = Field(default_factory=RouteDefaults)
    route: tuple[RouteRule, ...] = ()
    """Checked in order; the first match wins."""


# priority.toml ------------------------------------------------------------------------------


class PriorityLevel(RuleModel):
    """`[[level]]`: themes scoring at least `min_score` (and below the level above) get this priority."""

    name: Text
    min_score: StrictFloat = Field(gt=0, allow_inf_nan=False)
    """Priority score from score.py: NPS points surely at stake x trend x segment weight.
    Must be above 0: a score of 0 means the theme is not significant and is never filed."""
    jira: Text
    """Jira priority name (your instance's names: Highest, High, Medium, Low, Lowest by default)."""
    github_label: Text
    """Label GitHub issues get, since GitHub has no priority field."""


DEFAULT_LEVELS = (
    PriorityLevel(name="P1", min_score=3.0, jira="Highest", github_label="priority: P1"),
    PriorityLevel(name="P2", min_score=1.0, jira="High", github_label="priority: P2"),
    PriorityLevel(name="P3", min_score=0.3, jira="Medium", github_label="priority: P3"),
    PriorityLevel(name="P4", min_score=0.1, jira="Low", github_label="priority: P4"),
)


class SprintRules(RuleModel):
    """`[sprint]`: how much the plan may file."""

    ticket_budget: StrictInt = Field(default=5, ge=0)
    """New issues filed per run at most, highest priority first; 0 = plan only."""
    cooldown_days: StrictInt = Field(default=30, ge=0)
    """A theme whose issue was closed is not filed again for this many days (regressions excepted)."""
    declined_cooldown_days: StrictInt = Field(default=180, ge=0)
    """A theme whose issue was closed as not planned / Won't Do is set aside this many days (said in the
    plan); after that the plan points at the closed issue. It is never filed again by itself."""


class GateRules(RuleModel):
    """`[gate]`: which themes are scored at all (passed to score.score_themes)."""

    min_respondents: StrictInt = Field(default=30, ge=1)
    """Fewer theme respondents: not scored, so a few loud comments cannot outrank broad problems."""
    fdr: StrictFloat = Field(default=0.05, gt=0, lt=1)
    """Benjamini-Hochberg false discovery rate across the themes scored together."""


class RegressionRules(RuleModel):
    """`[regression]`: what happens when a fixed theme comes back."""

    action: Literal["comment", "reopen"] = "reopen"
    """`reopen` the closed issue (with a comment), or only `comment` on it (for workflows without a
    reopen transition)."""
    min_growth: StrictFloat = Field(default=0.5, gt=0, allow_inf_nan=False)
    """Relative growth of the theme's share since the issue was closed that counts as a regression
    (0.5 = share up by half)."""


class WeightRules(RuleModel):
    """`[weights]`: how much each response counts towards a theme's score."""

    half_life_days: StrictFloat = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Responses lose half their weight every this many days; 0 = all responses in the window count alike."""
    segment: dict[Text, dict[Text, Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]]] = Field(
        default_factory=dict
    )
    """Segment field -> value -> multiplier, e.g. {"plan": {"Enterprise": 1.5}}; unlisted values count 1."""
    revenue_field: str = ""
    """Numeric segment field (e.g. arr_usd) respondents weigh in proportion to; empty = none."""


class PriorityRules(RuleModel):
    """priority.toml: score thresholds -> priority levels, sprint budget, gate, regressions, weights."""

    level: tuple[PriorityLevel, ...] = Field(default=DEFAULT_LEVELS, min_length=1)
    """Highest first, thresholds strictly decreasing; below the last level a theme is not filed."""
    sprint: SprintRules = Field(default_factory=SprintRules)
    gate: GateRules = Field(default_factory=GateRules)
    regression: RegressionRules = Field(default_factory=RegressionRules)
    weights: WeightRules = Field(default_factory=WeightRules)


# suppression.toml ---------------------------------------------------------------------------


class Suppression(RuleModel):
    """`[[suppress]]`: themes never filed, with the reason the plan shows."""

    reason: Text
    label_regex: Regex | None = None
    """Searched case-insensitively in the theme label."""
    phrases_any: tuple[Text, ...] = ()
    """Whole words/phrases, case-insensitive, in the label, keywords or (enough of) the quotes."""
    until: date | None = None
    """Last day the suppression applies (a TOML date, e.g. 2026-06-30); unset = for good."""


class SuppressionRules(RuleModel):
    """suppression.toml: themes or phrases that are never filed."""

    quote_min_share: StrictFloat = Field(default=0.5, gt=0, le=1)
    """A phrase found only in quotes suppresses a theme when at least this share of its quotes have one,
    so one stray quote does not hide a theme."""
    suppress: tuple[Suppression, ...] = ()


# redaction.toml -----------------------------------------------------------------------------


class BuiltinRedaction(RuleModel):
    """`[builtin]`: switch the built-in detectors of personal data on or off."""

    email: StrictBool = True
    phone: StrictBool = True
    card: StrictBool = True
    iban: StrictBool = True
    ip: StrictBool = True
    name: StrictBool = True
    url_query: StrictBool = True


class CustomPattern(RuleModel):
    """`[[pattern]]`: a team-defined kind of personal data."""

    name: Text
    """Lowercase identifier, reported as the finding's kind."""
    regex: Regex
    """Python regular expression; keep it linear (no nested quantifiers like `(a+)+`)."""
    replacement: str = "[redacted]"
    """Text put in place of each match; the regex must not match it (so redaction is idempotent)."""
    ignore_case: StrictBool = False


class RedactionRules(RuleModel):
    """redaction.toml: personal data removed from every quote before it leaves the machine."""

    builtin: BuiltinRedaction = Field(default_factory=BuiltinRedaction)
    pattern: tuple[CustomPattern, ...] = ()


class Rules(RuleModel):
    """All four rule files, validated."""

    routing: RoutingRules = Field(default_factory=RoutingRules)
    priority: PriorityRules = Field(default_factory=PriorityRules)
    suppression: SuppressionRules = Field(default_factory=SuppressionRules)
    redaction: RedactionRules = Field(default_factory=RedactionRules)


# loading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong in the rules: the file, the key inside it (may be empty) and what is wrong."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"


_MODELS: dict[str, type[RuleModel]] = {
    ROUTING_FILE: RoutingRules,
    PRIORITY_FILE: PriorityRules,
    SUPPRESSION_FILE: SuppressionRules,
    REDACTION_FILE: RedactionRules,
}


def check_rules(folder: Path, trackers: Collection[str] | None = None) -> list[RuleProblem]:
    """Every problem in the rules folder, for `backlog-bridge rules check`; empty when all is well.

    Args:
        folder: the rules folder (must exist; each missing file means its defaults).
        trackers: names of the trackers configured in settings; None skips that cross-check.
    """
    return _load(folder, trackers)[1]


def load_rules(folder: Path, trackers: Collection[str] | None = None) -> Rules:
    """Read and validate rules/*.toml; a missing file means its defaults.

    Args:
        folder: the rules folder, e.g. `Path("rules")`.
        trackers: names of the trackers configured in settings (`{"jira"}`); when given, every
            route must name one of them.

    Raises:
        RulesError: one line per problem, each `file:key: message`.
    """
    rules, problems = _load(folder, trackers)
    if problems or rules is None:
        raise RulesError("\n".join(str(problem) for problem in problems))
    return for_trackers(rules, trackers)


def default_tracker(trackers: Collection[str] | None) -> TrackerName:
    """Where `[default]` routes when it names no tracker: the one configured, else GitHub."""
    return "jira" if trackers is not None and set(trackers) == {"jira"} else "github"


def for_trackers(rules: Rules, trackers: Collection[str] | None) -> Rules:
    """The rules with `[default].tracker` filled in from the trackers configured in settings."""
    default = rules.routing.default
    if default.tracker is not None or trackers is None:
        return rules  # unset with no trackers named: route_for falls back to GitHub
    routing = rules.routing.model_copy(
        update={"default": default.model_copy(update={"tracker": default_tracker(trackers)})}
    )
    return rules.model_copy(update={"routing": routing})


def _load(folder: Path, trackers: Collection[str] | None) -> tuple[Rules | None, list[RuleProblem]]:
    if not folder.is_dir():
        return None, [RuleProblem(str(folder), "", "rules folder not found")]
    problems = [
        RuleProblem(str(path), "", f"unknown rules file (expected one of {', '.join(RULE_FILES)})")
        for path in sorted(folder.glob("*.toml"))
        if path.name not in RULE_FILES
    ]
    parsed: dict[str, RuleModel] = {}
    for name, model in _MODELS.items():
        path = folder / name
        result = _parse(path, model)
        if isinstance(result, list):
            problems += result
            continue
        parsed[name] = result
        problems += [RuleProblem(str(path), key, message) for key, message in _cross_check(result, trackers)]
    if problems:
        return None, problems
    return Rules.model_validate(
        {
            "routing": parsed[ROUTING_FILE],
            "priority": parsed[PRIORITY_FILE],
            "suppression": parsed[SUPPRESSION_FILE],
            "redaction": parsed[REDACTION_FILE],
        }
    ), []


def _parse(path: Path, model: type[RuleModel]) -> RuleModel | list[RuleProblem]:
    if not path.exists():
        return model()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        return [RuleProblem(str(path), "", f"not valid TOML: {error}")]
    except (OSError, UnicodeDecodeError) as error:
        return [RuleProblem(str(path), "", f"cannot be read: {error}")]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        return [RuleProblem(str(path), _key(item["loc"]), _message(item, model)) for item in error.errors()]


def _key(loc: Sequence[int | str]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _message(item: Any, model: type[RuleModel]) -> str:
    if item["type"] == "extra_forbidden":
        return "unknown key" + _suggest(model, item["loc"])
    if item["type"] == "missing":
        return "required key missing"
    message = str(item["msg"]).removeprefix("Value error, ")
    return f"{message} (got {item['input']!r})"


def _suggest(model: type[BaseModel], loc: Sequence[int | str]) -> str:
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        info = current.model_fields.get(part)
        current = _model_in(info.annotation) if info is not None else None
    if current is None:
        return ""
    known = list(current.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (tuple, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _cross_check(rules: RuleModel, trackers: Collection[str] | None) -> list[tuple[str, str]]:
    if isinstance(rules, RoutingRules):
        return _check_routing(rules, trackers)
    if isinstance(rules, PriorityRules):
        return _check_priority(rules)
    if isinstance(rules, SuppressionRules):
        return _check_suppression(rules)
    if isinstance(rules, RedactionRules):
        return _check_redaction(rules)
    return []


def _check_target(
    where: str,
    tracker: str,
    project: str,
    labels: Iterable[str],
    trackers: Collection[str] | None,
    where_name: str = "[default]",
) -> list[tuple[str, str]]:
    problems = []
    if trackers is not None and tracker not in trackers:
        configured = ", ".join(sorted(trackers)) or "none"
        problems.append(
            (
                f"{where}.tracker",
                f"{where_name} routes to tracker '{tracker}', which is not configured: add a [{tracker}] table "
                f"to the settings, or route to a configured tracker (configured: {configured})",
            )
        )
    if tracker == "github" and project and not _GITHUB_REPO.fullmatch(project):
        problems.append((f"{where}.project", f"'{project}' is not a GitHub repository (owner/repo)"))
    if tracker == "jira" and project and not _JIRA_KEY.fullmatch(project):
        problems.append((f"{where}.project", f"'{project}' is not a Jira project key (like FB or NPS_2)"))
    if tracker == "jira":
        problems += [
            (f"{where}.labels", f"Jira labels cannot contain spaces: '{label}'")
            for label in labels
            if any(character.isspace() for character in label)
        ]
    return problems


def _check_routing(rules: RoutingRules, trackers: Collection[str] | None) -> list[tuple[str, str]]:
    default = rules.default
    default_name = default.tracker or default_tracker(trackers)
    problems = _check_target("default", default_name, default.project, default.labels, trackers)
    seen: set[str] = set()
    for i, route in enumerate(rules.route):
        where = f"route[{i}]"
        if route.name in seen:
            problems.append((f"{where}.name", f"duplicate route name '{route.name}'"))
        seen.add(route.name)
        match = route.match
        if not (match.keywords_any or match.label_regex or match.segment) and (
            match.min_respondents is None and match.max_respondents is None
        ):
            problems.append((f"{where}.match", "no condition given (a route matching everything belongs in [default])"))
        if (
            match.min_respondents is not None
            and match.max_respondents is not None
            and match.min_respondents > match.max_respondents
        ):
            problems.append(
                (
                    f"{where}.match.max_respondents",
                    f"below min_respondents ({match.min_respondents}): matches nothing",
                )
            )
        resolved = _resolve(route, default.model_copy(update={"tracker": default_name}))
        problems += _check_target(
            where, resolved.tracker, resolved.project, resolved.labels, trackers, f"route '{route.name}'"
        )
    return problems


def _check_priority(rules: PriorityRules) -> list[tuple[str, str]]:
    problems = []
    seen: set[str] = set()
    for i, level in enumerate(rules.level):
        if level.name in seen:
            problems.append((f"level[{i}].name", f"duplicate level name '{level.name}'"))
        seen.add(level.name)
        if i and level.min_score >= rules.level[i - 1].min_score:
            problems.append(
                (
                    f"level[{i}].min_score",
                    f"{level.min_score:g} must be below level[{i - 1}].min_score "
                    f"({rules.level[i - 1].min_score:g}): levels go from highest to lowest",
                )
            )
    return problems


def _check_suppression(rules: SuppressionRules) -> list[tuple[str, str]]:
    return [
        (f"suppress[{i}]", "give label_regex or phrases_any (or both)")
        for i, rule in enumerate(rules.suppress)
        if rule.label_regex is None and not rule.phrases_any
    ]


def _check_redaction(rules: RedactionRules) -> list[tuple[str, str]]:
    problems = []
    seen: set[str] = set(BUILTIN_KINDS)
    for i, custom in enumerate(rules.pattern):
        where = f"pattern[{i}]"
        if not _PATTERN_NAME.fullmatch(custom.name):
            problems.append((f"{where}.name", f"'{custom.name}' must be a lowercase identifier like customer_id"))
        elif custom.name in seen:
            problems.append(
                (
                    f"{where}.name",
                    f"'{custom.name}' is already used (built-in kinds: {', '.join(BUILTIN_KINDS)})",
                )
            )
        seen.add(custom.name)
        compiled = compile_pattern(custom)
        if compiled.fullmatch("") is not None:
            problems.append((f"{where}.regex", "matches the empty string"))
        elif compiled.search(custom.replacement):
            problems.append(
                (
                    f"{where}.replacement",
                    f"'{custom.replacement}' is matched by the regex: redaction would not be idempotent",
                )
            )
    return problems


def compile_pattern(custom: CustomPattern) -> re.Pattern[str]:
    """The compiled regex of a team-defined redaction pattern."""
    return re.compile(custom.regex, re.IGNORECASE if custom.ignore_case else 0)


# applying the rules to one theme ------------------------------------------------------------


@dataclass(frozen=True)
class ThemeFacts:
    """What the rules look at in a theme.

    Example:
        ThemeFacts("sso login fails", ("sso", "saml"), 120, {"plan": {"Enterprise": 0.7}})
    """

    label: str
    keywords: tuple[str, ...] = ()
    respondents: int = 0
    segment_shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Segment field -> value -> share of the theme's respondents with that value."""
    quotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """Where one theme's issue goes, after applying `[default]` and the matching route."""

    name: str
    """The matching route's name, or "default"."""
    tracker: str
    project: str
    """Empty: the tracker's project from settings."""
    component: str
    labels: tuple[str, ...]
    assignee: str


def route_for(facts: ThemeFacts, rules: Rules) -> Route:
    """The first route whose match holds for the theme, else `[default]`."""
    routing = rules.routing
    for route in routing.route:
        if _matches(route.match, facts, routing.segment_min_share):
            return _resolve(route, routing.default)
    default = routing.default
    tracker = default.tracker or default_tracker(None)
    return Route("default", tracker, default.project, default.component, default.labels, default.assignee)


def _resolve(route: RouteRule, default: RouteDefaults) -> Route:
    default_name = default.tracker or default_tracker(None)
    tracker = route.tracker or default_name
    inherited_project = default.project if tracker == default_name else ""
    return Route(
        name=route.name,
        tracker=tracker,
        project=inherited_project if route.project is None else route.project,
        component=default.component if route.component is None else route.component,
        labels=tuple(dict.fromkeys((*default.labels, *route.labels))),
        assignee=default.assignee if route.assignee is None else route.assignee,
    )


def _matches(match: RouteMatch, facts: ThemeFacts, min_share: float) -> bool:
    if match.min_respondents is not None and facts.respondents < match.min_respondents:
        return False
    if match.max_respondents is not None and facts.respondents > match.max_respondents:
        return False
    if match.label_regex is not None and not _search(match.label_regex, facts.label):
        return False
    if match.keywords_any and not _phrases(match.keywords_any).search(" \n".join((facts.label, *facts.keywords))):
        return False
    return all(_segment_share(facts, name, values) >= min_share for name, values in match.segment.items())


def _segment_share(facts: ThemeFacts, name: str, values: Iterable[str]) -> float:
    wanted = {value.strip().casefold() for value in values}
    shares = facts.segment_shares.get(name, {})
    return sum(share for value, share in shares.items() if str(value).strip().casefold() in wanted)


def priority_for(score: float, rules: Rules) -> PriorityLevel | None:
    """The highest level whose `min_score` the priority score reaches; None below the lowest (not filed)."""
    if not math.isfinite(score):
        return None
    return next((level for level in rules.priority.level if score >= level.min_score), None)


def suppression_for(facts: ThemeFacts, rules: Rules, today: date) -> str | None:
    """The reason of the first suppression that applies to the theme today, or None."""
    settings = rules.suppression
    for rule in settings.suppress:
        if rule.until is not None and today > rule.until:
            continue
        if rule.label_regex is not None and _search(rule.label_regex, facts.label):
            return rule.reason
        if rule.phrases_any and _mentions(_phrases(rule.phrases_any), facts, settings.quote_min_share):
            return rule.reason
    return None


def _mentions(pattern: re.Pattern[str], facts: ThemeFacts, quote_min_share: float) -> bool:
    if pattern.search(" \n".join((facts.label, *facts.keywords))):
        return True
    if not facts.quotes:
        return False
    hits = sum(1 for quote in facts.quotes if pattern.search(quote))
    return hits / len(facts.quotes) >= quote_min_share


def _search(regex: str, text: str) -> bool:
    return re.search(regex, text, re.IGNORECASE) is not None


@lru_cache(maxsize=256)
def _phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word, case-insensitive alternation; any run of spaces in a phrase matches any whitespace."""
    words = (r"\s+".join(re.escape(word) for word in phrase.split()) for phrase in phrases)
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)
