"""Generate the deterministic sample NPS export shipped as ``backlog_bridge/data/sample_nps.csv``.

The data describes a fictional B2B SaaS product, "Acme Boards" (a project-management tool):
about 3,000 responses from about 600 accounts between 2026-03-01 and 2026-10-31. Detractor and
passive comments carry ten recognisable themes (plus a small dark-mode wish); the mobile-crash theme
grows over the months and the slow-dashboard theme fades after a fix ships around 2026-07-01.

Only the standard library is used and every random draw comes from one ``random.Random(seed)``,
so two runs with the same seed write byte-identical files.

Usage:
    python scripts/make_sample_data.py [--out PATH] [--seed N] [--labels PATH] [--report]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SEED = 20261031
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "backlog_bridge" / "data" / "sample_nps.csv"
N_RESPONSES = 3000
N_ACCOUNTS = 600
START = dt.date(2026, 3, 1)
END = dt.date(2026, 10, 31)
FIX_SHIPPED = dt.date(2026, 7, 1)

HEADER = (
    "response_id",
    "responded_at",
    "score",
    "comment",
    "account_id",
    "respondent_email",
    "plan",
    "region",
    "arr_usd",
    "company_size",
)

PLANS = ("Free", "Team", "Business", "Enterprise")
REGIONS = ("NA", "EU", "APAC", "LATAM")
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")

# --------------------------------------------------------------------------------------------
# Template expansion: "[a|b|]" picks one alternative (empty allowed); brackets may nest.
# --------------------------------------------------------------------------------------------

_ALT = re.compile(r"\[([^\[\]]*)\]")


def expand(template: str, rng: random.Random) -> str:
    """Resolve every ``[a|b|c]`` group in ``template`` to one randomly chosen alternative.

    Args:
        template: Text with optionally nested alternative groups.
        rng: Source of randomness.

    Returns:
        The expanded text with doubled spaces collapsed.
    """
    text = template
    while True:
        new = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), text)
        if new == text:
            break
        text = new
    return re.sub(r"\s{2,}", " ", text).strip()


# --------------------------------------------------------------------------------------------
# Themes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    """One recognisable feedback theme and how it behaves in the population."""

    key: str
    base_rate: float
    plan_factor: dict[str, float]
    score_weights: tuple[float, ...]
    templates: tuple[str, ...]
    extras: tuple[str, ...] = ()
    translations: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _mobile_factor(day: dt.date) -> float:
    t = (day - START).days / (END - START).days
    return 0.3 + 2.9 * math.pow(t, 1.6)


def _dashboard_factor(day: dt.date) -> float:
    ramp_start = FIX_SHIPPED - dt.timedelta(days=7)
    ramp_end = FIX_SHIPPED + dt.timedelta(days=7)
    if day <= ramp_start:
        return 1.8
    if day >= ramp_end:
        return 0.12
    frac = (day - ramp_start).days / (ramp_end - ramp_start).days
    return 1.8 + (0.12 - 1.8) * frac


def _flat(day: dt.date) -> float:
    return 1.0


THEMES: tuple[Theme, ...] = (
    Theme(
        key="mobile_crashes",
        base_rate=0.045,
        plan_factor={"Free": 1.1, "Team": 1.0, "Business": 1.0, "Enterprise": 0.95},
        score_weights=(9, 10, 13, 13, 10, 6, 3, 2, 1, 0.3, 0.1),
        templates=(
            "[the |our |]mobile app [keeps crashing|crashes constantly|crashes every time i open a board"
            "|freezes on startup|freezes when i [open|switch] boards"
            "|is unusable since the [last|latest] update]",
            "[ios|android|iphone|ipad] app [crashes|freezes|force closes|hangs] [when i [try to |]upload "
            "[a photo|an attachment]|on the login screen|when opening notifications|every few minutes"
            "|after the [recent|new|last] update]",
            "can't use acme boards on my phone[ anymore|], [it just crashes|the app freezes|the app closes itself]",
            "[mobile|phone] app is [so |really |super |]buggy[, constantly crashing|, keeps freezing"
            "| - crashes all the time|]",
            "app crashes on [my |][pixel|samsung|iphone 15|android phone|ipad] [every time|whenever] i "
            "[open a task|add a comment|scroll the board|tap a notification]",
            "since the [last |][update|release] the app [won't|doesn't] [open|load|start] on my phone",
            "the [android|ios] app is [a mess|broken|garbage|unusable], lost my [comment|edits|changes] "
            "[twice|again] [when it crashed|after a crash]",
            "i'm [on the road|on site|travelling] a lot and the mobile app [crashing|freezing] "
            "[all the time|constantly] makes it [useless|unusable] for me",
            "[app|mobile] [crash|crashes|crashing][ again|]",
            "[mobile app|the app on my phone] [freezes|crashes] [and i have to|so i] "
            "[reinstall|force quit] it "
            "[every day|constantly|all the time]",
        ),
        extras=(
            "[reinstalled|tried reinstalling] [twice|3 times], no change",
            "our field team relies on [the app|mobile]",
            "it used to be [fine|stable|ok] [a few months ago|earlier this year]",
            "please fix the app",
            "happens on [ios 19|android 16|both ios and android]",
        ),
        translations={
            "de": (
                "Die App stürzt auf dem Handy ständig ab.",
                "Mobile App friert seit dem letzten Update dauernd ein, so nicht nutzbar.",
            ),
            "fr": ("L'application mobile plante sans arrêt depuis la mise à jour.",),
            "es": (
                "La app móvil se cierra sola cada vez que abro un tablero.",
                "la aplicación del celular se traba todo el tiempo",
            ),
        },
    ),
    Theme(
        key="slow_dashboard",
        base_rate=0.04,
        plan_factor={"Free": 0.8, "Team": 1.0, "Business": 1.2, "Enterprise": 1.3},
        score_weights=(2, 3, 5, 7, 8, 9, 9, 9, 6, 0.8, 0.3),
        templates=(
            "[the |]dashboard [is|feels] [so |very |painfully |really |]slow[ to load|]",
            "[pages|boards|the dashboard|reports] take [forever|ages|10+ seconds|30 seconds|a long time] to load",
            "[everything|the app|the web app] [feels|is] [sluggish|laggy|slow], especially [the dashboard"
            "|big boards|the reports page|with large projects]",
            "loading [spinner|wheel] [forever|all day] on the [dashboard|home page]",
            "performance [is terrible|has gotten worse|is a real problem] [on boards with 500+ tasks"
            "|for large projects|lately|]",
            "[page load|load|loading] times are [awful|unacceptable|killing us|way too long]",
            "the [portfolio|main|home] dashboard [times out|doesn't load|hangs] [half the time|regularly"
            "|every morning]",
            "[slow|sooo slow|so slow]. [dashboard|pages] [take|takes] forever",
            "waiting for the dashboard to load [every morning |]is [painful|a joke|killing my productivity]",
        ),
        extras=(
            "we have [about 2k|3000+|a lot of] tasks per board",
            "[chrome|firefox|edge|safari], [fast|good] internet, still slow",
            "it [used to be|was] faster",
        ),
        translations={
            "de": ("Das Dashboard lädt extrem langsam.",),
            "fr": ("Le tableau de bord est très lent à charger.",),
            "es": ("El panel tarda muchísimo en cargar.",),
        },
    ),
    Theme(
        key="pricing",
        base_rate=0.05,
        plan_factor={"Free": 0.6, "Team": 1.7, "Business": 1.4, "Enterprise": 0.45},
        score_weights=(3, 4, 5, 7, 8, 9, 9, 10, 7, 1, 0.3),
        templates=(
            "[too expensive|way too pricey|overpriced] [for what it is|for a small team|for what we use"
            "|compared to [trello|asana|monday|clickup|competitors]]",
            "the [per-seat|per seat|per-user] [price increase|price hike|pricing change] [was|is] "
            "[hard to justify|a shock|too much|not ok]",
            "[prices went up|you raised prices] [again |][by 30% |][and|but] [we got nothing new"
            "|nothing improved|we're reconsidering|we may downgrade]",
            "paying [per seat|for every user] [gets|is getting] [expensive|ridiculous|hard to justify] "
            "[as we grow|with guests|for occasional users]",
            "[need|want|please add] [a cheaper plan|cheaper seats for viewers|free viewer seats"
            "|a nonprofit discount|a better annual discount]",
            "[cost|pricing|price] is [the main issue|the only reason i'm not a 10|too high|hard to sell internally]",
            "[budget|finance] [keeps asking|pushes back on] [why we pay so much|the renewal] "
            "[after the seat price increase|]",
            "[expensive|pricey|$$$]",
        ),
        extras=(
            "we're a team of [8|12|25|40]",
            "[asana|clickup|monday] is [cheaper|half the price]",
            "renewal is [next month|coming up] and [it's|we're] [under review|on the fence]",
        ),
        translations={
            "de": ("Zu teuer für kleine Teams, vor allem nach der Preiserhöhung pro Nutzer.",),
            "fr": ("Trop cher par utilisateur, surtout après la hausse de prix.",),
            "es": ("Demasiado caro por usuario después del aumento de precio.",),
        },
    ),
    Theme(
        key="integrations",
        base_rate=0.045,
        plan_factor={"Free": 0.7, "Team": 1.0, "Business": 1.3, "Enterprise": 1.2},
        score_weights=(0.5, 0.5, 1, 2, 3, 6, 9, 14, 13, 3, 1),
        templates=(
            "[missing|no|need a [proper|better|native]|please add [a|an]] [slack|salesforce|hubspot|teams"
            "|github|gitlab|google calendar|outlook] integration",
            "[the |]slack integration [is too basic|doesn't work with threads|only posts to one channel"
            "|keeps disconnecting]",
            "[we can't|can't|no way to] [import from jira|migrate our jira projects|sync with salesforce"
            "|connect to salesforce|import jira epics]",
            "jira import [failed|lost our [attachments|comments|subtasks]|is half-baked|broke our links]",
            "wish it [integrated|talked] [better |]with [our crm|salesforce|the tools we already use|slack and jira]",
            "[two-way|2 way|bi-directional] sync with [jira|salesforce|github issues] [is missing"
            "|would be huge|is a must]",
            "[zapier|the api] is [not enough|too limited], we need [real|native] integrations",
        ),
        extras=(
            "our [sales|eng|support] team lives in [salesforce|jira|slack]",
            "that's [what's|the only thing] keeping [us|me] from [a 9|recommending it]",
        ),
        translations={
            "de": ("Uns fehlt eine richtige Salesforce-Integration.",),
        },
    ),
    Theme(
        key="support_slow",
        base_rate=0.035,
        plan_factor={"Free": 0.5, "Team": 1.0, "Business": 1.1, "Enterprise": 1.2},
        score_weights=(6, 7, 9, 10, 9, 8, 5, 3, 2, 0.4, 0.1),
        templates=(
            "support [is|was] [slow|very slow|too slow|painfully slow] [to respond|to reply|]",
            "[waited|been waiting] [3 days|a week|over a week|5 days|two weeks] for [a reply|an answer"
            "|support to get back to me]",
            "[ticket|my ticket|our ticket] [has been open|sat unanswered] for [days|weeks|10 days]",
            "support [just sends|only sends|replies with] "
            "[canned answers|links to the docs|copy-paste replies]"
            "[ and never fixes anything|]",
            "[no|can't reach|impossible to reach] [a human|anyone|a real person] [in support|on chat|by phone]",
            "[customer support|the support team|your support] never [follows|follow] up",
            "took [forever|ages|3 weeks] to get [a bug|a billing issue|our problem] [fixed|resolved"
            "|acknowledged] by support",
            "[response time|support response time] is [terrible|way too long|unacceptable for what we pay]",
        ),
        extras=(
            "[we pay for|we're on] [premium support|the business plan] [and still wait|btw]",
            "[ticket #48213|ticket 51007|case 39920] still open",
        ),
        translations={
            "de": ("Der Support antwortet viel zu langsam.",),
            "fr": ("Le support met des jours à répondre.",),
            "es": ("El soporte tarda días en responder.",),
        },
    ),
    Theme(
        key="sso_permissions",
        base_rate=0.03,
        plan_factor={"Free": 0.05, "Team": 0.25, "Business": 1.2, "Enterprise": 5.0},
        score_weights=(2, 2, 4, 6, 7, 9, 9, 10, 7, 1.2, 0.4),
        templates=(
            "[we need|need|missing|no] [saml|sso|saml sso|okta sso|azure ad sso] [for|on] [our plan"
            "|all workspaces|every workspace]",
            "[sso|saml] [login|setup] [keeps failing|is broken|breaks with okta|doesn't work with azure ad]",
            "[admin|user] permissions are [too coarse|a mess|not granular enough|confusing]",
            "can't [restrict|limit] [guests|contractors|external users] to [one board|specific projects|read-only]",
            "[no|missing] [scim|user provisioning|automatic deprovisioning] [is a blocker|for our it team"
            "|— security flagged it]",
            "[our|the] [security|it] team [won't approve|is blocking] [wider rollout|more seats] "
            "[without|until we get] [proper sso|role-based access|audit logs]",
            "[need|want] [custom roles|role based permissions|workspace-level admin roles|an audit log] "
            "for [admins|compliance]",
        ),
        extras=(
            "[we have|rolling out to] [800|2000|5000+] users",
            "this is [a blocker|blocking renewal|on our security review]",
        ),
        translations={
            "de": ("Wir brauchen SAML-SSO und feinere Admin-Rechte für unsere IT-Abteilung.",),
            "fr": ("Il nous faut le SSO SAML et des rôles d'administration plus fins.",),
        },
    ),
    Theme(
        key="export",
        base_rate=0.03,
        plan_factor={"Free": 0.8, "Team": 1.0, "Business": 1.3, "Enterprise": 1.1},
        score_weights=(1, 2, 3, 5, 6, 8, 9, 11, 9, 1.2, 0.4),
        templates=(
            "[csv|excel|xlsx] export [is broken|doesn't work|fails|times out|drops columns]",
            "[exporting|export] to [excel|csv] [loses|drops|mangles] [custom fields|dates|comments|subtasks"
            "|special characters]",
            "[can't|cannot|no way to] export [more than 1000 rows|all boards at once|time tracking data|the reports]",
            "[the |]export [is too limited|only gives raw ids|has no filters|messes up the encoding]",
            "[need|want] [scheduled|automatic|better] exports [to excel|for reporting|to google sheets]",
            "[umlauts|accents|non-english characters] [break|get garbled] in the csv export",
            "[excel|csv] file from [the |]export [is empty|won't open|has wrong dates]",
        ),
        extras=(
            "we need it for [monthly reporting|the board deck|billing clients]",
            "[had to|i] copy paste [everything|by hand] instead",
        ),
        translations={
            "de": ("Der Excel-Export zerstört Umlaute und Datumsfelder.",),
            "fr": ("L'export CSV perd les accents.",),
            "es": ("La exportación a Excel no funciona bien.",),
        },
    ),
    Theme(
        key="onboarding",
        base_rate=0.035,
        plan_factor={"Free": 1.5, "Team": 1.2, "Business": 0.9, "Enterprise": 0.6},
        score_weights=(1, 2, 3, 5, 6, 8, 9, 11, 9, 1.5, 0.5),
        templates=(
            "[onboarding|getting started|the setup] [was|is] [confusing|overwhelming|a pain|hard]",
            "[steep|really steep|big] learning curve [for new users|for my team|for non-technical people|]",
            "[too many|way too many] [options|settings|features] [for new users|at first"
            "|, hard to know where to start]",
            "[it took|took] [us|my team] [weeks|a month|ages] to "
            "[figure out|get comfortable with|understand] "
            "[the basics|workflows|how boards and projects relate]",
            "[my team|half the team|new hires|our clients] [still |][find|struggle with] it [confusing"
            "|hard to use|unintuitive]",
            "[the ui|the interface|navigation] is [not intuitive|cluttered|confusing] [at all|for beginners|]",
            "[need|would love|please add] [better tutorials|a guided tour|templates to get started|onboarding videos]",
            "hard to learn",
        ),
        extras=(
            "[non-tech|non technical] [colleagues|people] gave up",
            "docs [didn't help|are out of date]",
        ),
        translations={
            "es": ("Es difícil de aprender para el equipo, la configuración inicial es confusa.",),
        },
    ),
    Theme(
        key="notifications",
        base_rate=0.04,
        plan_factor={"Free": 0.9, "Team": 1.0, "Business": 1.1, "Enterprise": 1.0},
        score_weights=(0.2, 0.3, 0.5, 1, 2, 3, 5, 16, 17, 4, 1.5),
        templates=(
            "[too many|way too many|so many] [notifications|emails|email notifications|pings]",
            "[notifications|email notifications|the emails] [are|get] [too noisy|overwhelming|spammy|annoying]",
            "[i get|getting] [an email|a notification] for [every little change|every comment|everything], "
            "[please let me|need to|can't] [mute|batch|filter] them",
            "[the |]daily digest [is useless|spams me|can't be turned off]",
            "[notification settings|email settings] [are confusing|are too coarse|don't stick|reset after updates]",
            "[my inbox|inbox] [is flooded with|gets flooded with|is full of] acme [emails|notifications]",
            "[would like|need|want] [a digest|fewer emails|smarter notifications|per-board notification settings]",
            "email spam from [the app|acme boards|every board i'm on]",
        ),
        extras=(
            "i [just |]ignore them [all |]now",
            "[set up|made] an inbox filter [for them|to cope]",
        ),
        translations={
            "de": ("Viel zu viele E-Mail-Benachrichtigungen.",),
            "fr": ("Beaucoup trop de notifications par e-mail.",),
            "es": ("Demasiadas notificaciones por correo.",),
        },
    ),
    Theme(
        key="search",
        base_rate=0.03,
        plan_factor={"Free": 0.9, "Team": 1.0, "Business": 1.1, "Enterprise": 1.1},
        score_weights=(1, 1, 2, 4, 5, 7, 9, 12, 10, 1.5, 0.5),
        templates=(
            "search [doesn't|does not] [find|return] [tasks|the right tasks|anything useful|archived tasks]",
            "search never [finds|returns] [my tasks|the right task|archived tasks|anything]",
            "[search|the search] is [useless|broken|terrible|not reliable]",
            "[can't|cannot] find [tasks|old tasks|comments|attachments] [with search|by keyword"
            "|even with the exact title]",
            "search [only looks at titles|ignores comments|misses subtasks|is case sensitive??]",
            "[need|want] [better|full-text|fuzzy] search [across boards|in comments|with filters]",
            "[searching|finding] [for |]anything [takes forever|is a nightmare|is hit or miss]",
        ),
        extras=(
            "i [end up scrolling|have to scroll] through boards [manually|by hand]",
            "[typed|searched] the exact task name and got nothing",
        ),
        translations={
            "fr": ("La recherche ne trouve jamais les tâches.",),
        },
    ),
    Theme(
        key="dark_mode",
        base_rate=0.012,
        plan_factor={"Free": 1.3, "Team": 1.3, "Business": 0.8, "Enterprise": 0.5},
        score_weights=(0, 0, 0, 0.3, 0.6, 1.5, 4, 9, 12, 10, 6),
        templates=(
            "[please add|need|where is|still no|would love] [a |]dark mode[ please|!|]",
            "[dark theme|dark mode] [for late nights|would be nice|on the web app too]",
            "my eyes [hurt|burn][ at night|], [dark mode|a dark theme] please",
        ),
    ),
)
THEME_BY_KEY = {t.key: t for t in THEMES}
TIME_FACTOR: dict[str, Callable[[dt.date], float]] = {
    "mobile_crashes": _mobile_factor,
    "slow_dashboard": _dashboard_factor,
}

# Scores of respondents without a specific issue (index = score 0..10).
NO_ISSUE_SCORES = (0.2, 0.2, 0.3, 0.4, 0.6, 1.0, 2.0, 8.0, 12.5, 29, 25)
# Overall propensity to hit an issue, by plan (Enterprise grumpier than Team).
PLAN_ISSUE_MULT = {"Free": 0.95, "Team": 0.72, "Business": 0.72, "Enterprise": 0.74}

TONE_DETRACTOR = ("", "", "", "honestly ", "ugh, ", "seriously, ", "tbh ", "frustrated. ", "sigh. ")
TONE_PASSIVE = (
    "",
    "",
    "",
    "overall ok but ",
    "good tool, but ",
    "mostly fine, ",
    "decent product. ",
    "it does the job, but ",
    "we like it but ",
    "pretty good except ",
)
TONE_PROMOTER = ("love it! only thing: ", "great product. ", "10/10 except ", "really happy overall, but ")
GENERIC_EXTRAS = (
    "please fix",
    "fix this and it's a 10",
    "otherwise [great|good|solid]",
    "thinking about switching to [asana|clickup|monday|linear]",
    "this has been going on for [weeks|months]",
    "our team of [12|40|200] is affected",
    "[not sure|don't know] why this [isn't|hasn't been] fixed yet",
)

PRAISE = (
    "[love|really like|we love] the [kanban|timeline|gantt|calendar|board] view",
    "[great|solid|excellent|awesome] [tool|product|app][!|]",
    "[easy|simple|intuitive] to [use|set up|roll out to the team]",
    "[automations|recurring tasks|templates|custom fields] save [us|me] [hours|so much time][ every week|]",
    "best [project management|pm] tool we've [tried|used]",
    "[the team|everyone|our whole company] [loves it|uses it daily|uses it every day]",
    "support [was|were] [super|really] helpful[ when we migrated|]",
    "keeps [our team|everyone] on the same page",
    "[switched from|moved from] [trello|asana|jira|spreadsheets] and [never looked back|love it|it's so much better]",
    "clean ui, [fast|reliable], [does what we need|no complaints]",
    "[github|slack] integration works [great|nicely]",
    "the [kanban board|timeline|workload view] is [exactly what we needed|a game changer]",
    "[simple|flexible] and [fast|powerful]",
    "[makes|made] sprint planning [so much easier|painless]",
)
PRAISE_AFTER_FIX = (
    "[the |][new |]dashboard is [much|way|so much] faster now",
    "performance got a lot better",
)
PRAISE_EXTRAS = (
    "[keep it up|keep up the good work|thanks]!",
    "recommended it to [two|three|a few] other teams",
    "we've been [customers|on it] for [2|3|4] years",
)
PRAISE_TRANSLATIONS = {
    "de": (
        "Super Tool, die Kanban-Ansicht ist top!",
        "Einfach zu bedienen, das ganze Team nutzt es.",
        "Sehr zufrieden. Die Zeitleiste hilft uns enorm bei der Sprintplanung.",
        "läuft stabil, gute Automatisierungen",
    ),
    "fr": (
        "Très bon outil, on l'utilise tous les jours.",
        "Interface claire et simple, merci !",
        "Super pratique pour suivre nos projets. Toute l'équipe l'a adopté.",
    ),
    "es": (
        "Excelente herramienta, la vista kanban es genial.",
        "Muy fácil de usar, todo el equipo lo usa.",
        "nos ahorra mucho tiempo con las automatizaciones",
        "Muy buena app. La recomendé a otros equipos.",
    ),
}
GENERIC_PASSIVE = (
    "[it's|its] [fine|ok|okay][ i guess|]",
    "does the job[ for now|]",
    "[good|decent] but nothing special",
    "[solid|good], [a few|some] rough edges",
    "[ok|okay|decent] product[, room for improvement|, could be better|]",
    "works [for us|mostly], [a bit|somewhat] clunky",
    "[it's |]good enough for [our needs|a small team|now]",
    "[mostly happy|pretty happy|happy enough], [nothing to add|no big complaints|some bugs here and there]",
    "[does what it says|gets the job done], [not exciting|nothing more|could be smoother]",
    "[a few|some] [small|minor] [annoyances|bugs|quirks] but [fine|ok overall|we manage]",
)
GENERIC_DETRACTOR = (
    "[too many|lots of] bugs lately",
    "just doesn't work for us",
    "we're moving to another tool",
    "[quality|reliability] has gone down",
    "[disappointed|very disappointed]",
    "[meh|not great]",
)
NON_ACTIONABLE = ("n/a", "N/A", "no", "nothing", "-", "good", "ok", "👍", "none", "no comment", ".", "nope")

SECOND_THEME_JOINERS = (". also ", ". and ", " + ", ", plus ", ". on top of that ")

PROPER_NOUNS = {
    "i": "I",
    "i'm": "I'm",
    "slack": "Slack",
    "salesforce": "Salesforce",
    "hubspot": "HubSpot",
    "jira": "Jira",
    "github": "GitHub",
    "gitlab": "GitLab",
    "ios": "iOS",
    "android": "Android",
    "iphone": "iPhone",
    "ipad": "iPad",
    "sso": "SSO",
    "saml": "SAML",
    "scim": "SCIM",
    "okta": "Okta",
    "csv": "CSV",
    "excel": "Excel",
    "ui": "UI",
    "api": "API",
    "acme": "Acme",
    "asana": "Asana",
    "trello": "Trello",
    "clickup": "ClickUp",
}

# --------------------------------------------------------------------------------------------
# Accounts and respondents
# --------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "sarah", "james", "priya", "marco", "lena", "tom", "aisha", "kenji", "sofia", "daniel", "chloe",
    "mateo", "emma", "lucas", "mei", "omar", "julia", "noah", "fatima", "liam", "ana", "jonas", "nina",
    "david", "yuki", "carlos", "hannah", "ravi", "elena", "ben", "grace", "pablo", "ingrid", "sam",
    "olivia", "felix", "zoe", "arjun", "camille", "diego", "maya", "erik", "laura", "kofi", "isabel",
    "max", "rachel", "hugo", "amelia", "tariq",
)  # fmt: skip
LAST_NAMES = (
    "miller", "schmidt", "patel", "rossi", "nguyen", "garcia", "kim", "dubois", "johnson", "tanaka",
    "silva", "kowalski", "brown", "fischer", "okafor", "lopez", "andersen", "chen", "murphy", "martin",
    "novak", "costa", "weber", "singh", "taylor", "moreau", "haddad", "wilson", "fernandez", "larsen",
    "walker", "becker", "ito", "reyes", "clarke", "ali", "jensen", "bianchi", "wright", "santos",
)  # fmt: skip
COMPANY_A = (
    "north", "blue", "bright", "river", "stone", "pine", "summit", "harbor", "red", "silver", "oak",
    "cedar", "iron", "lumen", "nova", "atlas", "clear", "swift", "maple", "granite", "coral", "delta",
    "echo", "falcon", "golden", "helix", "orbit", "pixel", "quartz", "vertex",
)  # fmt: skip
COMPANY_B = (
    "wind", "field", "lane", "works", "labs", "logistics", "foods", "media", "health", "capital",
    "studio", "systems", "digital", "partners", "retail", "energy", "robotics", "legal", "bio", "freight",
    "analytics", "design", "build", "ventures", "cloud",
)  # fmt: skip
PERSONAL_DOMAINS = ("mail.example.net", "inbox.example.org", "example.com")

PLAN_ACCOUNT_SHARE = {"Free": 0.30, "Team": 0.36, "Business": 0.24, "Enterprise": 0.10}
PLAN_ACTIVITY = {"Free": 0.75, "Team": 1.0, "Business": 1.3, "Enterprise": 1.8}
PLAN_CONTACTS = {"Free": (1, 2), "Team": (1, 4), "Business": (2, 8), "Enterprise": (4, 16)}
PLAN_SIZES = {
    "Free": (0.62, 0.28, 0.10, 0.0, 0.0),
    "Team": (0.25, 0.50, 0.20, 0.05, 0.0),
    "Business": (0.0, 0.22, 0.45, 0.27, 0.06),
    "Enterprise": (0.0, 0.0, 0.07, 0.38, 0.55),
}
REGION_WEIGHTS = (0.45, 0.32, 0.13, 0.10)
# UTC hour window (start, end) in which each region tends to answer.
REGION_HOURS = {"NA": (13.0, 24.0), "EU": (6.5, 17.5), "APAC": (0.0, 9.5), "LATAM": (11.5, 23.0)}


@dataclass
class Account:
    """A customer account with its firmographics and survey contacts."""

    account_id: str
    plan: str
    region: str
    arr_usd: int
    company_size: str
    mood: float
    contacts: list[str]


def _arr_for(plan: str, size: str, rng: random.Random) -> int:
    """Return an annual recurring revenue consistent with plan and company size."""
    if plan == "Free":
        return 0
    size_idx = SIZES.index(size)
    if plan == "Team":  # $12 per seat per month
        lo, hi = ((2, 8), (5, 35), (10, 60), (20, 80), (30, 90))[size_idx]
        return rng.randint(lo, hi) * 12 * 12
    if plan == "Business":  # $24 per seat per month
        lo, hi = ((5, 10), (10, 45), (25, 160), (60, 500), (150, 900))[size_idx]
        return rng.randint(lo, hi) * 24 * 12
    lo, hi = ((30, 60), (30, 60), (40, 90), (60, 180), (120, 480))[size_idx]  # Enterprise, custom
    return rng.randint(lo, hi) * 1000 + rng.choice((0, 0, 500))


def _email(first: str, last: str, domain: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.55:
        local = f"{first}.{last}"
    elif style < 0.75:
        local = f"{first[0]}{last}"
    elif style < 0.88:
        local = first
    else:
        local = f"{first}_{last}{rng.randint(1, 99)}"
    return f"{local}@{domain}"


def build_accounts(rng: random.Random) -> list[Account]:
    """Create the fixed account population.

    Args:
        rng: Source of randomness.

    Returns:
        ``N_ACCOUNTS`` accounts with unique ids and domains.
    """
    accounts: list[Account] = []
    used_domains: set[str] = set()
    plans = list(PLAN_ACCOUNT_SHARE)
    plan_w = list(PLAN_ACCOUNT_SHARE.values())
    for i in range(N_ACCOUNTS):
        plan = rng.choices(plans, plan_w)[0]
        region = rng.choices(REGIONS, REGION_WEIGHTS)[0]
        size = rng.choices(SIZES, PLAN_SIZES[plan])[0]
        while True:
            slug = f"{rng.choice(COMPANY_A)}{rng.choice(('', '-'))}{rng.choice(COMPANY_B)}"
            tld = rng.choices(("example.com", "acme-customer.test", "example.org"), (0.6, 0.3, 0.1))[0]
            domain = f"{slug}.{tld}"
            if domain not in used_domains:
                used_domains.add(domain)
                break
        lo, hi = PLAN_CONTACTS[plan]
        contacts: list[str] = []
        for _ in range(rng.randint(lo, hi)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            dom = domain
            if plan == "Free" and rng.random() < 0.5:
                dom = rng.choice(PERSONAL_DOMAINS)
            email = _email(first, last, dom, rng)
            if email not in contacts:
                contacts.append(email)
        accounts.append(
            Account(
                account_id=f"ACC_{i + 1:04d}",
                plan=plan,
                region=region,
                arr_usd=_arr_for(plan, size, rng),
                company_size=size,
                mood=math.exp(rng.gauss(0.0, 0.3)),
                contacts=contacts,
            )
        )
    return accounts


# --------------------------------------------------------------------------------------------
# Volume over time
# --------------------------------------------------------------------------------------------

# Quarterly e-mail survey waves on top of the always-on in-app survey.
WAVES = (dt.date(2026, 4, 14), dt.date(2026, 7, 14), dt.date(2026, 10, 6))
WEEKDAY_FACTOR = (1.0, 1.05, 1.0, 0.95, 0.8, 0.25, 0.2)


def sample_datetimes(rng: random.Random, regions: Sequence[str]) -> list[dt.datetime]:
    """Draw one UTC timestamp per response with weekly volume variation.

    Args:
        rng: Source of randomness.
        regions: Region of each response (drives the time of day).

    Returns:
        Timestamps, in the order of ``regions`` (not sorted).
    """
    n_days = (END - START).days + 1
    days = [START + dt.timedelta(days=d) for d in range(n_days)]
    week_noise = [math.exp(rng.gauss(0.0, 0.18)) for _ in range(n_days // 7 + 1)]
    weights: list[float] = []
    for idx, day in enumerate(days):
        w = WEEKDAY_FACTOR[day.weekday()] * week_noise[idx // 7]
        w *= 0.9 + 0.25 * idx / n_days  # growing customer base
        if day.month == 8:
            w *= 0.7  # summer holidays
        for wave in WAVES:
            lag = (day - wave).days
            if 0 <= lag < 10:
                w *= 1.0 + 2.2 * math.exp(-lag / 2.5)
        weights.append(w)
    out: list[dt.datetime] = []
    for region in regions:
        day = rng.choices(days, weights)[0]
        lo, hi = REGION_HOURS[region]
        hours = rng.triangular(lo, hi, (lo + hi) / 2)
        secs = min(int(hours * 3600), 86399)
        out.append(dt.datetime(day.year, day.month, day.day) + dt.timedelta(seconds=secs))
    return out


# --------------------------------------------------------------------------------------------
# Comment composition
# --------------------------------------------------------------------------------------------


def _typo(text: str, rng: random.Random) -> str:
    """Introduce one keyboard-style typo into a random longer word."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.random()
    if kind < 0.4:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif kind < 0.7:
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def _sentence_case(text: str) -> str:
    """Capitalise sentence starts and well-known proper nouns."""
    words = text.split(" ")
    fixed = []
    for w in words:
        core = w.rstrip(".,!?:;")
        tail = w[len(core) :]
        fixed.append(PROPER_NOUNS.get(core, core) + tail)
    out = " ".join(fixed)
    out = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), out)
    return out


