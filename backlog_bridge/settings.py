"""Settings: `settings.toml` plus `BACKLOG_BRIDGE_*` environment overrides, validated strictly.

Priority: environment > settings file > defaults. Every section forbids unknown keys, so a typo
is an error that names the file and the key instead of a setting silently ignored. Load once
with `load_settings` and pass values down; nothing reads settings at import time.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from backlog_bridge.brief.document import safe_url
from backlog_bridge.cron import cron_trigger
from backlog_bridge.errors import ConfigError

CONFIG_ENV = "BACKLOG_BRIDGE_CONFIG"
GITHUB_TOKEN_ENV = ("BACKLOG_BRIDGE_GITHUB_TOKEN", "GITHUB_TOKEN")
JIRA_EMAIL_ENV = "BACKLOG_BRIDGE_JIRA_EMAIL"
JIRA_TOKEN_ENV = "BACKLOG_BRIDGE_JIRA_TOKEN"
ENV_PREFIX = "BACKLOG_BRIDGE_"
TEST_ENV_PREFIX = "BACKLOG_BRIDGE_TEST_"
"""Reserved for the test suite's own switches (PostgreSQL URL, required services)."""
DEFAULT_CONFIG = Path("settings.toml")
DEFAULT_DATABASE_FILE = "backlog_bridge.db"


class Section(BaseModel):
    """A settings table: unknown keys are errors, attribute docstrings document the keys."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class SourceSettings(Section):
    """How to read the exports of one named source (`[ingest.sources.NAME]`)."""

    columns: dict[str, str] = Field(default_factory=dict)
    """Canonical field -> column name in this source's files (response_id, score, comment,
    responded_at, respondent_id, account_id). Overrides the automatic header recognition."""
    segments: list[str] | None = None
    """Columns kept as segment metadata; None keeps every column not mapped or ignored."""
    dayfirst: bool | None = None
    """Date order for ambiguous dates like 03/04/2026: true = day first; none = infer per file."""
    timezone: str = "UTC"
    """IANA time zone of timestamps written without an offset."""


class IngestSettings(Section):
    """`[ingest]`: reading survey exports."""

    inboxes: list[Path] = Field(default_factory=list)
    """Folders of survey exports that `backlog-bridge run` imports (files already imported are
    skipped by content). Relative paths are relative to the settings file."""
    use_sample_data: bool = True
    """Import the sample export bundled with backlog_bridge on `run`, for a first look."""
    default_source: str = "default"
    """Source name used when `--source` is not given and the file's survey tool is not recognised."""
    max_comment_chars: int = Field(default=20_000, gt=0)
    """Longer comments are quarantined (kept whole in the store) rather than imported."""
    max_file_mb: float = Field(default=200.0, gt=0)
    """Files larger than this are refused before reading."""
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    """Per-source column mapping and parsing options."""


class NpsSettings(Section):
    """`[nps]`: how NPS is reported."""

    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    """Confidence level of every interval."""
    min_group_size: int = Field(default=30, ge=1)
    """Groups with fewer responses are flagged as too small to read."""


class EmbedSettings(Section):
    """`[embed]`: the sentence-transformers model used for themes."""

    model: str = ""
    """Model name from the manifest; empty = the manifest's default (offline all-MiniLM-L6-v2)."""
    manifest: Path | None = None
    """A team's own model manifest, e.g. "models/manifest.toml" (relative to this file); unset = the
    manifest shipped inside backlog_bridge, which names the offline all-MiniLM-L6-v2."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto` uses a GPU when one is present."""
    batch_size: int = Field(default=64, ge=1)
    """Comments encoded per batch."""


