"""Settings refuse values that cannot work, by the variable's name, and treat empty as unset."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from bot.setting_checks import default_public_url, port_problem
from bot.settings import SettingError, Settings

PASSWORD = "hunter2"


def _refusal(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> SettingError | str:
    """The SettingError (or, for a plain type error, the message) Settings() refuses env with."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    [error] = caught.value.errors()
    cause = error.get("ctx", {}).get("error")
    return cause if isinstance(cause, SettingError) else str(error["msg"])


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where there is no ``.env``, whatever the checkout holds."""
    monkeypatch.chdir(tmp_path)


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    "name",
    ["DISCORD_TOKEN", "SLACK_BOT_TOKEN", "CHARTERBOT_CHARTER", "CHARTERBOT_SMTP_URL"],
)
def test_an_empty_value_counts_as_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """An uncommented ``NAME=`` line from env.example neither turns a platform on nor names a
    charter "." nor breaks start-up."""
    monkeypatch.setenv(name, "")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    settings = Settings()
    assert settings.discord_token is None and not settings.discord_enabled
    assert settings.slack_bot_token is None and not settings.slack_enabled
    assert settings.charter is None
    assert settings.smtp_url is None


def test_an_empty_value_in_dotenv_counts_as_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=\nCHARTERBOT_HTTP_PORT=\n", encoding="utf-8")
    settings = Settings()
    assert settings.discord_token is None
    assert settings.http_port == 8080


@pytest.mark.parametrize("name", ["CHARTERBOT_TICK_SECONDS", "CHARTERBOT_GITHUB_POLL_SECONDS"])
@pytest.mark.parametrize("value", ["0", "-1", "-0.5"])
def test_intervals_must_be_positive(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """A zero or negative interval would spin its loop without pause."""
    assert _refusal({name: value}, monkeypatch) == "Input should be greater than 0"


@pytest.mark.parametrize(("given", "level"), [("debug", "DEBUG"), ("Warn", "WARNING")])
def test_log_levels_are_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch, given: str, level: str
) -> None:
    monkeypatch.setenv("CHARTERBOT_LOG_LEVEL", given)
    assert Settings().log_level == level


def test_an_unknown_log_level_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    refusal = _refusal({"CHARTERBOT_LOG_LEVEL": "verbose"}, monkeypatch)
    assert isinstance(refusal, SettingError)
    assert refusal.name == "CHARTERBOT_LOG_LEVEL"
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in refusal.message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"smtp+tls://u:{PASSWORD}@mail.example.org:587", "the scheme smtp+tls:// is not usable"),
        (f"smtp+starttls://u:{PASSWORD}@mail.example.org:notaport", "the port is not a number"),
        (f"smtps://u:{PASSWORD}@mail.example.org:99999", "the port is not a number"),
        ("smtp://", "names no host"),
        (f"u:{PASSWORD}@mail.example.org", "is not usable"),
    ],
)
def test_an_unusable_smtp_url_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    refusal = _refusal({"CHARTERBOT_SMTP_URL": url}, monkeypatch)
    assert isinstance(refusal, SettingError)
    assert refusal.name == "CHARTERBOT_SMTP_URL"
    assert says in refusal.message
    assert "smtp+starttls://user:password@host:587" in refusal.message
    assert PASSWORD not in str(refusal)


@pytest.mark.parametrize(
    "url",
    [
        "smtp+starttls://u:p@mail.example.org:587",
        "smtps://u:p@mail.example.org",
        "smtp://127.0.0.1:2525",
    ],
)
def test_usable_smtp_urls_are_accepted(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CHARTERBOT_SMTP_URL", url)
    smtp = Settings().smtp_url
    assert smtp is not None and smtp.get_secret_value() == url


@pytest.mark.parametrize(
    ("given", "period"),
    [
        (None, timedelta(hours=24)),
        ("24h", timedelta(hours=24)),
        ("1d", timedelta(days=1)),
        ("6h", timedelta(hours=6)),
        ("1h", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
        ("off", None),
        ("OFF", None),
        ("0", None),
        ("0h", None),
    ],
)
def test_the_audit_witness_period(
    monkeypatch: pytest.MonkeyPatch, given: str | None, period: timedelta | None
) -> None:
    """Unset, a day (it runs only with GitHub); 0 or off turns it off."""
    if given is not None:
        monkeypatch.setenv("CHARTERBOT_AUDIT_WITNESS_EVERY", given)
    assert Settings().audit_witness_period == period


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CHARTERBOT_AUDIT_WITNESS_EVERY", "daily", "'daily' is not a duration"),
        ("CHARTERBOT_AUDIT_WITNESS_EVERY", "24", "'24' is not a duration"),
        ("CHARTERBOT_AUDIT_WITNESS_EVERY", "30m", "must be at least 1h"),
        ("CHARTERBOT_AUDIT_WITNESS_EVERY", "5h", "5h neither divides a day nor is whole days"),
        ("CHARTERBOT_AUDIT_WITNESS_EVERY", "36h", "36h neither divides a day"),
        ("CHARTERBOT_AUDIT_WITNESS_EVERY", "99999999999d", "99999999999d is longer than any"),
        ("CHARTERBOT_AUDIT_WITNESS_EVERY", "9" * 30 + "w", "is longer than any period can be"),
        ("CHARTERBOT_AUDIT_WITNESS_ISSUE", "0", "must be the number of an issue"),
        ("CHARTERBOT_AUDIT_WITNESS_ISSUE", "-3", "must be the number of an issue"),
        ("CHARTERBOT_AUDIT_WITNESS_ISSUE", "#12", "must be the number of an issue"),
    ],
)
def test_an_unusable_audit_witness_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    refusal = _refusal({name: value}, monkeypatch)
    assert isinstance(refusal, SettingError) and refusal.name == name
    assert says in refusal.message


def test_the_audit_witness_issue_is_read_as_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().audit_witness_issue is None
    monkeypatch.setenv("CHARTERBOT_AUDIT_WITNESS_ISSUE", " 12 ")
    assert Settings().audit_witness_issue == 12


def test_a_non_numeric_discord_guild_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    refusal = _refusal({"DISCORD_GUILD_ID": "my-server"}, monkeypatch)
    assert isinstance(refusal, SettingError) and refusal.name == "DISCORD_GUILD_ID"


@pytest.mark.parametrize(
    ("env", "name", "says"),
    [
        (
            {"CHARTERBOT_GITHUB_APP_ID": "1", "CHARTERBOT_GITHUB_APP_PRIVATE_KEY": "{pem}"},
            "CHARTERBOT_GITHUB_INSTALLATION_ID",
            "not set, and GitHub App auth needs it",
        ),
        (
            {
                "CHARTERBOT_GITHUB_INSTALLATION_ID": "7",
                "CHARTERBOT_GITHUB_APP_PRIVATE_KEY": "{pem}",
            },
            "CHARTERBOT_GITHUB_APP_ID",
            "not set",
        ),
        (
            {
                "CHARTERBOT_GITHUB_APP_ID": "1",
                "CHARTERBOT_GITHUB_INSTALLATION_ID": "7",
                "CHARTERBOT_GITHUB_APP_PRIVATE_KEY": "not-a-key-hunter2",
            },
            "CHARTERBOT_GITHUB_APP_PRIVATE_KEY",
            "is not a PEM private key",
        ),
        (
            {
                "CHARTERBOT_GITHUB_APP_ID": "1",
                "CHARTERBOT_GITHUB_INSTALLATION_ID": "7",
                "CHARTERBOT_GITHUB_APP_PRIVATE_KEY": "{truncated}",
            },
            "CHARTERBOT_GITHUB_APP_PRIVATE_KEY",
            "does not load as a private key",
        ),
        (
            {"CHARTERBOT_GITHUB_TOKEN": "t", "CHARTERBOT_GITHUB_APP_ID": "1"},
            "CHARTERBOT_GITHUB_TOKEN",
            "not both",
        ),
        ({"CHARTERBOT_GITHUB_TOKEN": "   "}, "CHARTERBOT_GITHUB_TOKEN", "is blank"),
    ],
)
def test_unusable_github_credentials_are_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str, says: str
) -> None:
    pem = _pem()
    truncated = pem[: len(pem) // 2] + "\n-----END RSA PRIVATE KEY-----\n"
    env = {k: v.format(pem=pem, truncated=truncated) for k, v in env.items()}
    refusal = _refusal(env, monkeypatch)
    assert isinstance(refusal, SettingError)
    assert (refusal.name, says in refusal.message) == (name, True), refusal
    assert "hunter2" not in str(refusal) and "PRIVATE KEY-----" not in str(refusal)


def test_a_complete_app_and_github_off_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off ignores leftover credentials (nothing uses them); a complete App is fine."""
    monkeypatch.setenv("CHARTERBOT_GITHUB_APP_ID", "1")
    monkeypatch.setenv("CHARTERBOT_GITHUB_APP_PRIVATE_KEY", _pem())
    monkeypatch.setenv("CHARTERBOT_GITHUB_INSTALLATION_ID", "7")
    assert Settings().github_enabled
    monkeypatch.delenv("CHARTERBOT_GITHUB_INSTALLATION_ID")
    monkeypatch.setenv("CHARTERBOT_GITHUB_MODE", "off")
    assert Settings().github_mode == "off"


