"""HTML: the brief's emitter and the one Jinja2 environment (autoescape on) for every HTML we write.

Escaping is Jinja2's autoescape (markupsafe) and nothing else: templates never mark customer text
safe, and links go through `safe_url`. The brief's markup is the macro file `templates/brief.html.j2`;
the report's templates import it, so a theme reads the same in a report as in an issue.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import NoReturn

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from backlog_bridge.brief.document import BriefDocument, safe_url


def environment(*packages: str) -> Environment:
    """An autoescaping environment over the `templates/` folders of `packages` and of the brief."""
    loader = ChoiceLoader([PackageLoader(name) for name in (*packages, __package__ or "backlog_bridge.brief")])
    env = Environment(loader=loader, autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["safe_url"] = safe_url
    env.filters["day"] = _day
    env.globals["unknown"] = _unknown
    return env


@cache
def _brief_environment() -> Environment:
    return environment()


def to_html(document: BriefDocument, level: int = 3) -> Markup:
    """The brief as an HTML fragment; its heading at `level` (3: `<h3>`)."""
    macros = _brief_environment().get_template("brief.html.j2").module
    return Markup(macros.document(document, level))  # type: ignore[attr-defined]


def _day(moment: date) -> str:
    return f"{moment:%Y-%m-%d}"


def _unknown(node: object) -> NoReturn:
    raise TypeError(f"no HTML for {type(node).__name__}")
