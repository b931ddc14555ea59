"""Runtime settings, read from the environment (and an optional ``.env`` file).

Policy lives in the charter file; this holds only where things are and the secrets. Variables
use the ``CHARTERBOT_`` prefix, except the platforms' own customary names (``DISCORD_TOKEN``,
``SLACK_BOT_TOKEN``, …) which operators already know. The README has the full table.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from charter.model import format_duration, parse_duration


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(name, *aliases)


class SettingError(ValueError):
    """A setting that cannot work, by its environment variable's name: startup prints
    ``error: NAME: message`` (never the value of a secret) and exits 2."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SMTP_SCHEMES = ("smtp+starttls", "smtps", "smtp")
_SMTP_FORMS = (
    "write smtp+starttls://user:password@host:587, smtps://user:password@host:465 or smtp://host:25"
)
_APP_SETTINGS = (
    ("CHARTERBOT_GITHUB_APP_ID", "github_app_id"),
    ("CHARTERBOT_GITHUB_APP_PRIVATE_KEY", "github_app_private_key"),
    ("CHARTERBOT_GITHUB_INSTALLATION_ID", "github_installation_id"),
)


WITNESS_EVERY = timedelta(hours=24)  # CHARTERBOT_AUDIT_WITNESS_EVERY's default


class _DocumentedNamesOnly(PydanticBaseSettingsSource):
    """The environment or ``.env`` read only under the documented names (the aliases).

    ``populate_by_name`` lets code and tests write ``Settings(database_url=…)``, but
    pydantic-settings then also looks fields up in the environment by their bare names, and
    takes bare names from ``.env`` as extras that validate by name: a ``DATABASE_URL`` or
    ``HTTP_PORT`` meant for another program would silently reconfigure charterbot. Such values
    come back keyed by the field's name, documented ones by the alias, so the field names are
    dropped here."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self._source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        undocumented = self.settings_cls.model_fields.keys()
        return {key: value for key, value in self._source().items() if key not in undocumented}


class Settings(BaseSettings):
    # An empty value (``DISCORD_TOKEN=`` from an uncommented env.example line) counts as unset.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,  # for Settings(field=…) in code; never for the environment
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _DocumentedNamesOnly(env_settings),
            _DocumentedNamesOnly(dotenv_settings),
            file_secret_settings,
        )

    charter: Path | None = Field(None, validation_alias=_env("CHARTERBOT_CHARTER"))
    database_url: str = Field(
        "sqlite:///./charterbot.db", validation_alias=_env("CHARTERBOT_DATABASE_URL")
    )
    http_host: str = Field("127.0.0.1", validation_alias=_env("CHARTERBOT_HTTP_HOST"))
    http_port: int = Field(8080, validation_alias=_env("CHARTERBOT_HTTP_PORT"))
    # Unset (empty), it is where the HTTP server listens: see default_public_url.
    public_url: str = Field("", validation_alias=_env("CHARTERBOT_PUBLIC_URL"))
    _public_url_derived: bool = PrivateAttr(False)
    log_format: Literal["json", "console"] = Field(
        "console", validation_alias=_env("CHARTERBOT_LOG_FORMAT")
    )
    log_level: str = Field("INFO", validation_alias=_env("CHARTERBOT_LOG_LEVEL"))
    tick_seconds: float = Field(1.0, gt=0, validation_alias=_env("CHARTERBOT_TICK_SECONDS"))

    # GitHub
    github_mode: Literal["webhook", "poll", "off"] = Field(
        "webhook", validation_alias=_env("CHARTERBOT_GITHUB_MODE")
    )
    github_webhook_secret: SecretStr | None = Field(
        None, validation_alias=_env("CHARTERBOT_GITHUB_WEBHOOK_SECRET")
    )
    github_token: SecretStr | None = Field(None, validation_alias=_env("CHARTERBOT_GITHUB_TOKEN"))
    github_app_id: str | None = Field(None, validation_alias=_env("CHARTERBOT_GITHUB_APP_ID"))
    github_app_private_key: SecretStr | None = Field(
        None, validation_alias=_env("CHARTERBOT_GITHUB_APP_PRIVATE_KEY")
    )
    github_installation_id: int | None = Field(
        None, validation_alias=_env("CHARTERBOT_GITHUB_INSTALLATION_ID")
    )
    github_api_url: str = Field(
        "https://api.github.com", validation_alias=_env("CHARTERBOT_GITHUB_API_URL")
    )
    github_oauth_client_id: str | None = Field(
        None, validation_alias=_env("CHARTERBOT_GITHUB_OAUTH_CLIENT_ID")
    )
    github_poll_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("CHARTERBOT_GITHUB_POLL_SECONDS")
    )
    github_hook_id: int | None = Field(None, validation_alias=_env("CHARTERBOT_GITHUB_HOOK_ID"))
    github_reconcile_seconds: float = Field(
        300.0, gt=0, validation_alias=_env("CHARTERBOT_GITHUB_RECONCILE_SECONDS")
    )
    deadline_grace_seconds: float | None = Field(
        None, ge=0, validation_alias=_env("CHARTERBOT_DEADLINE_GRACE_SECONDS")
    )
    # The audit witness (bot.audit_witness): zero is off; it needs GitHub anyway.
    audit_witness_every: timedelta = Field(
        WITNESS_EVERY, validation_alias=_env("CHARTERBOT_AUDIT_WITNESS_EVERY")
    )
    audit_witness_issue: int | None = Field(
        None, validation_alias=_env("CHARTERBOT_AUDIT_WITNESS_ISSUE")
    )

    # Chat platforms: their customary variable names
    discord_token: SecretStr | None = Field(None, validation_alias=_env("DISCORD_TOKEN"))
    discord_guild_id: str | None = Field(None, validation_alias=_env("DISCORD_GUILD_ID"))
    discord_api_url: str | None = Field(None, validation_alias=_env("DISCORD_API_URL"))
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str | None = Field(None, validation_alias=_env("SLACK_API_URL"))

    # Outgoing webhooks and signed links
    webhook_allow_private: bool = Field(
        False, validation_alias=_env("CHARTERBOT_WEBHOOK_ALLOW_PRIVATE")
    )
    secret_key: SecretStr | None = Field(None, validation_alias=_env("CHARTERBOT_SECRET_KEY"))

    # E-mail
    smtp_url: SecretStr | None = Field(None, validation_alias=_env("CHARTERBOT_SMTP_URL"))
    mail_from: str | None = Field(None, validation_alias=_env("CHARTERBOT_MAIL_FROM"))

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level == "WARN":
            level = "WARNING"
        if level not in LOG_LEVELS:
            raise SettingError(
                "CHARTERBOT_LOG_LEVEL", f"not a log level; use one of {', '.join(LOG_LEVELS)}"
            )
        return level

    @field_validator("http_port")
    @classmethod
    def _usable_port(cls, value: int) -> int:
        problem = port_problem(value)
        if problem:
            raise SettingError("CHARTERBOT_HTTP_PORT", problem)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _usable_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        """The forms bot.senders.email accepts; the URL is never echoed (it holds a password)."""
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in SMTP_SCHEMES:
            shown = f"the scheme {parts.scheme}://" if parts.scheme else "it"
            raise SettingError("CHARTERBOT_SMTP_URL", f"{shown} is not usable; {_SMTP_FORMS}")
        if not parts.hostname:
            raise SettingError("CHARTERBOT_SMTP_URL", f"it names no host; {_SMTP_FORMS}")
        try:
            _ = parts.port  # a port that is not a number raises here
        except ValueError:
            raise SettingError(
                "CHARTERBOT_SMTP_URL", f"the port is not a number from 1 to 65535; {_SMTP_FORMS}"
            ) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _usable_public_url(cls, value: str) -> str:
        """Empty (unset) or what :func:`public_url_problem` accepts, without its trailing slash:
        links are the URL and a path starting with ``/``."""
        text = value.strip()
        problem = public_url_problem(text) if text else None
        if problem:
            raise SettingError("CHARTERBOT_PUBLIC_URL", problem)
        return text.rstrip("/")

    @field_validator("audit_witness_every", mode="before")
    @classmethod
    def _usable_witness_period(cls, value: Any) -> timedelta:
        try:
            return witness_period(value)
        except ValueError as exc:
            raise SettingError("CHARTERBOT_AUDIT_WITNESS_EVERY", str(exc)) from None

    @field_validator("audit_witness_issue", mode="before")
    @classmethod
    def _an_issue_number(cls, value: Any) -> int | None:
        if value is None:
            return None
        text = str(value).strip()
        if not text.isdigit() or int(text) < 1:
            raise SettingError(
                "CHARTERBOT_AUDIT_WITNESS_ISSUE",
                "must be the number of an issue in the charter's repository (e.g. 12); leave it"
                " unset and charterbot opens one",
            )
        return int(text)

    @field_validator("discord_guild_id")
    @classmethod
    def _numeric_guild_id(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().isdigit():
            raise SettingError(
                "DISCORD_GUILD_ID",
                "must be the numeric server id (Developer Mode → Copy Server ID)",
            )
        return value

    @model_validator(mode="after")
    def _usable_github_auth(self) -> Self:
        """Token or a complete GitHub App, not both and not half of one (unless GitHub is off).
        ``poll`` without any credentials is refused by ``bot.bootstrap.build``."""
        if self.github_mode == "off":
            return self
        if self.github_token is not None and not self.github_token.get_secret_value().strip():
            raise SettingError("CHARTERBOT_GITHUB_TOKEN", "is blank")
        app = {name: getattr(self, attr) for name, attr in _APP_SETTINGS}
        given = [name for name, value in app.items() if value is not None]
        if self.github_token is not None and given:
            raise SettingError(
                "CHARTERBOT_GITHUB_TOKEN",
                f"set together with {', '.join(given)}; configure the token or the GitHub App,"
                " not both",
            )
        if given and len(given) < len(app):
            missing = [name for name, value in app.items() if value is None]
            raise SettingError(
                missing[0],
                f"not set, and GitHub App auth needs it (with {', '.join(given)}); "
                "or use CHARTERBOT_GITHUB_TOKEN instead",
            )
        if self.github_app_private_key is not None:
            problem = _pem_problem(self.github_app_private_key.get_secret_value())
            if problem:
                raise SettingError("CHARTERBOT_GITHUB_APP_PRIVATE_KEY", problem)
        return self

    @model_validator(mode="after")
    def _public_url_from_the_listener(self) -> Self:
        """An unset public URL is the server's own address, so links follow a changed port."""
        if not self.public_url:
            self.public_url = default_public_url(self.http_host, self.http_port)
            self._public_url_derived = True
        return self

    @property
    def public_url_derived(self) -> bool:
        """Whether the public URL was derived from the HTTP host and port (CHARTERBOT_PUBLIC_URL
        unset): right for the server that listens there, a guess for any other process."""
        return self._public_url_derived

    def listening_on(self, host: str, port: int) -> Settings:
        """These settings with the HTTP server on ``host:port`` (``serve --host/--port``); a
        public URL derived from the listener follows it, one that was set stays."""
        moved = self.model_copy(update={"http_host": host, "http_port": port})
        if self._public_url_derived:
            moved.public_url = default_public_url(host, port)
        return moved

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None

    @property
    def vote_grace(self) -> timedelta:
        """How long a voting deadline waits for votes cast before it that have not arrived yet:
        as set, else 30 s (a webhook in flight), plus one polling interval in poll mode."""
        if self.deadline_grace_seconds is not None:
            return timedelta(seconds=self.deadline_grace_seconds)
        polling = self.github_poll_seconds if self.github_mode == "poll" else 0.0
        return timedelta(seconds=DEFAULT_GRACE_SECONDS + polling)

    @property
    def audit_witness_period(self) -> timedelta | None:
        """How often the audit head is posted to GitHub; None when turned off."""
        return self.audit_witness_every or None

    @property
    def github_enabled(self) -> bool:
        return self.github_token is not None or (
            self.github_app_id is not None and self.github_app_private_key is not None
        )