# Bare field names some other program may well have set: never charterbot's settings.
BARE = {
    "DATABASE_URL": "sqlite:///someone-elses.db",
    "HTTP_PORT": "abc",
    "LOG_LEVEL": "nonsense",
    "GITHUB_TOKEN": "ghp_not_ours",
    "SECRET_KEY": "not-ours",
}


def _assert_defaults(settings: Settings) -> None:
    assert settings.database_url == "sqlite:///./charterbot.db"
    assert (settings.http_port, settings.log_level) == (8080, "INFO")
    assert settings.github_token is None and settings.secret_key is None


def test_undocumented_bare_names_in_the_environment_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the README's names are read: a DATABASE_URL meant for another app does not redirect
    charterbot, and HTTP_PORT=abc does not stop it starting."""
    for name in ("CHARTERBOT_DATABASE_URL", "CHARTERBOT_HTTP_PORT", "CHARTERBOT_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in BARE.items():
        monkeypatch.setenv(name, value)
    _assert_defaults(Settings())
    monkeypatch.setenv("CHARTERBOT_DATABASE_URL", "sqlite:///ours.db")
    monkeypatch.setenv("CHARTERBOT_HTTP_PORT", "9000")
    settings = Settings()
    assert (settings.database_url, settings.http_port) == ("sqlite:///ours.db", 9000)


def test_undocumented_bare_names_in_dotenv_are_ignored(tmp_path: Path) -> None:
    lines = [f"{name}={value}" for name, value in BARE.items()]
    (tmp_path / ".env").write_text("\n".join([*lines, "http_port=1"]) + "\n", encoding="utf-8")
    _assert_defaults(Settings())
    (tmp_path / ".env").write_text("CHARTERBOT_HTTP_PORT=9000\nDISCORD_TOKEN=t\n", "utf-8")
    settings = Settings()
    assert settings.http_port == 9000 and settings.discord_enabled


def test_code_still_sets_fields_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Settings(database_url=…)``, as the tests and tools write it, wins over the environment."""
    monkeypatch.setenv("CHARTERBOT_DATABASE_URL", "sqlite:///env.db")
    settings = Settings(database_url="sqlite:///given.db", http_port=1234)
    assert (settings.database_url, settings.http_port) == ("sqlite:///given.db", 1234)