class ThemeSettings(Section):
    """`[themes]`: grouping detractor and passive comments into themes."""

    window_days: int = Field(default=90, ge=1)
    """Comments of the last this many days form the themes; the window before it gives trends."""
    min_theme_size: int = Field(default=5, ge=2)
    """Smaller groups are not themes; their comments stay unthemed or join a near theme."""
    assign_similarity: float = Field(default=0.45, ge=0.0, le=1.0)
    """Cosine similarity to a theme's centre a new comment needs to join it."""
    merge_similarity: float = Field(default=0.7, ge=0.0, le=1.0)
    """Themes whose centres are at least this similar, once the direction all comments share is removed,
    are one theme (1.0: never merge automatically)."""
    vague_apart: bool = True
    """Praise and vague remarks ("pretty good", "does the job") go to the no-specific-reason bucket, counted
    in reports and never themed; false themes every comment."""
    vague_margin: float = Field(default=0.15, ge=-1.0, le=1.0)
    """A comment whose meaning is closer to vague examples than to specific ones by more than this is
    vague; higher keeps more comments in themes."""
    granularity: float | None = Field(default=None, gt=0.0)
    """Unset (the default): the number of themes is chosen from the data (Ward merging stops where merges
    cost clearly more than in the same comments with their structure shuffled away). A number fixes the
    Ward distance at which groups stay apart instead: higher = fewer, broader themes (2.5 was the old default)."""


class GitHubSettings(Section):
    """`[github]`: the repository issues are filed in. The token comes from the environment only."""

    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """owner/repo where theme issues are filed (routes with an empty project use it)."""
    base_url: str = "https://api.github.com"
    """REST API root; GitHub Enterprise Server: https://HOST/api/v3."""
    label_namespace: str = Field(default="nps:", min_length=1, max_length=20)
    """Prefix of every label backlog_bridge manages (theme stamp, priority); other labels are never touched."""
    milestone: Literal["due_date", "pattern", "none"] = "due_date"
    """How in-budget issues get a milestone: the open one due next, the one due next among those whose
    title matches `milestone_pattern`, or none."""
    milestone_pattern: str = ""
    """Regular expression searched in open milestone titles (with milestone = "pattern"), e.g. "^Sprint "."""
    timeout: int = Field(default=15, ge=1)
    """Seconds before a request is abandoned (then retried later, never blindly resent if it was a create)."""
    max_rate_limit_wait: float = Field(default=60.0, ge=0)
    """Longest single wait (Retry-After, rate-limit reset) the sync takes before trying a call again; a
    longer one leaves the theme pending for the next run. All waits of a run together stay under 90 s."""
    seconds_between_writes: float = Field(default=1.0, ge=0)
    """Spacing of write calls (GitHub asks for at least 1 s to avoid secondary rate limits)."""
    retries: int = Field(default=2, ge=0, le=10)
    """Tries after the first failed one, per call, within one run (the sync's one retry layer: PyGithub
    retries nothing, and a create whose answer was lost is looked up before it is sent again)."""

    def token(self, environ: Mapping[str, str] | None = None) -> SecretStr:
        """The API token from BACKLOG_BRIDGE_GITHUB_TOKEN, else GITHUB_TOKEN (never from the settings file).

        Raises:
            ConfigError: neither variable is set.
        """
        env = os.environ if environ is None else environ
        for name in GITHUB_TOKEN_ENV:
            if env.get(name):
                return SecretStr(env[name])
        raise ConfigError(
            f"GitHub token missing: set {GITHUB_TOKEN_ENV[0]} (or {GITHUB_TOKEN_ENV[1]}) in the environment"
        )


