from datetime import date
from pathlib import Path

import pytest
from pydantic import BaseModel

from backlog_bridge.errors import RulesError
from backlog_bridge.plan.rules import (
    RULE_FILES,
    PriorityRules,
    RedactionRules,
    RoutingRules,
    Rules,
    SuppressionRules,
    ThemeFacts,
    check_rules,
    for_trackers,
    load_rules,
    priority_for,
    route_for,
    suppression_for,
)

SHIPPED = Path(__file__).parents[2] / "rules"


def write(folder: Path, **files: str) -> Path:
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return folder


def rules_from(tmp_path: Path, **files: str) -> Rules:
    return load_rules(write(tmp_path, **files))


def uncommented_examples(path: Path) -> str:
    """The commented-out example tables of a shipped file, uncommented (from the first '# [')."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [") and "=" not in line)
    return "\n".join(line[2:] for line in lines[start:] if line.startswith("# ") or line == "#")


# shipped files -------------------------------------------------------------------------------


def test_shipped_rules_load_and_are_the_defaults():
    assert load_rules(SHIPPED) == Rules()
    assert check_rules(SHIPPED, trackers={"github"}) == []


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("routing", RoutingRules),
        ("priority", PriorityRules),
        ("suppression", SuppressionRules),
        ("redaction", RedactionRules),
    ],
)
def test_shipped_files_document_every_key(name, model):
    text = (SHIPPED / f"{name}.toml").read_text(encoding="utf-8")
    defaults = model()
    tables = [model, *(type(value) for value in dict(defaults).values() if isinstance(value, BaseModel))]
    documented = ("\n{key} = ", "\n# {key} = ", "\n[{key}]", "# [[{key}]]", "\n[[{key}]]", "#   {key} ")
    for table in tables:
        for key in table.model_fields:
            assert any(form.format(key=key) in text for form in documented), f"{name}.toml does not document {key}"


def test_missing_files_mean_defaults(tmp_path):
    assert load_rules(tmp_path) == Rules()
    write(tmp_path, priority="[sprint]\nticket_budget = 2\n")
    rules = load_rules(tmp_path)
    assert rules.priority.sprint.ticket_budget == 2
    assert rules.routing == RoutingRules()


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(RulesError, match=r"nowhere: rules folder not found"):
        load_rules(tmp_path / "nowhere")


def test_shipped_examples_are_valid_and_behave_as_described(tmp_path):
    rules = rules_from(
        tmp_path,
        routing=uncommented_examples(SHIPPED / "routing.toml"),
        suppression=uncommented_examples(SHIPPED / "suppression.toml"),
        redaction=uncommented_examples(SHIPPED / "redaction.toml"),
    )
    assert [route.name for route in rules.routing.route] == ["enterprise-sso", "mobile"]
    sso = ThemeFacts("login issues", ("single sign-on", "okta"), 80, {"plan": {"Enterprise": 0.6}})
    assert route_for(sso, rules).project == "ENT"
    pricing = ThemeFacts("pricing too high", ("price", "expensive"), 200)
    assert (
        suppression_for(pricing, rules, date(2026, 1, 1))
        == "Pricing is owned by the Monetisation team (#pricing-feedback)"
    )
    assert [pattern.name for pattern in rules.redaction.pattern] == ["customer_id", "employee_handle"]
    assert load_rules(tmp_path, trackers={"github", "jira"}) == for_trackers(rules, {"github", "jira"})


# errors name file:key ------------------------------------------------------------------------

LEVELS = """
[[level]]
name = "P1"
min_score = 3.0
jira = "Highest"
github_label = "p1"
[[level]]
name = "P2"
min_score = {second}
jira = "High"
github_label = "p2"
"""


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("priority", "[sprint\n", "priority.toml: not valid TOML"),
        (
            "priority",
            "[sprint]\nticket_budjet = 3\n",
            "priority.toml:sprint.ticket_budjet: unknown key (did you mean 'ticket_budget'?)",
        ),
        (
            "priority",
            "[sprint]\nticket_budget = '5'\n",
            "priority.toml:sprint.ticket_budget: Input should be a valid integer (got '5')",
        ),
        (
            "priority",
            "[sprint]\nticket_budget = -1\n",
            "priority.toml:sprint.ticket_budget: Input should be greater than or equal to 0",
        ),
        (
            "priority",
            "[regression]\naction = 'close'\n",
            "priority.toml:regression.action: Input should be 'comment' or 'reopen'",
        ),
        ("priority", "[gate]\nfdr = 1.5\n", "priority.toml:gate.fdr: Input should be less than 1"),
        ("priority", "level = []\n", "priority.toml:level: Tuple should have at least 1 item"),
        (
            "priority",
            LEVELS.format(second="3.0"),
            "priority.toml:level[1].min_score: 3 must be below level[0].min_score (3): levels go from highest to lowest",
        ),
        (
            "priority",
            LEVELS.format(second="4"),
            "priority.toml:level[1].min_score: 4 must be below level[0].min_score (3)",
        ),
        ("priority", LEVELS.format(second="0.0"), "priority.toml:level[1].min_score: Input should be greater than 0"),
        (
            "priority",
            LEVELS.replace('"P2"', '"P1"').format(second="1"),
            "priority.toml:level[1].name: duplicate level name 'P1'",
        ),
        (
            "priority",
            "[[level]]\nname = 'P1'\nmin_score = 1.0\njira = 'High'\n",
            "priority.toml:level[0].github_label: required key missing",
        ),
        (
            "routing",
            "[default]\ntracker = 'linear'\n",
            "routing.toml:default.tracker: Input should be 'github' or 'jira' (got 'linear')",
        ),
        (
            "routing",
            "[default]\nproject = 'not a repo'\n",
            "routing.toml:default.project: 'not a repo' is not a GitHub repository (owner/repo)",
        ),
        (
            "routing",
            "[default]\ntracker = 'jira'\nproject = 'acme/app'\n",
            "routing.toml:default.project: 'acme/app' is not a Jira project key",
        ),
        (
            "routing",
            "[default]\ntracker = 'jira'\nlabels = ['nps feedback']\n",
            "routing.toml:default.labels: Jira labels cannot contain spaces: 'nps feedback'",
        ),
        ("routing", "segment_min_share = 0\n", "routing.toml:segment_min_share: Input should be greater than 0"),
        (
            "routing",
            "[[route]]\nname = 'a'\n[route.match]\nlabel_regex = '(unclosed'\n",
            "routing.toml:route[0].match.label_regex: not a valid regular expression: missing ), unterminated subpattern",
        ),
        (
            "routing",
            "[[route]]\nname = 'a'\n[route.match]\nkeyword_any = ['x']\n",
            "routing.toml:route[0].match.keyword_any: unknown key (did you mean 'keywords_any'?)",
        ),
        ("routing", "[[route]]\nname = 'a'\n[route.match]\n", "routing.toml:route[0].match: no condition given"),
        ("routing", "[[route]]\nname = 'a'\n", "routing.toml:route[0].match: required key missing"),
        (
            "routing",
            "[[route]]\nname = 'a'\n[route.match]\nmin_respondents = 50\nmax_respondents = 10\n",
            "routing.toml:route[0].match.max_respondents: below min_respondents (50)",
        ),
        (
            "routing",
            "[[route]]\nname = 'a'\n[route.match]\nmin_respondents = 5\n[[route]]\nname = 'a'\n[route.match]\nmin_respondents = 9\n",
            "routing.toml:route[1].name: duplicate route name 'a'",
        ),
        (
            "routing",
            "[[route]]\nname = 'a'\ntracker = 'jira'\nproject = 'fb'\n[route.match]\nmin_respondents = 5\n",
            "routing.toml:route[0].project: 'fb' is not a Jira project key",
        ),
        (
            "routing",
            "[[route]]\nname = 'a'\n[route.match]\nsegment = { plan = 'Enterprise' }\n",
            "routing.toml:route[0].match.segment.plan: Input should be a valid tuple",
        ),
        (
            "suppression",
            "[[suppress]]\nreason = 'x'\n",
            "suppression.toml:suppress[0]: give label_regex or phrases_any (or both)",
        ),
        (
            "suppression",
            "[[suppress]]\nphrases_any = ['x']\n",
            "suppression.toml:suppress[0].reason: required key missing",
        ),
        (
            "suppression",
            "[[suppress]]\nreason = 'x'\nphrases_any = ['x']\nuntil = 'soon'\n",
            "suppression.toml:suppress[0].until: Input should be a valid date",
        ),
        (
            "redaction",
            "[builtin]\nemail = 'yes'\n",
            "redaction.toml:builtin.email: Input should be a valid boolean (got 'yes')",
        ),
        (
            "redaction",
            "[builtin]\nphones = false\n",
            "redaction.toml:builtin.phones: unknown key (did you mean 'phone'?)",
        ),
        (
            "redaction",
            "[[pattern]]\nname = 'email'\nregex = 'x'\n",
            "redaction.toml:pattern[0].name: 'email' is already used",
        ),
        (
            "redaction",
            "[[pattern]]\nname = 'Customer ID'\nregex = 'x'\n",
            "redaction.toml:pattern[0].name: 'Customer ID' must be a lowercase identifier",
        ),
        (
            "redaction",
            "[[pattern]]\nname = 'id'\nregex = 'a*'\n",
            "redaction.toml:pattern[0].regex: matches the empty string",
        ),
        (
            "redaction",
            "[[pattern]]\nname = 'id'\nregex = '[a-z]+'\n",
            "redaction.toml:pattern[0].replacement: '[redacted]' is matched by the regex",
        ),
        (
            "redaction",
            "[[pattern]]\nname = 'id'\nregex = '[0-9'\n",
            "redaction.toml:pattern[0].regex: not a valid regular expression",
        ),
    ],
)
def test_each_problem_names_file_and_key(tmp_path, name, content, expected):
    write(tmp_path, **{name: content})
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path)
    lines = str(caught.value).splitlines()
    assert any(
        line.startswith(str(tmp_path / expected.split(":", 1)[0]) + ":") and expected in line for line in lines
    ), lines


def test_routes_must_name_configured_trackers(tmp_path):
    write(
        tmp_path,
        routing="[[route]]\nname = 'ent'\ntracker = 'jira'\nproject = 'ENT'\n[route.match]\nmin_respondents = 1\n",
    )
    assert load_rules(tmp_path).routing.route[0].tracker == "jira"  # not checked without trackers
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path, trackers={"github"})
    assert str(caught.value) == (
        f"{tmp_path / 'routing.toml'}:route[0].tracker: route 'ent' routes to tracker 'jira', which is not "
        "configured: add a [jira] table to the settings, or route to a configured tracker (configured: github)"
    )
    problems = check_rules(tmp_path, trackers=set())
    assert [p.key for p in problems] == ["default.tracker", "route[0].tracker"]


def test_an_explicit_default_tracker_that_is_not_configured_is_named(tmp_path):
    write(tmp_path, routing="[default]\ntracker = 'github'\n")
    (problem,) = check_rules(tmp_path, trackers={"jira"})
    assert problem.key == "default.tracker"
    assert "[default] routes to tracker 'github'" in problem.message and "add a [github] table" in problem.message


def test_default_routing_follows_the_one_configured_tracker(tmp_path):
    write(tmp_path, routing="[[route]]\nname = 'big'\nlabels = ['big']\n[route.match]\nmin_respondents = 50\n")
    facts = ThemeFacts("slow exports", ("export",), 80)
    only_jira = load_rules(tmp_path, trackers={"jira"})
    assert route_for(facts, only_jira).tracker == "jira"  # the route inherits the default's tracker
    assert route_for(ThemeFacts("x", (), 3), only_jira).tracker == "jira"
    assert check_rules(tmp_path, trackers={"jira"}) == []
    assert route_for(facts, load_rules(tmp_path, trackers={"github"})).tracker == "github"
    assert route_for(facts, load_rules(tmp_path, trackers={"github", "jira"})).tracker == "github"
    assert check_rules(SHIPPED, trackers={"jira"}) == []  # the shipped routing names no tracker


def test_all_problems_across_files_are_reported_together(tmp_path):
    write(
        tmp_path,
        routing="[default]\ntrackr = 'jira'\n",
        priority=LEVELS.format(second="5"),
        suppression="[[suppress]]\nreason = 'x'\nlabel_regex = '*'\n",
        redaction="not toml at all",
        priorites="",
    )
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 5, lines
    assert lines[0] == f"{tmp_path / 'priorites.toml'}: unknown rules file (expected one of {', '.join(RULE_FILES)})"
    assert {line.split(":", 2)[1] for line in lines[1:]} == {
        "default.trackr",
        "level[1].min_score",
        "suppress[0].label_regex",
        " not valid TOML",
    }


# routing -------------------------------------------------------------------------------------

ROUTES = """
segment_min_share = 0.6
[default]
project = "acme/app"
labels = ["nps-feedback"]
assignee = "triage-bot"

