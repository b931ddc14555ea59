"""Runtime settings, read from the environment (and an optional ``.env`` file).

Policy lives in the charter file; this holds only where things are and the secrets. Variables
use the ``CHARTERBOT_`` prefix, except the platforms' own customary names (``DISCORD_TOKEN``,
``SLACK_BOT_TOKEN``, …) which operators already know. The README has the full table
(:mod:`bot.settings_doc`); each value is judged by :mod:`bot.setting_checks`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.setting_checks import (
    default_public_url,
    pem_problem,
    port_problem,
    public_url_problem,
    witness_period,
)


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
            problem = pem_problem(self.github_app_private_key.get_secret_value())
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