def _finish(text: str, rng: random.Random) -> str:
    """Apply a respondent's writing style: casing, typos and final punctuation."""
    if rng.random() < 0.12:
        text = _typo(text, rng)
    style = rng.random()
    if style < 0.55:
        text = text.lower()
    elif style < 0.93:
        text = _sentence_case(text)
        if text[-1] not in ".!?" and rng.random() < 0.6:
            text += "."
    elif style < 0.96 and len(text) < 60:
        text = text.upper()
    end = rng.random()
    if end < 0.05:
        text = text.rstrip(".") + "!!"
    elif end < 0.09:
        text = text.rstrip(".") + "..."
    return text


def _sep(text: str) -> tuple[str, str]:
    """Return ``text`` without trailing dots and the separator that should follow it."""
    text = text.strip().rstrip(".").rstrip()
    return text, (" " if text.endswith(("!", "?")) else ". ")


def _join(parts: list[str]) -> str:
    out = ""
    for part in parts:
        if not part.strip():
            continue
        if out:
            out, sep = _sep(out)
            out += sep
        out += part.strip()
    return _sep(out)[0] if out.endswith(".") and not out.endswith("...") else out


def _theme_text(theme: Theme, rng: random.Random, long_form: bool) -> str:
    text = expand(rng.choice(theme.templates), rng)
    if long_form and (theme.extras or GENERIC_EXTRAS):
        pool = theme.extras if theme.extras and rng.random() < 0.6 else GENERIC_EXTRAS
        text = _join([text, expand(rng.choice(pool), rng)])
    return text