class JiraSettings(Section):
    """`[jira]`: the Jira project issues are filed in. Email and token come from the environment only."""

    url: str = Field(pattern=r"^https?://\S+$")
    """Site URL: https://ACME.atlassian.net (Cloud) or https://jira.acme.com[/context] (Data Center)."""
    project: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,9}$")
    """Project key where theme issues are filed (routes with an empty project use it)."""
    issue_type: str = "Task"
    """Issue type name for new issues, as the project's issue type scheme spells it."""
    deployment: Literal["auto", "cloud", "datacenter"] = "auto"
    """auto: ask the server (serverInfo deploymentType). Cloud signs in with email + API token,
    Data Center with a personal access token."""
    label_namespace: str = Field(default="nps-", min_length=1, max_length=20, pattern=r"^\S+$")
    """Prefix of the theme stamp label (`nps-theme-3f9a0c1d2e`); Jira labels cannot contain spaces."""
    board: int | None = None
    """Agile board id for sprints; unset = the project's first scrum board."""
    sprint: Literal["next", "active", "none"] = "next"
    """Where in-budget issues go: the earliest future sprint, the active sprint, or no sprint."""
    rank_by_priority: bool = True
    """Rank each placed issue above our issues of lower priority in its sprint (when the board ranks)."""
    reopen_transition: str = ""
    """Transition used to reopen a regressed done issue (name, case-insensitive); empty = the first
    offered transition into a status that is not done."""
    fields: dict[str, Any] = Field(default_factory=dict)
    """Extra fields on create, by field id or name: e.g. customfield_10050 = { value = "Web" }.
    Use it for custom fields your create screen requires."""
    timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for an answer (connecting: at most 5)."""

    def token(self, environ: Mapping[str, str] | None = None) -> SecretStr:
        """The API token (Cloud) or personal access token (Data Center) from BACKLOG_BRIDGE_JIRA_TOKEN.

        Raises:
            ConfigError: the variable is not set.
        """
        env = os.environ if environ is None else environ
        if env.get(JIRA_TOKEN_ENV):
            return SecretStr(env[JIRA_TOKEN_ENV])
        raise ConfigError(f"Jira token missing: set {JIRA_TOKEN_ENV} in the environment")

    def email(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The Atlassian account email for Cloud from BACKLOG_BRIDGE_JIRA_EMAIL; None = personal access token.

        Raises:
            ConfigError: deployment is "cloud" and the email is not set.
        """
        env = os.environ if environ is None else environ
        email = env.get(JIRA_EMAIL_ENV) or None
        if email is None and self.deployment == "cloud":
            raise ConfigError(f"Jira Cloud needs the account email: set {JIRA_EMAIL_ENV} in the environment")
        return None if self.deployment == "datacenter" else email


