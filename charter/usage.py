"""How each command is written, as shown by help and in a parse error's "Usage:" line.

Rules:
- One line per command, as a person types it. Keys are the command words (two words for the
  groups and the subcommands of ``LEADS``); :mod:`charter.grammar` dispatches on the same keys,
  and "help <topic>" shows these lines. ``<people>`` is one ``@login`` or more: ``@bob @carol``.
- A GitHub comment's form leaves out the proposal number (the issue is the proposal); a command
  without a comment form works in chat only (``CHAT_ONLY``).
- Every command a reply, hint, error, notice or help text writes is written as these lines
  are, ``/charter <command>``: Slack, Discord (``run`` drops a pasted ``/charter``), the console
  and :func:`charter.grammar.parse_chat` read it whole, and a comment on the proposal's issue
  reads it too. A reply to a GitHub comment may write the comment's form instead (``/ready …``).
  A bare ``drill 1 …`` is not: typed as it is in Slack or GitHub, it is no command.
"""

from __future__ import annotations

GROUPS = frozenset({"incident", "meeting", "agenda"})
# Commands that also lead subcommands: ``rollout <n>`` is one, ``rollout pause <n> …`` another.
# The word after it picks the subcommand; a proposal number is never one, so both read.
LEADS = frozenset({"rollout", "drill"})

USAGE: dict[str, str] = {
    "proposals": "/charter proposals",
    "show": "/charter show <n>",
    "status": "/charter status <n>",
    "vote": "/charter vote <n> approve|reject|abstain [reason]",
    "approve": "/charter approve <n> [reason]",
    "reject": "/charter reject <n> [reason]",
    "abstain": "/charter abstain <n> [reason]",
    "concern": "/charter concern <n> <name>: <text>",
    "resolve": "/charter resolve <n> <name>",
    "feedback": "/charter feedback <n> <people> [note]",
    "withdraw": "/charter withdraw <n>",
    "link": "/charter link",
    "whoami": "/charter whoami",
    "todo": "/charter todo",
    "help": "/charter help [topic]",
    "disclose": "/charter disclose <n>",
    "ready": "/charter ready <n> <client> <stage> <version> [<commit-or-tag>] [notes…]",
    "drill": (
        "/charter drill <n> <client> <stage> recovered <duration> [notes…]"
        ' | failed "<what went wrong>"'
    ),
    "drill schedule": "/charter drill schedule <n> <client> <stage> <when…>",
    "advance": '/charter advance <n> [to <stage> [--override "<reason>"]]',
    "rollout": "/charter rollout <n>",
    "rollout pause": '/charter rollout pause <n> "<reason>"',
    "rollout resume": '/charter rollout resume <n> [--override] ["<reason>"]',
    "inventory": "/charter inventory [<n>]",
    "rollback": '/charter rollback <n> [client …] "<reason>"',
    "activation": '/charter activation <n> <target> "<reason>"',
    "flag": '/charter flag <name> on|off "<reason>"',
    "incident declare": (
        '/charter incident declare <sev> "<summary>" [for <n>[,<n>…]] [clients <client> …]'
    ),
    "incident role": "/charter incident role [#<id>] <role> <user>",
    "incident update": "/charter incident update [#<id>] <text>",
    "incident severity": "/charter incident severity [#<id>] <sev> [reason]",
    "incident resolve": "/charter incident resolve [#<id>] [text]",
    "incident add": "/charter incident add [#<id>] [for <n>[,<n>…]] [clients <client> …]",
    "meetings": "/charter meetings [--next N]",
    "meeting schedule": '/charter meeting schedule "<title>" <when…> [<duration>] [for <n>]',
    "meeting cancel": "/charter meeting cancel <id>",
    "meeting move": "/charter meeting move <id> <when…>",
    "meeting decide": "/charter meeting decide [--call <id>] <text>",
    "meeting action": "/charter meeting action [--call <id>] <who> <text>",
    "agenda add": "/charter agenda add <meeting> <text>",
    "confirm": "/charter confirm <token>",
    "subscribe": (
        "/charter subscribe [here|me|email <address>|webhook <url>] [<kind> …] [track <t>]"
        " [client <c>] [proposal <n>] [severity >= <sev>] [label <l>] [not label <l>]"
        " [lang <code>] [digest daily <HH:MM>]"
    ),
    "unsubscribe": "/charter unsubscribe [<id>|all]",
    "subscriptions": "/charter subscriptions",
}

# In a GitHub comment the proposal is the issue, so its number is left out.
COMMENT_USAGE: dict[str, str] = {
    "status": "/status",
    "vote": "/vote approve|reject|abstain [reason]",
    "approve": "/approve [reason]",
    "reject": "/reject [reason]",
    "abstain": "/abstain [reason]",
    "concern": "/concern <name>: <text>",
    "resolve": "/resolve <name>",
    "feedback": "/feedback <people> [note] (or /f? <people>)",
    "withdraw": "/withdraw",
    "help": "/help [topic]",
    "disclose": "/disclose",
    "ready": "/ready <client> <stage> <version> [<commit-or-tag>] [notes…]",
    "drill": '/drill <client> <stage> recovered <duration> [notes…] | failed "<what went wrong>"',
    "drill schedule": "/drill schedule <client> <stage> <when…>",
    "advance": '/advance [to <stage> [--override "<reason>"]]',
    "rollout": "/rollout",
    "rollout pause": '/rollout pause "<reason>"',
    "rollout resume": '/rollout resume [--override] ["<reason>"]',
    "inventory": "/inventory",
    "rollback": '/rollback [client …] "<reason>"',
    "activation": '/activation <target> "<reason>"',
    "flag": '/flag <name> on|off "<reason>"',
    "incident declare": '/incident declare <sev> "<summary>" [for <n>[,<n>…]] [clients <c> …]',
    "incident role": "/incident role [#<id>] <role> <user>",
    "incident update": "/incident update [#<id>] <text>",
    "incident severity": "/incident severity [#<id>] <sev> [reason]",
    "incident resolve": "/incident resolve [#<id>] [text]",
    "incident add": "/incident add [#<id>] [for <n>[,<n>…]] [clients <c> …]",
    "meeting decide": "/meeting decide [--call <id>] <text>",
    "meeting action": "/meeting action [--call <id>] <who> <text>",
    "agenda add": "/agenda add <meeting> <text>",
}

# Commands that make no sense in a GitHub comment (identity, chat channels, listings).
CHAT_ONLY = frozenset(USAGE) - frozenset(COMMENT_USAGE)