def _praise(rng: random.Random, day: dt.date, long_form: bool) -> str:
    pool = PRAISE + PRAISE_AFTER_FIX if day >= FIX_SHIPPED + dt.timedelta(days=7) else PRAISE
    text = expand(rng.choice(pool), rng)
    if long_form:
        text = _join([text, expand(rng.choice(PRAISE + PRAISE_EXTRAS), rng)])
    return text


def _fill(template: str, text: str, **values: str) -> str:
    """Substitute ``{t}`` (the comment) and other ``{x}`` placeholders without doubled punctuation."""
    body, sep = _sep(text)
    out = template.replace("{t}. ", body + sep).replace("{t}", body)
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def _pii(text: str, email: str, rng: random.Random) -> tuple[str, str]:
    """Embed one piece of personal data into ``text``; return the new text and its kind."""
    kind = rng.choices(("email", "phone", "name", "card"), (0.35, 0.3, 0.27, 0.08))[0]
    if kind == "email":
        addr = email
        if rng.random() < 0.4:  # a colleague's address instead of the respondent's own
            addr = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}@{email.split('@')[1]}"
        tmpl = rng.choice(
            (
                "{t}. [contact me at|email me at|reach me at|you can email me:] {a}",
                "{t} - [please |]reach out to {a}",
                "{t}. cc our admin {a}",
            )
        )
        return _fill(expand(tmpl, rng), text, a=addr), kind
    if kind == "phone":
        d = rng.randint
        phone = rng.choice(
            (
                f"+1 415 555 01{d(10, 99)}",
                f"(212) 555-01{d(10, 99)}",
                f"+1-646-555-01{d(10, 99)}",
                f"+44 20 7946 0{d(100, 999)}",
                f"+49 30 {d(1000000, 9999999)}",
                f"0176 {d(1000, 9999)} {d(1000, 9999)}",
                f"+33 6 {d(10, 99)} {d(10, 99)} {d(10, 99)} {d(10, 99)}",
                f"+34 612 {d(100, 999)} {d(100, 999)}",
            )
        )
        tmpl = rng.choice(("{t}. call me [at|on] {p}", "{t} - my number is {p}", "{t}. [happy to talk|call me], {p}"))
        return _fill(expand(tmpl, rng), text, p=phone), kind
    if kind == "name":
        name = rng.choice(FIRST_NAMES).capitalize()
        team = rng.choice(("finance", "ops", "marketing", "IT", "the PMO", "engineering", "sales"))
        tmpl = rng.choice(
            (
                "Hi, I'm {n} from {m} — {t}",
                "Hello, this is {n} ({m}). {t}",
                "hey it's {n} from {m}: {t}",
                "{t}. thanks, {n}",
                "{t} -- {n}, {m} lead",
            )
        )
        return _fill(tmpl, text, n=name, m=team), kind
    card = rng.choice(("4111 1111 1111 1111", "5555-5555-5555-4444", "4012888888881881", "3782 822463 10005"))
    tmpl = rng.choice(
        (
            "{t}. also we were charged twice on card {c}",
            "{t}. please update billing to card {c}",
            "{t} (billing card {c} keeps getting declined)",
        )
    )
    return _fill(tmpl, text, c=card), kind


