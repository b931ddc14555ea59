"""The documentation of every setting: the README's settings table is generated from
:data:`SETTINGS_DOC` by a test (``tests/bot/test_readme.py``), which also checks that it names
every setting :class:`bot.settings.Settings` reads, so the two cannot drift."""

from __future__ import annotations

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
    (
        "CHARTERBOT_GITHUB_API_URL",
        "https://api.github.com",
        "GitHub Enterprise Server API URL (`https://<host>/api/v3`), or GitHub Enterprise"
        " Cloud's with data residency (`https://api.<subdomain>.ghe.com`); links go to its web"
        " host.",
    ),
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
