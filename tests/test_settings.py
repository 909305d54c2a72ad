from pathlib import Path

import pytest

from backlog_bridge.errors import ConfigError
from backlog_bridge.settings import check_environment, load_settings

SHIPPED = Path(__file__).parent.parent / "settings.toml"


def test_shipped_settings_file_is_valid_and_documents_every_key():
    settings = load_settings(SHIPPED)
    assert settings.database_url == ""
    text = SHIPPED.read_text(encoding="utf-8")
    for section in ("ingest", "nps", "embed", "themes", "schedule", "report", "logging"):
        model = getattr(settings, section)
        for key in type(model).model_fields:
            if key != "sources":
                documented = f"\n{key} = " in text or f"\n# {key} = " in text  # optional keys: commented example
                assert documented, f"{section}.{key} missing from settings.toml"


def test_default_database_sits_next_to_the_settings_file(tmp_path):
    path = tmp_path / "conf" / "settings.toml"
    path.parent.mkdir()
    path.write_text("", encoding="utf-8")
    assert load_settings(path).effective_database_url() == f"sqlite:///{path.parent / 'backlog_bridge.db'}"


def test_environment_overrides_file(tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    path.write_text('database_url = "sqlite:///file.db"\n[nps]\nmin_group_size = 10\n', encoding="utf-8")
    monkeypatch.setenv("BACKLOG_BRIDGE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("BACKLOG_BRIDGE_NPS__MIN_GROUP_SIZE", "50")
    settings = load_settings(path)
    assert settings.effective_database_url() == "postgresql+psycopg://u@h/db"
    assert settings.nps.min_group_size == 50


def test_config_path_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "other.toml"
    path.write_text("[nps]\nmin_group_size = 7\n", encoding="utf-8")
    monkeypatch.setenv("BACKLOG_BRIDGE_CONFIG", str(path))
    assert load_settings().nps.min_group_size == 7
    monkeypatch.setenv("BACKLOG_BRIDGE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "[ingest]\nmax_coment_chars = 3\n",
            "unknown key 'ingest.max_coment_chars' (did you mean 'max_comment_chars'?)",
        ),
        ("[ingest.sources.web]\ndayfist = true\n", "unknown key 'ingest.sources.web.dayfist'"),
        ("databse_url = 'x'\n", "unknown key 'databse_url' (did you mean 'database_url'?)"),
        ("[nps]\nconfidence = 2\n", "key 'nps.confidence'"),
        ("[embed]\ndevice = 'tpu'\n", "key 'embed.device'"),
        ("[nps\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path, content, message):
    path = tmp_path / "settings.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_typo_in_an_environment_variable_is_named(monkeypatch, tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("BACKLOG_BRIDGE_NPS__MIN_GROUP_SIZ", "5")
    with pytest.raises(ConfigError, match="environment variable BACKLOG_BRIDGE_NPS__MIN_GROUP_SIZ"):
        load_settings(path)


def test_an_unknown_top_level_environment_variable_is_an_error_naming_the_closest(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BACKLOG_BRIDGE_DATABSE_URL", "sqlite:///elsewhere.db")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "BACKLOG_BRIDGE_DATABSE_URL" in str(caught.value)
    assert "did you mean BACKLOG_BRIDGE_DATABASE_URL?" in str(caught.value)


def test_settings_secrets_and_test_switches_are_known_variables():
    check_environment(
        {
            "BACKLOG_BRIDGE_DATABASE_URL": "sqlite:///x.db",
            "BACKLOG_BRIDGE_NPS__MIN_GROUP_SIZE": "5",
            "BACKLOG_BRIDGE_CONFIG": "settings.toml",
            "BACKLOG_BRIDGE_GITHUB_TOKEN": "t",
            "BACKLOG_BRIDGE_JIRA_TOKEN": "t",
            "BACKLOG_BRIDGE_JIRA_EMAIL": "a@example.com",
            "BACKLOG_BRIDGE_TEST_POSTGRES_URL": "postgresql://x",
            "PATH": "/bin",
        }
    )
    with pytest.raises(ConfigError, match="did you mean BACKLOG_BRIDGE_GITHUB_TOKEN"):
        check_environment({"BACKLOG_BRIDGE_GITHUB_TOKN": "t"})
