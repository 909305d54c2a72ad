"""The theme stage through the real store and the real offline model (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from backlog_bridge.cli import app
from backlog_bridge.context import AnalysisWindow
from backlog_bridge.ingest.importer import import_file
from backlog_bridge.settings import IngestSettings, ThemeSettings
from backlog_bridge.store.tables import Theme, ThemeEvent, ThemeMember
from backlog_bridge.themes import (
    ThemeError,
    export_assignments,
    merge_themes,
    rename_theme,
    split_theme,
    suppress_theme,
    theme_stats,
    update_themes,
)

pytestmark = pytest.mark.slow

NOW = datetime(2026, 6, 30, tzinfo=UTC)
SETTINGS = ThemeSettings(window_days=90)
WINDOW = AnalysisWindow(NOW, SETTINGS.window_days)

THEMES = {
    "crash": [
        "the mobile app crashes every time I open it", "app keeps crashing on my android phone",
        "iOS app crashed again after the update", "mobile app freezes and then crashes",
        "constant crashes in the phone app", "the app crashes when I upload a photo",
        "android app crashing daily", "your mobile app is unusable, it crashes all the time",
        "crashes on launch on my iphone", "the app crashed and I lost my work",
    ],
    "price": [
        "way too expensive for a small team", "the price increase per seat is outrageous",
        "pricing is too high compared to competitors", "too expensive, we may cancel at renewal",
        "the new per user pricing doubled our bill", "cost per seat is far too high",
        "expensive for what it does", "price went up again this year, not happy",
        "we cannot justify the cost anymore", "subscription price is too steep",
    ],
    "slack": [
        "please add a slack integration", "no integration with slack is a dealbreaker",
        "we need slack notifications for task updates", "integrate with slack so we see changes",
        "missing slack integration", "slack integration would make this so much better",
        "wish it connected to our slack workspace", "slack app integration please",
        "can't post updates to slack channels", "give us a proper slack integration",
    ],
}  # fmt: skip
FILLER = ["n/a", "nothing", "-", "good", "👍"]


def write_export(path: Path, comments: list[tuple[str, int, datetime]], start: int = 0) -> Path:
    lines = ["id,date,score,comment"]
    for i, (text, score, at) in enumerate(comments, start=start):
        lines.append(f'C{i},{at:%Y-%m-%dT%H:%M:%SZ},{score},"{text}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def base_comments() -> list[tuple[str, int, datetime]]:
    rows = []
    day = NOW - timedelta(days=60)
    for group, texts in THEMES.items():
        for j, text in enumerate(texts):
            rows.append((text, 3 if group != "slack" else 7, day + timedelta(hours=j)))
    rows += [(text, 5, day) for text in FILLER]
    rows += [("love it, works great", 10, day)]  # promoters are never themed
    return rows


def themes_by_label(engine) -> dict[str, Theme]:
    with Session(engine) as session:
        return {t.label: t for t in session.exec(select(Theme).where(Theme.status == "active"))}


def members(engine) -> dict[int, int | None]:
    with Session(engine) as session:
        return {m.response_id: m.theme_id for m in session.exec(select(ThemeMember))}


@pytest.fixture
def seeded(engine, tmp_path):
    import_file(engine, write_export(tmp_path / "a.csv", base_comments()), IngestSettings(), now=NOW)
    return engine


def test_themes_found_with_labels_quotes_and_buckets(seeded, embedder):
    summary = update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=1)
    assert summary.active_themes == 3
    assert summary.not_actionable == len(FILLER)
    assert summary.themed + summary.unthemed == 30 and summary.unthemed_share <= 0.1
    labels = " ".join(themes_by_label(seeded))
    assert "slack" in labels and ("crash" in labels or "app" in labels) and ("price" in labels or "expensive" in labels)
    for theme in themes_by_label(seeded).values():
        assert 3 <= len(theme.quotes) <= 5
        texts = [q["text"] for q in theme.quotes]
        assert len(set(texts)) == len(texts)
        assert theme.detractors + theme.passives == theme.size
    with Session(seeded) as session:
        buckets = [m.bucket for m in session.exec(select(ThemeMember))]
        assert buckets.count("not_actionable") == len(FILLER)
        assert {e.kind for e in session.exec(select(ThemeEvent))} == {"born"}


def test_rerun_keeps_ids_and_embeds_nothing_new(seeded, embedder):
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=1)
    before, ids = members(seeded), {t.key for t in themes_by_label(seeded).values()}
    again = update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=2)
    assert again.embedded == 0 and again.born == []
    assert members(seeded) == before
    assert {t.key for t in themes_by_label(seeded).values()} == ids


def test_new_comments_join_existing_themes_and_a_new_theme_is_born(seeded, embedder, tmp_path):
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=1)
    before = members(seeded)
    later = NOW - timedelta(days=5)
    extra = [("the android app crashes constantly now", 2, later), ("app crash when opening a board", 1, later)]
    extra += [(text, 4, later) for text in [
        "exporting to excel is broken", "csv export fails with an error", "cannot export reports to excel",
        "export to csv loses columns", "excel export is missing fields", "the export button does nothing",
    ]]  # fmt: skip
    import_file(seeded, write_export(tmp_path / "b.csv", extra, start=100), IngestSettings(), now=NOW)
    summary = update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=2)
    after = members(seeded)
    assert all(after[r] == t for r, t in before.items())  # nobody moved
    assert len(summary.born) == 1
    crash_theme = after[next(r for r, t in before.items() if t is not None and r == 1)]
    new_ids = sorted(set(after) - set(before))
    assert after[new_ids[0]] == crash_theme and after[new_ids[1]] == crash_theme
    assert {after[r] for r in new_ids[2:]} == set(summary.born)


def test_human_decisions_survive_later_runs(seeded, embedder):
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=1)
    themes = sorted(themes_by_label(seeded).values(), key=lambda t: t.id or 0)
    first, second, third = themes
    rename_theme(seeded, str(first.id), "Mobile app stability")
    suppress_theme(seeded, first.key, "owned by the mobile team")
    merge_themes(seeded, [str(third.id)], str(second.id))
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=2)
    with Session(seeded) as session:
        renamed = session.get(Theme, first.id)
        assert renamed.label == "Mobile app stability" and renamed.label_locked
        assert renamed.suppressed_reason == "owned by the mobile team"
        absorbed = session.get(Theme, third.id)
        assert absorbed.status == "merged" and absorbed.merged_into_id == second.id
        assert len(session.exec(select(Theme).where(Theme.status == "active")).all()) == 2
        assert session.get(Theme, second.id).size == 20
    kinds = {e.kind for e in _events(seeded, first.id)}
    assert {"born", "renamed", "suppressed"} <= kinds


def test_split_halves_are_never_merged_back(seeded, embedder):
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=1)
    merge_themes(seeded, [str(t.id) for t in list(themes_by_label(seeded).values())[1:]],
                 str(next(iter(themes_by_label(seeded).values())).id))  # fmt: skip
    (big,) = themes_by_label(seeded).values()
    halves = split_theme(seeded, embedder, str(big.id))
    assert len(halves) == 2 and sum(h.size for h in halves) == 30
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=2)
    active = themes_by_label(seeded)
    assert {t.id for t in active.values()} >= {h.id for h in halves}
    assert {e.kind for e in _events(seeded, big.id)} >= {"split"}


def test_theme_retires_when_its_comments_leave_the_window(seeded, embedder):
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=1)
    summary = update_themes(seeded, embedder, SETTINGS, AnalysisWindow(NOW + timedelta(days=200), 90), run_id=2)
    assert len(summary.retired) == 3 and summary.active_themes == 0
    assert themes_by_label(seeded) == {}


def test_stats_and_export(seeded, embedder):
    update_themes(seeded, embedder, SETTINGS, WINDOW, run_id=1)
    stats = theme_stats(seeded, WINDOW)
    assert len(stats) == 3
    assert sum(s.detractors + s.passives for s in stats) <= 30
    assert all(s.share == pytest.approx((s.detractors + s.passives) / 36) for s in stats)
    records = export_assignments(seeded, WINDOW)
    assert len(records) == 35  # 30 theme comments + 5 with nothing actionable (promoters excluded)
    assert {r["bucket"] for r in records} == {"theme", "not_actionable"}
    assert all((r["theme_id"] is None) == (r["bucket"] != "theme") for r in records)


def test_unknown_theme_is_a_clear_error(engine):
    with pytest.raises(ThemeError, match="no theme '999'"):
        rename_theme(engine, "999", "x")


def test_cli_themes_update_list_show_export(settings_file, tmp_path, store_url):
    import_settings = IngestSettings()
    from backlog_bridge.store.db import open_store

    engine = open_store(store_url)
    import_file(engine, write_export(tmp_path / "a.csv", base_comments()), import_settings, now=NOW)
    runner = CliRunner()
    export = tmp_path / "themes.jsonl"
    args = ["--config", str(settings_file), "themes", "update", "--as-of", "2026-06-29", "--export", str(export)]
    result = runner.invoke(app, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert len(listed) == 3 and all(t["detractors"] + t["passives"] == 10 for t in listed)
    lines = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 35 and set(lines[0]) >= {"response_id", "theme_id", "theme_label"}
    shown = runner.invoke(app, ["--config", str(settings_file), "themes", "show", str(listed[0]["id"])])
    assert "quotes:" in shown.output and "born by pipeline" in shown.output
    renamed = runner.invoke(app, ["--config", str(settings_file), "themes", "rename", str(listed[0]["id"]), "Renamed"])
    assert renamed.exit_code == 0 and "Renamed" in renamed.output
    missing = runner.invoke(app, ["--config", str(settings_file), "themes", "show", "999"])
    assert missing.exit_code == 1 and "no theme '999'" in missing.output


def _events(engine, theme_id):
    with Session(engine) as session:
        return list(session.exec(select(ThemeEvent).where(ThemeEvent.theme_id == theme_id)))


# --- vague remarks and personal data -----------------------------------------------------------------

VAGUE = ["pretty good", "does the job I guess", "it's ok overall", "fine, nothing special", "decent enough"]

PLANTED = [
    ("my login fails, reach me at jane.doe@example.com", "jane.doe@example.com"),
    ("login fails every morning, write to jane.doe@example.com", "jane.doe@example.com"),
    ("cannot log in, call me on +44 20 7946 0958", "+44 20 7946 0958"),
    ("login broken again, call 415-555-0134", "415-555-0134"),
    ("agent Maria Lopez could not fix my login", "Maria Lopez"),
    ("agent Maria Lopez said the login bug is known", "Maria Lopez"),
    ("the login page rejects my password. Thanks, Jonathan", "Jonathan"),
    ("Hi, I'm Priya Raman and the login keeps failing", "Priya Raman"),
    ("login fails since the update, ticket ACME-88231", "ACME-88231"),
    ("login fails, I told agent Maria Lopez twice", "Maria Lopez"),
]


def test_vague_remarks_are_counted_apart_and_never_themed(engine, embedder, tmp_path):
    from backlog_bridge.themes import NO_SPECIFIC_REASON, set_aside

    rows = base_comments() + [(text, 7, NOW - timedelta(days=10)) for text in VAGUE * 2]
    import_file(engine, write_export(tmp_path / "v.csv", rows), IngestSettings(), now=NOW)
    summary = update_themes(engine, embedder, SETTINGS, WINDOW, run_id=1)
    assert summary.no_specific_reason == len(VAGUE) * 2
    assert summary.not_actionable == len(FILLER)
    assert summary.active_themes == 3
    assert summary.comments == 30 + len(FILLER) + 2 * len(VAGUE)
    with Session(engine) as session:
        buckets = [m.bucket for m in session.exec(select(ThemeMember).where(ThemeMember.theme_id == None))]  # noqa: E711
    assert buckets.count(NO_SPECIFIC_REASON) == 2 * len(VAGUE)
    for theme in themes_by_label(engine).values():
        assert not {q["text"] for q in theme.quotes} & set(VAGUE)
    aside = set_aside(engine, WINDOW)
    assert aside.no_specific_reason == 2 * len(VAGUE) and aside.not_actionable == len(FILLER)
    assert set(aside.examples) <= set(VAGUE) and len(aside.examples) == 3


def test_labels_keywords_and_quotes_hold_no_personal_data(engine, embedder, tmp_path):
    from backlog_bridge.plan.redact import Redactor
    from backlog_bridge.plan.rules import CustomPattern, RedactionRules

    rows = base_comments() + [(text, 2, NOW - timedelta(days=20, hours=i)) for i, (text, _) in enumerate(PLANTED)]
    import_file(engine, write_export(tmp_path / "p.csv", rows), IngestSettings(), now=NOW)
    team = Redactor.from_rules(RedactionRules(pattern=(CustomPattern(name="ticket", regex=r"ACME-\d+"),)))
    update_themes(engine, embedder, SETTINGS, WINDOW, run_id=1, redactor=team)
    themes = themes_by_label(engine)
    login = [t for t in themes.values() if "login" in t.label.lower() or "log in" in t.label.lower()]
    assert login, f"no login theme among {list(themes)}"
    planted = {value for _, value in PLANTED} | {"jane", "doe", "example", "maria", "lopez", "priya", "raman",
                                                 "jonathan", "7946", "0958", "555", "acme-88231"}  # fmt: skip
    for theme in themes.values():
        texts = [theme.label, *theme.keywords, *(q["text"] for q in theme.quotes)]
        for text in texts:
            assert not any(p.lower() in text.lower() for p in planted), (text, theme.label)
    for theme in login:  # its comments name no email, phone or name: such words could only be tokens
        words = " ".join([theme.label, *theme.keywords]).lower()
        for token in ("email", "phone", "name", "redacted", "["):
            assert token not in words, (token, theme.label, theme.keywords)
    quotes = [q["text"] for t in login for q in t.quotes]
    assert any("[" in q for q in quotes)  # quotes keep the token, so a reader sees something was removed


def test_cli_themes_use_the_team_redaction_rules(tmp_path, store_url):
    from backlog_bridge.store.db import open_store

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "redaction.toml").write_text('[[pattern]]\nname = "ticket"\nregex = "ACME-\\\\d+"\n', encoding="utf-8")
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'database_url = "{store_url}"\nrules_dir = "rules"\n[ingest]\nuse_sample_data = false\n', encoding="utf-8"
    )
    day = NOW - timedelta(days=3)
    tickets = [(f"login fails again, see ticket ACME-{4410 + i}", 2, day + timedelta(hours=i)) for i in range(8)]
    engine = open_store(store_url)
    import_file(engine, write_export(tmp_path / "t.csv", base_comments() + tickets), IngestSettings(), now=NOW)
    result = CliRunner().invoke(
        app,
        ["--config", str(settings), "themes", "update", "--as-of", "2026-06-29", "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        themes = list(session.exec(select(Theme)))
    texts = [t.label for t in themes] + [k for t in themes for k in t.keywords]
    texts += [q["text"] for t in themes for q in t.quotes]
    assert any("ticket [redacted]" in text for text in texts)  # the team's pattern ran, on quotes too
    assert not any("acme-44" in text.lower() or "redacted" in text.lower().split() for text in texts[: len(themes)])
    assert not any("44" in text for text in texts)