DEFAULT_GRACE_SECONDS = 30.0
_DAY = timedelta(days=1)
_WITNESS_FORMS = "use e.g. 1h, 6h, 12h, 24h or 7d, or 0 or off to turn the witness off"


def witness_period(value: object) -> timedelta:
    """The audit witness's period from ``24h``, ``7d``… (charter durations); ``0``, ``off`` or
    a zero duration turn it off (zero). Periods start at 00:00Z (bot.audit_witness), so a
    period must divide a day evenly or be whole days, and is at least an hour: every post
    mails the issue's watchers."""
    if isinstance(value, timedelta):
        period = value
    else:
        text = str(value).strip().lower()
        if text in ("0", "off"):
            return timedelta(0)
        try:
            period = parse_duration(text)
        except ValueError as exc:
            raise ValueError(f"{exc}; {_WITNESS_FORMS}") from None
        except OverflowError:  # past timedelta's range (a billion days)
            raise ValueError(f"{text} is longer than any period can be; {_WITNESS_FORMS}") from None
    if not period:
        return timedelta(0)
    if period < timedelta(hours=1):
        raise ValueError(f"must be at least 1h (each post mails the watchers); {_WITNESS_FORMS}")
    if _DAY % period and period % _DAY:
        raise ValueError(
            f"{format_duration(period)} neither divides a day nor is whole days, so its"
            f" periods cannot start at 00:00Z; {_WITNESS_FORMS}"
        )
    return period