[[route]]
name = "sso"
tracker = "jira"
component = "Identity"
labels = ["auth"]
[route.match]
keywords_any = ["sso", "single sign-on"]

[[route]]
name = "enterprise-big"
project = "acme/enterprise"
labels = ["enterprise", "nps-feedback"]
[route.match]
segment = { plan = ["Enterprise", "Business"] }
min_respondents = 100

[[route]]
name = "small-mobile"
assignee = "mobile-lead"
[route.match]
label_regex = "^(ios|android)\\\\b"
max_respondents = 40
"""


@pytest.fixture
def routed(tmp_path):
    return rules_from(tmp_path, routing=ROUTES)


def test_no_match_goes_to_default(routed):
    route = route_for(ThemeFacts("export is slow", ("export", "csv")), routed)
    assert (route.name, route.tracker, route.project, route.labels, route.assignee) == (
        "default",
        "github",
        "acme/app",
        ("nps-feedback",),
        "triage-bot",
    )


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (ThemeFacts("login problems", ("SSO", "okta")), "sso"),
        (ThemeFacts("Single  Sign-On broken"), "sso"),  # phrase across extra whitespace, any case
        (ThemeFacts("login problems", ("ssologin",)), "default"),  # whole words only
        (ThemeFacts("dashboards", (), 150, {"plan": {"Enterprise": 0.4, "Business": 0.25}}), "enterprise-big"),
        (
            ThemeFacts("dashboards", (), 150, {"plan": {"enterprise ": 0.61}}),
            "enterprise-big",
        ),  # values compared casefolded
        (ThemeFacts("dashboards", (), 150, {"plan": {"Enterprise": 0.55}}), "default"),  # below the share
        (ThemeFacts("dashboards", (), 99, {"plan": {"Enterprise": 0.9}}), "default"),  # too small
        (ThemeFacts("dashboards", (), 150, {"region": {"Enterprise": 0.9}}), "default"),  # other field
        (ThemeFacts("iOS crashes", (), 40), "small-mobile"),
        (ThemeFacts("iOS crashes", (), 41), "default"),
        (ThemeFacts("SSO on iOS", ("sso",), 10, {"plan": {"Enterprise": 1.0}}), "sso"),  # first match wins
    ],
)
def test_route_matching(routed, facts, expected):
    assert route_for(facts, routed).name == expected


def test_route_resolves_against_default(routed):
    sso = route_for(ThemeFacts("sso"), routed)
    # Switching tracker drops the default's GitHub repo: the Jira project comes from settings.
    assert (sso.tracker, sso.project, sso.component, sso.labels, sso.assignee) == (
        "jira",
        "",
        "Identity",
        ("nps-feedback", "auth"),
        "triage-bot",
    )
    big = route_for(ThemeFacts("x", (), 500, {"plan": {"Business": 0.7}}), routed)
    assert (big.tracker, big.project, big.labels) == ("github", "acme/enterprise", ("nps-feedback", "enterprise"))
    mobile = route_for(ThemeFacts("android login", (), 5), routed)
    assert (mobile.project, mobile.assignee) == ("acme/app", "mobile-lead")


# priority ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (10.0, "P1"),
        (3.0, "P1"),
        (2.999, "P2"),
        (1.0, "P2"),
        (0.3, "P3"),
        (0.1, "P4"),
        (0.0999, None),
        (0.0, None),
        (float("nan"), None),
        (float("inf"), None),
    ],
)
def test_priority_at_thresholds(score, expected):
    level = priority_for(score, Rules())
    assert (level.name if level else None) == expected


def test_weights(tmp_path):
    rules = rules_from(
        tmp_path,
        priority="[weights]\nhalf_life_days = 45\nrevenue_field = 'arr_usd'\nsegment = { plan = { Enterprise = 1.5, Free = 0 } }\n",
    )
    assert rules.priority.weights.half_life_days == 45.0
    assert rules.priority.weights.segment == {"plan": {"Enterprise": 1.5, "Free": 0.0}}
    write(tmp_path, priority="[weights]\nsegment = { plan = { Enterprise = -1 } }\n")
    with pytest.raises(
        RulesError, match=r"priority.toml:weights.segment.plan.Enterprise: Input should be greater than or equal to 0"
    ):
        load_rules(tmp_path)


def test_priority_levels_from_file(tmp_path):
    rules = rules_from(tmp_path, priority=LEVELS.format(second="1.5"))
    p2 = priority_for(1.5, rules)
    assert p2 is not None
    assert (p2.name, p2.jira, p2.github_label) == ("P2", "High", "p2")
    assert priority_for(1.49, rules) is None
    assert rules.priority.sprint.ticket_budget == 5
    assert rules.priority.regression.action == "reopen"


# suppression ---------------------------------------------------------------------------------

SUPPRESS = """
quote_min_share = 0.5
[[suppress]]
reason = "pricing: Monetisation team"
label_regex = "\\\\bpric(e|ing)\\\\b"
phrases_any = ["too expensive"]
[[suppress]]
reason = "known outage"
phrases_any = ["outage"]
until = 2026-03-31
"""


@pytest.mark.parametrize(
    ("facts", "today", "expected"),
    [
        (ThemeFacts("Pricing is confusing"), date(2026, 1, 1), "pricing: Monetisation team"),
        (ThemeFacts("prices"), date(2026, 1, 1), None),  # regex is whole word 'price'/'pricing'
        (ThemeFacts("cost", ("Too  Expensive",)), date(2026, 1, 1), "pricing: Monetisation team"),
        (
            ThemeFacts("cost", (), quotes=("way too expensive", "fine", "too expensive!", "meh")),
            date(2026, 1, 1),
            "pricing: Monetisation team",
        ),
        (ThemeFacts("cost", (), quotes=("way too expensive", "fine", "ok")), date(2026, 1, 1), None),  # 1/3 < 0.5
        (ThemeFacts("outage yesterday"), date(2026, 3, 31), "known outage"),  # until is inclusive
        (ThemeFacts("outage yesterday"), date(2026, 4, 1), None),
        (ThemeFacts("slow exports", ("export",)), date(2026, 1, 1), None),
    ],
)
def test_suppression(tmp_path, facts, today, expected):
    assert suppression_for(facts, rules_from(tmp_path, suppression=SUPPRESS), today) == expected