@dataclass
class Response:
    """One generated survey response plus the generator's ground-truth bookkeeping."""

    responded_at: dt.datetime
    account: Account
    email: str
    score: int
    comment: str
    issue: str | None
    comment_theme: str | None
    second_theme: str | None
    kind: str
    lang: str
    pii: str
    response_id: str = ""


def _bucket(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _pick_contact(account: Account, day: dt.date, last_seen: dict[str, dt.date], rng: random.Random) -> str:
    """Pick a contact, preferring ones not surveyed in the last 90 days."""
    email = rng.choice(account.contacts)
    for _ in range(4):
        seen = last_seen.get(email)
        if seen is None or (day - seen).days >= 90:
            break
        email = rng.choice(account.contacts)
    last_seen[email] = day
    return email


def _make_comment(
    rng: random.Random, score: int, issue: str | None, second: str | None, account: Account, day: dt.date
) -> tuple[str, str | None, str | None, str, str]:
    """Compose a comment. Returns text, comment theme, second theme, kind and language."""
    bucket = _bucket(score)
    if rng.random() < 0.04:
        return rng.choice(NON_ACTIONABLE), None, None, "non_actionable", "en"
    long_form = rng.random() < 0.22
    lang = "en"
    if account.region in ("EU", "LATAM") and rng.random() < 0.05:
        lang = "es" if account.region == "LATAM" else rng.choice(("de", "de", "fr", "es"))
    if issue is not None:
        theme = THEME_BY_KEY[issue]
        if lang != "en":
            options = theme.translations.get(lang)
            if options:
                return rng.choice(options), issue, None, "theme", lang
            lang = "en"
        text = _theme_text(theme, rng, long_form)
        if second is not None and rng.random() < 0.8:
            text = text + rng.choice(SECOND_THEME_JOINERS) + _theme_text(THEME_BY_KEY[second], rng, False)
        else:
            second = None
        if bucket == "promoter":
            if rng.random() < 0.5:
                text = _praise(rng, day, False) + rng.choice((" but ", ". only thing: ", ", though ")) + text
            else:
                text = rng.choice(TONE_PROMOTER) + text
        elif bucket == "passive":
            text = rng.choice(TONE_PASSIVE) + text
        else:
            text = rng.choice(TONE_DETRACTOR) + text
        return _finish(text, rng), issue, second, "theme", "en"
    if lang != "en" and bucket == "promoter":
        return rng.choice(PRAISE_TRANSLATIONS[lang]), None, None, "praise", lang
    if bucket == "promoter":
        return _finish(_praise(rng, day, long_form), rng), None, None, "praise", "en"
    pool = GENERIC_PASSIVE if bucket == "passive" else GENERIC_DETRACTOR
    return _finish(expand(rng.choice(pool), rng), rng), None, None, "generic", "en"


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def _theme_rates(plan: str, mood: float, day: dt.date) -> list[float]:
    mult = PLAN_ISSUE_MULT[plan] * mood
    return [t.base_rate * t.plan_factor[plan] * TIME_FACTOR.get(t.key, _flat)(day) * mult for t in THEMES]


def generate(seed: int = DEFAULT_SEED) -> list[Response]:
    """Generate all responses, sorted by time, with response ids assigned.

    Args:
        seed: Seed of the single random generator.

    Returns:
        The responses in chronological order.
    """
    rng = random.Random(seed)
    accounts = build_accounts(rng)
    act_w = [PLAN_ACTIVITY[a.plan] * math.exp(rng.gauss(0.0, 0.5)) for a in accounts]
    picked = rng.choices(accounts, act_w, k=N_RESPONSES)
    stamps = sample_datetimes(rng, [a.region for a in picked])
    order = sorted(range(N_RESPONSES), key=lambda i: (stamps[i], picked[i].account_id))
    last_seen: dict[str, dt.date] = {}
    out: list[Response] = []
    scores = range(11)
    for i in order:
        account, stamp = picked[i], stamps[i]
        day = stamp.date()
        email = _pick_contact(account, day, last_seen, rng)
        rates = _theme_rates(account.plan, account.mood, day)
        total = sum(rates)
        scale = min(1.0, 0.85 / total)
        issue: str | None = None
        second: str | None = None
        if rng.random() < total * scale:
            issue = rng.choices(THEMES, rates)[0].key
            if rng.random() < 0.1:
                others = [(t.key, r) for t, r in zip(THEMES, rates, strict=True) if t.key != issue]
                second = rng.choices([k for k, _ in others], [r for _, r in others])[0]
        weights = THEME_BY_KEY[issue].score_weights if issue else NO_ISSUE_SCORES
        score = rng.choices(scores, weights)[0]
        bucket = _bucket(score)
        comment_p = {"detractor": 0.84, "passive": 0.72, "promoter": 0.62}[bucket]
        comment, ctheme, csecond, kind, lang, pii = "", None, None, "empty", "", ""
        if rng.random() < comment_p:
            comment, ctheme, csecond, kind, lang = _make_comment(rng, score, issue, second, account, day)
            if kind != "non_actionable" and rng.random() < 0.024:
                comment, pii = _pii(comment, email, rng)
        out.append(Response(stamp, account, email, score, comment, issue, ctheme, csecond, kind, lang, pii))
    for n, resp in enumerate(out, start=1):
        resp.response_id = f"R_{n:06d}"
    return out


def write_csv(path: Path, rows: Sequence[Response]) -> None:
    """Write the public export (no ground-truth columns).

    Args:
        path: Destination file; parent folders are created.
        rows: Responses in output order.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for r in rows:
            writer.writerow(
                (
                    r.response_id,
                    r.responded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    r.score,
                    r.comment,
                    r.account.account_id,
                    r.email,
                    r.account.plan,
                    r.account.region,
                    r.account.arr_usd,
                    r.account.company_size,
                )
            )


def write_labels(path: Path, rows: Sequence[Response]) -> None:
    """Write the generator's ground truth per response (for evaluating clustering and redaction).

    Args:
        path: Destination file; parent folders are created.
        rows: Responses in output order.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("response_id", "issue", "comment_theme", "second_theme", "kind", "lang", "pii"))
        for r in rows:
            writer.writerow(
                (
                    r.response_id,
                    r.issue or "",
                    r.comment_theme or "",
                    r.second_theme or "",
                    r.kind,
                    r.lang,
                    r.pii,
                )
            )