class ScheduleSettings(Section):
    """`[schedule]`: when `backlog-bridge worker` runs the pipeline."""

    cron: str = "0 2 * * *"
    """When the pipeline runs: a crontab line (minute hour day month weekday; weekday 0 or 7 = Sunday, or
    mon-sun). Default: nightly at 02:00."""
    timezone: str = "UTC"
    """IANA time zone of the cron times, e.g. "Europe/Berlin". In a zone with daylight saving time, a
    time between 02:00 and 03:00 runs twice on the autumn night and an hour late on the spring night."""
    misfire_grace_seconds: int = Field(default=3600, ge=1)
    """A run missed (worker down or busy) by at most this many seconds still happens; older ones are skipped."""
    coalesce: bool = True
    """Several missed runs are made up by one run, not one each."""
    sprint_cron: str | None = None
    """An extra run on the sprint cadence, e.g. "0 6 * * 1" (Mondays 06:00) for the sprint sync; unset = none."""
    lock_lease_seconds: int = Field(default=600, ge=10)
    """How long the run lock outlives a worker that died without releasing it (SQLite; renewed every third)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        cron_trigger("0 2 * * *", value)
        return value

    @field_validator("cron", "sprint_cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            cron_trigger(value, "UTC")
        return value


class ReportSettings(Section):
    """`[report]`: the theme report `run` (and the worker) writes after each run."""

    enabled: bool = True
    """Write the report after every `run`."""
    folder: Path = Path("reports")
    """Relative to the settings file; one file per run plus latest.html / latest.json."""
    formats: list[Literal["html", "md", "json"]] = Field(default=["html", "json"])
    """Formats written after each run."""
    keep: int = Field(default=90, ge=0)
    """Run files kept per format, oldest deleted first; 0 keeps all."""
    window_days: int = Field(default=30, ge=7, le=365)
    """Pre-registered verdict window: this many days before an issue closed vs as many after the grace period."""
    grace_days: int = Field(default=7, ge=0, le=90)
    """Days after closing that belong to neither window (the fix reaching customers)."""
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    """Significance level of the before/after share test."""
    post_verdicts: bool = True
    """Comment the final verdict on the closed issue (once per closure and outcome)."""
    public_url: str | None = None
    """Where `folder` is served, e.g. https://reports.example.com/nps/: each issue then links to its theme's
    section of latest.html. Unset: issues carry no report link."""

    @field_validator("public_url")
    @classmethod
    def _linkable(cls, value: str | None) -> str | None:
        if value is not None and safe_url(value) is None:
            raise ValueError("must be a plain http(s) URL without spaces, quotes or brackets")
        return value

    def latest_page_url(self) -> str | None:
        """The public address of latest.html when `run` writes it and the folder is served; else None."""
        if not (self.public_url and self.enabled and "html" in self.formats):
            return None
        return self.public_url.rstrip("/") + "/latest.html"  # the name report.render.publish gives it

    def loop_params(self) -> Any:
        """The before/after design as report.loop takes it (a LoopParams)."""
        from backlog_bridge.report.loop import LoopParams

        return LoopParams(self.window_days, self.grace_days, self.alpha)


class ScoringSettings(Section):
    """`[scoring]`: the lift scenario shown with every theme."""

    lift_detractors_to_passives: float = Field(default=0.5, ge=0.0, le=1.0)
    """Share of the theme's detractors assumed to become passives once it is fixed."""
    lift_passives_to_promoters: float = Field(default=0.25, ge=0.0, le=1.0)
    """Share of the theme's passives assumed to become promoters once it is fixed."""


class LoggingSettings(Section):
    """`[logging]`."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Minimum level written."""
    json_lines: bool = False
    """Write one JSON object per event instead of text lines."""