_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}


def port_problem(port: int) -> str | None:
    """Why the HTTP server cannot listen on ``port`` (None when it can). TCP ports run from 1
    to 65535; 0 (any free port) is refused too, as links must say which port it is."""
    if 1 <= port <= 65535:
        return None
    return "must be a port number from 1 to 65535"


_PUBLIC_URL_FORM = (
    "must be the https:// (or http://) address the server is reached at, e.g."
    " https://charterbot.example.org"
)


def public_url_problem(url: str) -> str | None:
    """Why links cannot be built under ``url`` (None when they can): they are ``url`` followed
    by a path, so it is an absolute http(s) URL with a host and a usable port, and may end in
    a path (a server behind a proxy under a prefix) but not a query or a fragment, which the
    appended path would land inside."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return _PUBLIC_URL_FORM
    if any(char.isspace() for char in url):
        return f"{_PUBLIC_URL_FORM}; it holds a space"
    try:
        port = parts.port
    except ValueError:  # not a number, or past 65535
        port = 0
    if port is not None and port_problem(port):
        return f"{_PUBLIC_URL_FORM}; the port must be a number from 1 to 65535"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return f"{_PUBLIC_URL_FORM}, with no ?query or #fragment: links append their own path"
    return None


def default_public_url(host: str, port: int) -> str:
    """The URL a browser on this machine reaches a server listening on ``host:port`` at: a
    wildcard address (all interfaces) is reached on the loopback one; IPv6 goes in brackets."""
    shown = _WILDCARD_HOSTS.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}"


def _pem_problem(pem: str) -> str | None:
    """Why ``pem`` is not a usable private key (None when it is); the key is never echoed."""
    expected = "expected the text of the .pem file GitHub generated for the app"
    if "PRIVATE KEY-----" not in pem:
        return f"is not a PEM private key ({expected})"
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:  # pragma: no cover - PyGithub's JWT signing needs it anyway
        return None
    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return f"does not load as a private key: truncated or altered? ({expected})"
    return None


# The README's settings table is generated from this list by a test, so they cannot drift.
SETTINGS_DOC: tuple[tuple[str, str, str], ...] = (
    ("CHARTERBOT_CHARTER", "the example charter", "Path of the charter YAML file."),
    (
        "CHARTERBOT_DATABASE_URL",
        "sqlite:///./charterbot.db",
        "SQLite file or postgresql+psycopg://user@host/db: PostgreSQL itself or a session-mode"
        " pool, not a transaction pool (the scheduler lock needs a session of its own).",
    ),
    ("CHARTERBOT_HTTP_HOST", "127.0.0.1", "Address the HTTP server binds."),
    ("CHARTERBOT_HTTP_PORT", "8080", "Port of the HTTP server (1 to 65535)."),
    (
        "CHARTERBOT_PUBLIC_URL",
        "http://HOST:PORT",
        "Base URL used in links in messages: the http(s):// address the server is reached at,"
        " optionally with a path prefix (links go under it), no query; unset, the HTTP host and"
        " port above (http://127.0.0.1:8080; 0.0.0.0 is linked as 127.0.0.1).",
    ),
    ("CHARTERBOT_LOG_FORMAT", "console", "`json` for structured logs, `console` for people."),
    ("CHARTERBOT_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL."),
    ("CHARTERBOT_TICK_SECONDS", "1.0", "How often deadlines are checked (above 0)."),
    (
        "CHARTERBOT_GITHUB_MODE",
        "webhook",
        "`webhook`, `poll` (no public URL needed; needs a token or App) or `off` (no webhook"
        " endpoint, no GitHub API calls).",
    ),
    ("CHARTERBOT_GITHUB_WEBHOOK_SECRET", "—", "Secret that signs GitHub webhook deliveries."),
    ("CHARTERBOT_GITHUB_TOKEN", "—", "Token auth for the GitHub API."),
    ("CHARTERBOT_GITHUB_APP_ID", "—", "GitHub App id (App auth, with the private key)."),
    ("CHARTERBOT_GITHUB_APP_PRIVATE_KEY", "—", "GitHub App private key (PEM)."),
    ("CHARTERBOT_GITHUB_INSTALLATION_ID", "—", "GitHub App installation id."),
    ("CHARTERBOT_GITHUB_API_URL", "https://api.github.com", "GitHub Enterprise Server API URL."),
    ("CHARTERBOT_GITHUB_OAUTH_CLIENT_ID", "—", "OAuth app for `/charter link` (device flow)."),
    (
        "CHARTERBOT_GITHUB_POLL_SECONDS",
        "60",
        (
            "Polling interval in poll mode (above 0). Each poll also reads, in the clients' "
            "repositories, the check runs a rollout gate waits on and the recent releases of "
            "clients in a rollout under way: a published release whose notes say `charterbot: "
            "ready <n> <stage>` reports its client ready, as its `release` webhook would (only "
            "releases published after the rollout started, not yet reported and not replaced by a "
            "newer report; dated by the release's publication; a ready line added by a later "
            "edit reports once, dated when seen; at most 10 repositories a poll, up to 3 pages "
            "of 100 releases each, newest first by creation, a further page only while it may "
            "hold one created less than 30 days before the rollout started)."
        ),
    ),
    (
        "CHARTERBOT_GITHUB_HOOK_ID",
        "—",
        "Repository webhook id: failed deliveries are fetched from GitHub and processed.",
    ),
    (
        "CHARTERBOT_GITHUB_RECONCILE_SECONDS",
        "300",
        (
            "How often failed webhook deliveries are looked for (with the hook id), and, with or "
            "without it, how often the clients' check runs and releases are read as in poll mode "
            "(a release once it is 10 minutes old, so its own webhook comes first)."
        ),
    ),
    (
        "CHARTERBOT_DEADLINE_GRACE_SECONDS",
        "30 (+ poll interval)",
        "Voting closes this long after its deadline, so votes cast in time but still on their"
        " way count.",
    ),
    (
        "CHARTERBOT_AUDIT_WITNESS_EVERY",
        "24h (with GitHub)",
        "How often the audit head is posted to a GitHub issue when it changed (periods start at"
        " 00:00Z; at least 1h, dividing a day or whole days); 0 or `off` turns it off.",
    ),
    (
        "CHARTERBOT_AUDIT_WITNESS_ISSUE",
        "—",
        "Issue in the charter's repository the audit heads go to; unset, charterbot opens one"
        ' ("charterbot audit heads") once and reuses it.',
    ),
    ("DISCORD_TOKEN", "—", "Discord bot token; Discord is not started without it."),
    ("DISCORD_GUILD_ID", "—", "Sync commands to one guild (instant) instead of globally."),
    ("DISCORD_API_URL", "—", "Point discord.py at another API server."),
    ("SLACK_BOT_TOKEN", "—", "Slack bot token; Slack is not started without it."),
    ("SLACK_SIGNING_SECRET", "—", "Verifies Slack's HTTP requests (HTTP mode)."),
    ("SLACK_APP_TOKEN", "—", "App-level token; enables Socket Mode."),
    ("SLACK_API_URL", "—", "Slack Web API base URL (GovSlack, stand-ins)."),
    (
        "CHARTERBOT_WEBHOOK_ALLOW_PRIVATE",
        "0",
        "Let outgoing webhooks reach private/loopback addresses.",
    ),
    ("CHARTERBOT_SECRET_KEY", "generated once", "Signs e-mail confirm/unsubscribe links."),
    ("CHARTERBOT_SMTP_URL", "—", "smtp+starttls://user:password@host:587 for e-mail."),
    ("CHARTERBOT_MAIL_FROM", "—", "Sender address of e-mails."),
)