def _nps(scores: Sequence[int]) -> float:
    if not scores:
        return float("nan")
    prom = sum(s >= 9 for s in scores)
    det = sum(s <= 6 for s in scores)
    return 100.0 * (prom - det) / len(scores)


def summarize(rows: Sequence[Response]) -> str:
    """Summarise the generated data from the generator's own bookkeeping.

    Args:
        rows: Generated responses.

    Returns:
        A multi-line human-readable report.
    """
    lines: list[str] = []
    n = len(rows)
    buckets = Counter(_bucket(r.score) for r in rows)
    lines.append(
        f"responses={n} accounts={len({r.account.account_id for r in rows})} respondents={len({r.email for r in rows})}"
    )
    lines.append(
        "buckets: "
        + ", ".join(f"{b}={buckets[b]} ({100 * buckets[b] / n:.1f}%)" for b in ("promoter", "passive", "detractor"))
    )
    lines.append(f"NPS overall: {_nps([r.score for r in rows]):+.1f}")
    for key, label in (("plan", PLANS), ("region", REGIONS)):
        parts = []
        for v in label:
            sc = [r.score for r in rows if getattr(r.account, key) == v]
            parts.append(f"{v}={_nps(sc):+.1f} (n={len(sc)})")
        lines.append(f"NPS by {key}: " + ", ".join(parts))
    with_comment = [r for r in rows if r.comment]
    lines.append(f"with comment: {len(with_comment)} ({100 * len(with_comment) / n:.1f}%)")
    kinds = Counter(r.kind for r in rows)
    lines.append("comment kinds: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    lines.append(
        "languages: " + ", ".join(f"{k}={v}" for k, v in sorted(Counter(r.lang for r in with_comment).items()))
    )
    pii = Counter(r.pii for r in rows if r.pii)
    lines.append(
        f"pii: {sum(pii.values())} ({100 * sum(pii.values()) / len(with_comment):.1f}% of comments) "
        + ", ".join(f"{k}={v}" for k, v in sorted(pii.items()))
    )
    theme_texts = [r.comment for r in rows if r.kind == "theme"]
    lines.append(f"theme comments: {len(theme_texts)}, distinct texts: {len(set(theme_texts))}")
    months = sorted({r.responded_at.strftime("%Y-%m") for r in rows})
    per_month: dict[str, Counter[str]] = defaultdict(Counter)
    volume = Counter(r.responded_at.strftime("%Y-%m") for r in rows)
    for r in rows:
        m = r.responded_at.strftime("%Y-%m")
        for theme_key in (r.comment_theme, r.second_theme):
            if theme_key:
                per_month[theme_key][m] += 1
    lines.append("theme comments per month (incl. second themes):")
    lines.append(f"  {'theme':<16}" + "".join(f"{m[2:]:>7}" for m in months) + "  total")
    lines.append(f"  {'(responses)':<16}" + "".join(f"{volume[m]:>7}" for m in months) + f"  {n:>5}")
    for t in THEMES:
        c = per_month[t.key]
        lines.append(f"  {t.key:<16}" + "".join(f"{c[m]:>7}" for m in months) + f"  {sum(c.values()):>5}")
    lines.append("theme x plan (comment theme), and mean score:")
    for t in THEMES:
        sel = [r for r in rows if r.comment_theme == t.key]
        by_plan = Counter(r.account.plan for r in sel)
        b = Counter(_bucket(r.score) for r in sel)
        mean = sum(r.score for r in sel) / len(sel) if sel else float("nan")
        lines.append(
            f"  {t.key:<16}"
            + " ".join(f"{p[:3]}={by_plan[p]:<3}" for p in PLANS)
            + f"  mean={mean:4.1f} det/pas/pro={b['detractor']}/{b['passive']}/{b['promoter']}"
        )
    weekly = Counter((r.responded_at.date() - START).days // 7 for r in rows)
    wk = [weekly[w] for w in sorted(weekly)]
    lines.append(f"weekly volume: min={min(wk)} max={max(wk)} -> {wk}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        Process exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--labels", type=Path, default=None, help="also write ground-truth labels here")
    parser.add_argument("--report", action="store_true", help="print distribution figures")
    args = parser.parse_args(argv)
    rows = generate(args.seed)
    write_csv(args.out, rows)
    if args.labels is not None:
        write_labels(args.labels, rows)
    if args.report:
        print(summarize(rows))
    print(f"wrote {len(rows)} responses to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