class Settings(BaseSettings):
    """All settings. Sections mirror the tables of settings.toml."""

    model_config = SettingsConfigDict(
        env_prefix="BACKLOG_BRIDGE_",
        env_nested_delimiter="__",
        extra="forbid",
        use_attribute_docstrings=True,
    )

    database_url: str = ""
    """SQLAlchemy URL; empty = SQLite file backlog_bridge.db next to the settings file.
    PostgreSQL: postgresql+psycopg://user@host:5432/dbname (password from the environment)."""
    rules_dir: Path = Path("rules")
    """Folder of the team's rules (routing, priority, suppression, redaction TOML); relative to this file."""
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    nps: NpsSettings = Field(default_factory=NpsSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    themes: ThemeSettings = Field(default_factory=ThemeSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    github: GitHubSettings | None = None
    jira: JiraSettings | None = None
    """Jira Cloud or Data Center as the tracker (table [jira]); email and token come from the environment only."""
    """GitHub Issues as the tracker (table [github]); the token comes from the environment only."""

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def base_dir(self) -> Path:
        """Folder relative paths are resolved against: the settings file's folder."""
        return self._base_dir

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the TOML file (then defaults)."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def resolve(self, path: Path) -> Path:
        """A path from the settings, made absolute against the settings file's folder."""
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def effective_database_url(self) -> str:
        """The database URL in force: the setting, or the default SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.base_dir / DEFAULT_DATABASE_FILE).resolve()}"


def known_environment_variables() -> set[str]:
    """Every BACKLOG_BRIDGE_* name the tool reads: secrets, the config path, and one per settings key.

    A deploy file or secrets.env naming anything else sets nothing (or, for a key under a known
    section, stops every command with "unknown key"): tests check the shipped unit file against this.
    """
    names = {CONFIG_ENV, *GITHUB_TOKEN_ENV, JIRA_EMAIL_ENV, JIRA_TOKEN_ENV}
    names = {name for name in names if name.startswith("BACKLOG_BRIDGE_")}
    for name, field in Settings.model_fields.items():
        prefix = "BACKLOG_BRIDGE_" + name.upper()
        names.add(prefix)
        section = next((t for t in get_args(field.annotation) or (field.annotation,) if _is_section(t)), None)
        if section is not None:
            names.update(f"{prefix}__{key.upper()}" for key in section.model_fields)
    return names


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def config_path(explicit: Path | None = None) -> tuple[Path, bool]:
    """The settings file to read, and whether the user named it (a named file must exist)."""
    if explicit is not None:
        return explicit, True
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env), True
    return DEFAULT_CONFIG, False


def load_settings(path: Path | None = None) -> Settings:
    """Read and validate the settings file and the environment.

    Args:
        path: the file from `--config`; None uses BACKLOG_BRIDGE_CONFIG, then ./settings.toml
            (which may be absent: then the defaults apply).

    Raises:
        ConfigError: the file is missing, not valid TOML, or has an unknown or mistyped key.
    """
    check_environment(os.environ)
    file, named = config_path(path)
    if not file.is_file():
        if named:
            raise ConfigError(f"settings file not found: {file}")
        return _validate(None, Path.cwd())
    try:
        with file.open("rb") as handle:
            tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: not valid TOML: {error}") from error
    return _validate(file, file.resolve().parent)


def _validate(file: Path | None, base_dir: Path) -> Settings:
    if file is None:
        cls: type[Settings] = Settings
        toml_file: Path | None = None
    else:
        toml_file = file

        class _FromFile(Settings):
            model_config = SettingsConfigDict(toml_file=toml_file)

        cls = _FromFile
    try:
        settings = cls()
    except ValidationError as error:
        raise ConfigError(_describe(error, toml_file)) from None
    settings._base_dir = base_dir
    return settings


def _describe(error: ValidationError, file: Path | None) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        env_name = "BACKLOG_BRIDGE_" + "__".join(str(part) for part in item["loc"]).upper()
        where = f"environment variable {env_name}" if env_name in os.environ else str(file or "settings")
        if item["type"] == "extra_forbidden":
            hint = _suggest(item["loc"])
            problems.append(f"{where}: unknown key '{key}'{hint}")
        else:
            problems.append(f"{where}: key '{key}': {item['msg']} (got {item.get('input')!r})")
    return "; ".join(problems)


def _suggest(loc: tuple[int | str, ...]) -> str:
    model: Any = Settings
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, BaseModel):
            return ""
        model = field.annotation
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"


def check_environment(environ: Mapping[str, str]) -> None:
    """Every `BACKLOG_BRIDGE_*` variable must be a setting or a documented secret.

    pydantic-settings ignores unknown top-level variables, so `BACKLOG_BRIDGE_DATABSE_URL` would
    silently leave the default database in use. Keys inside a table are checked by validation.

    Raises:
        ConfigError: naming each unknown variable and the closest valid one.
    """
    documented = {CONFIG_ENV, GITHUB_TOKEN_ENV[0], JIRA_EMAIL_ENV, JIRA_TOKEN_ENV}
    fields = {name.upper() for name in Settings.model_fields}
    valid = sorted(documented | {ENV_PREFIX + name for name in fields})
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(TEST_ENV_PREFIX) or upper in documented:
            continue
        if upper.removeprefix(ENV_PREFIX).split("__")[0] in fields:
            continue
        close = difflib.get_close_matches(upper, valid, n=1, cutoff=0.6)
        hint = (
            f" (did you mean {close[0]}?)"
            if close
            else " (settings: BACKLOG_BRIDGE_<KEY> or BACKLOG_BRIDGE_<TABLE>__<KEY>)"
        )
        problems.append(f"environment variable {name}: not a setting or a documented secret{hint}")
    if problems:
        raise ConfigError("; ".join(problems))