@pytest.mark.parametrize(
    ("port", "problem"),
    [
        (1, None),
        (8080, None),
        (65535, None),
        (0, "must be a port number from 1 to 65535"),
        (65536, "must be a port number from 1 to 65535"),
        (70000, "must be a port number from 1 to 65535"),
        (-1, "must be a port number from 1 to 65535"),
    ],
)
def test_port_problem(port: int, problem: str | None) -> None:
    """TCP ports run 1..65535; 0 (any free port) would leave links without the port."""
    assert port_problem(port) == problem


@pytest.mark.parametrize("value", ["70000", "0", "-1"])
def test_an_impossible_port_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    refusal = _refusal({"CHARTERBOT_HTTP_PORT": value}, monkeypatch)
    assert isinstance(refusal, SettingError)
    assert (refusal.name, refusal.message) == (
        "CHARTERBOT_HTTP_PORT",
        "must be a port number from 1 to 65535",
    )


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("127.0.0.1", 18434, "http://127.0.0.1:18434"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),
        ("", 9000, "http://127.0.0.1:9000"),
        ("::", 9000, "http://[::1]:9000"),
        ("::1", 9000, "http://[::1]:9000"),
        ("bot.internal", 80, "http://bot.internal:80"),
    ],
)
def test_default_public_url(host: str, port: int, url: str) -> None:
    """Where a browser on this machine reaches the server: wildcard addresses on loopback."""
    assert default_public_url(host, port) == url


def test_an_unset_public_url_follows_the_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing only the port moves the links with it (feeds, tracking comments, e-mails);
    a public URL that is set stays as set, whatever the server listens on."""
    monkeypatch.setenv("CHARTERBOT_HTTP_PORT", "18434")
    assert Settings().public_url == "http://127.0.0.1:18434"
    moved = Settings().listening_on("0.0.0.0", 18500)
    assert (moved.http_host, moved.http_port, moved.public_url) == (
        "0.0.0.0",
        18500,
        "http://127.0.0.1:18500",
    )
    monkeypatch.setenv("CHARTERBOT_PUBLIC_URL", "https://bot.example.org")
    assert Settings().public_url == "https://bot.example.org"
    assert Settings().listening_on("0.0.0.0", 18500).public_url == "https://bot.example.org"
    monkeypatch.setenv("CHARTERBOT_PUBLIC_URL", "")  # empty counts as unset
    assert Settings().public_url == "http://127.0.0.1:18434"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("notaurl", None),
        ("ftp://example.org/", None),
        ("charterbot.example.org", None),
        ("https://", None),
        ("http:///calendar", None),
        ("https://charterbot.example.org:0", "the port must be a number from 1 to 65535"),
        ("https://charterbot.example.org:99999", "the port must be a number from 1 to 65535"),
        ("https://charterbot.example.org:https", "the port must be a number from 1 to 65535"),
        ("https://charterbot.example.org/?lang=es", "no ?query or #fragment"),
        ("https://charterbot.example.org/#top", "no ?query or #fragment"),
        ("https://charterbot.example.org?", "no ?query or #fragment"),
        ("https://charterbot example.org", "it holds a space"),
        ("http://[::1", "an IPv6 address goes in brackets"),
        ("http://[example.org]/", "an IPv6 address goes in brackets"),
        ("http://[::1]x:8080", "after an IPv6 address in brackets comes nothing or :port"),
        ("http://[::1]:x", "the port must be a number from 1 to 65535"),
    ],
)
def test_an_unusable_public_url_is_named(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str | None
) -> None:
    """Links are the public URL and a path: anything else would print links no one can open."""
    refusal = _refusal({"CHARTERBOT_PUBLIC_URL": url}, monkeypatch)
    assert isinstance(refusal, SettingError)
    assert refusal.name == "CHARTERBOT_PUBLIC_URL"
    assert refusal.message.startswith(
        "must be the https:// (or http://) address the server is reached at, e.g."
        " https://charterbot.example.org"
    )
    assert says is None or says in refusal.message


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://charterbot.example.org", "https://charterbot.example.org"),
        ("https://charterbot.example.org/", "https://charterbot.example.org"),
        ("HTTP://10.0.0.5:8080", "HTTP://10.0.0.5:8080"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("https://[2001:db8::1]/bot", "https://[2001:db8::1]/bot"),
        ("http://[::1]", "http://[::1]"),
        ("https://example.org/charterbot/", "https://example.org/charterbot"),
        (" https://example.org/charterbot ", "https://example.org/charterbot"),
    ],
)
def test_a_usable_public_url_is_kept_without_its_trailing_slash(
    monkeypatch: pytest.MonkeyPatch, url: str, kept: str
) -> None:
    """A path prefix (a server behind a proxy under /charterbot) stays: links go under it."""
    monkeypatch.setenv("CHARTERBOT_PUBLIC_URL", url)
    settings = Settings()
    assert settings.public_url == kept
    assert not settings.public_url_derived
