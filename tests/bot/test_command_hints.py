"""Every command a reply writes works where the reply is read (the rule of ``charter.usage``).

- In chat, the console and notifications a command is written ``/charter <command>``: Slack's
  slash command, Discord's (``run`` drops a pasted ``/charter``), and the console and every chat
  surface read it whole (``charter.grammar.parse_chat``). A bare ``drill 1 …`` or a comment's
  ``/ready …`` in chat is a bug.
- In the reply to a GitHub comment, a command is the comment form (``/ready …``) or that same
  ``/charter <command>``, which a comment on the proposal's issue reads too; a chat-only one
  (``/charter link``) is written as in chat, where it works.
- Each hint, its placeholders filled in, parses with the grammar of the surface it is read on:
  a hint that does not parse is a bug too.

The replies are those of a representative table of commands and refusals, run through the real
service (the rollout world of ``tests.bot.rollouts``) and the real GitHub comment path.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot import meetings_service
from bot.messages import plain_text
from bot.subscribe import Context, handle
from charter import commands as c
from charter.grammar import parse_chat, parse_comment
from charter.usage import GROUPS, LEADS, USAGE
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, MAINTAINER, World, form, person
from tests.bot.rollouts.test_drills import DRILL_CHARTER, SHA, comment, drill_all

_SUBCOMMANDS = sorted(k for k in USAGE if " " in k)
_WORDS = sorted({k.split()[0] for k in USAGE} - GROUPS - LEADS, key=len, reverse=True)
# A command as a reply may write it: "/charter", "/" or nothing, then its words. A bare single
# word counts only with an argument after it ("ready 1", "confirm <token>"): "is ready" is prose.
_COMMAND = re.compile(
    r"(?<![\w/#@.-])(?P<prefix>/charter |/)?"
    rf"(?P<words>(?:{'|'.join(_SUBCOMMANDS)}|{'|'.join(LEADS)}|{'|'.join(_WORDS)}))"
    r"(?=[ .,;:)`\n]|$)"
)
_ARGUMENT = re.compile(r" (?:\d|#|<|@)")
# Where a command written in a sentence ends: code quotes, punctuation, or the prose going on.
_END = re.compile(
    r"`|\)|[,:;] |\.(?: |$)| · | \(or | (?:or|within|once|first|again|then)\b| in (?=[A-Z])|$",
    re.MULTILINE,
)
_FILLED = {
    "n": "1",
    "id": "1",
    "version": "1.0.0",
    "duration": "5m",
    "when…": "friday 15:00",
    "when": "friday 15:00",
    "token": "abc123",
    "people": "@bob",
    "who": "@bob",
    "user": "@bob",
    "client": "aurora",
    "stage": "canary",
    "address": "bob@example.org",
    "url": "https://example.org/hook",
}


def hints(text: str) -> list[tuple[str, str]]:
    """Each command ``text`` writes: (its prefix, the command up to where the sentence goes on)."""
    found = []
    for m in _COMMAND.finditer(text):
        bare = m["prefix"] is None
        if bare and " " not in m["words"] and not _ARGUMENT.match(text, m.end()):
            continue
        end = _END.search(text, m.end())
        found.append((m["prefix"] or "", text[m.start() : end.start() if end else len(text)]))
    return found


def filled(hint: str) -> str:
    """The hint as someone fills it in: placeholders given values, a choice its first option."""
    while (shorter := re.sub(r"\[[^\[\]]*\]", "", hint)) != hint:  # innermost first
        hint = shorter
    hint = re.sub(r"<([^>]+)>", lambda p: _FILLED.get(p[1], "x"), hint)
    return " ".join(re.sub(r"\b(\w+)(?:\|[\w-]+)+", r"\1", hint).split())


def _chat_violations(text: str) -> list[str]:
    wrong = []
    for prefix, hint in hints(text):
        if prefix != "/charter ":
            wrong.append(f"not written /charter <command>: {hint!r}")
        elif isinstance(parse_chat(filled(hint)), c.ParseError):
            wrong.append(f"does not parse: {hint!r} ({parse_chat(filled(hint))})")
    return wrong


def _comment_violations(text: str, issue: int) -> list[str]:
    wrong = []
    for prefix, hint in hints(text):
        typed = filled(hint)
        parsed = parse_comment(typed, issue) or [c.ParseError("not a command line", "")]
        # a chat-only command (/charter link) is written as in chat, where it works
        chat_only = "works in chat only" in getattr(parsed[0], "message", "")
        if not prefix:
            wrong.append(f"not written as a command: {hint!r}")
        elif chat_only and isinstance(parse_chat(typed), c.ParseError):
            wrong.append(f"does not parse in chat: {hint!r} ({parse_chat(typed)})")
        elif isinstance(parsed[0], c.ParseError) and not chat_only:
            wrong.append(f"does not parse in a comment on #{issue}: {hint!r} ({parsed})")
    return wrong


def _shown(body: str) -> str:
    """A GitHub reply as GitHub shows it: entities and Markdown escapes read."""
    return re.sub(r"\\(.)", r"\1", html.unescape(body))


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    world = World(sqlite_engine, DRILL_CHARTER)
    meetings_service.install_on(world.gov)
    world.accept(1, form())
    for client, login in MAINTAINER.items():  # every client on staging
        world.ok(login, f"ready 1 {client} staging 1.0.0 {SHA[client][:10]}")
    return world


def _chat_replies(world: World) -> list[str]:
    """What the chat table answers, in order (a step sets up the next)."""
    said: list[str] = []

    def run(login: str, text: str) -> None:
        said.append(plain_text(world.run(login, text)))

    run(MAINTAINER["borealis"], "drill 1 borealis canary recovered 5m")  # report it first
    run(MAINTAINER["aurora"], "todo")  # once drilled, type: …
    run(MAINTAINER["aurora"], "feedback 1 please")  # e.g. …, and the usage
    run(COORDINATOR, 'advance 1 --override "soak done by hand"')  # name the stage
    run(COORDINATOR, 'rollout pause 1 "devnet freeze"')
    run(COORDINATOR, 'incident declare sev1 "fork" for 1')
    run(COORDINATOR, "advance 1")  # each hold and what lifts it
    run(COORDINATOR, "incident role lead <@U0NOBODY>")  # a mention with no login
    run(COORDINATOR, "rollout resume 1")
    run(COORDINATOR, "rollout resume 1")  # not paused by hand
    run(COORDINATOR, 'rollout resume 1 --override "the fix is out"')  # gates still apply
    run(COORDINATOR, 'rollout pause 1 "again"')
    run(COORDINATOR, 'rollout resume 1 --override "x"')  # no incident holds it
    run(COORDINATOR, 'meeting schedule "Sync" friday 15:00')  # confirm within …
    [token] = re.findall(r"/charter confirm (\S+)", said[-1])
    run(COORDINATOR, f"confirm {token}")  # cancel with …
    run(MAINTAINER["aurora"], "drill schedule 1 aurora staging friday 10:00")
    world.later(timedelta(days=4))  # the drill overdue
    world.tick()
    said += [a["text"] for a in world.announced("rollback drill overdue")]
    return said


def _subscription_replies(world: World) -> list[str]:
    said = []
    platforms = frozenset({"slack", "discord", "email", "webhook"})
    for text in ("subscribe me", "subscribe email bob@example.org", "unsubscribe"):
        command = parse_chat(text)
        assert isinstance(command, c.Subscribe | c.Unsubscribe)
        with session_scope(world.engine) as session:
            ctx = Context(
                session, world.gov.charter, person(COORDINATOR), world.clock.now(), None,
                "https://bot.example", platforms,
            )  # fmt: skip
            said.append(plain_text(handle(command, ctx)))
    return said


def test_every_command_a_chat_reply_writes_is_typed_as_chat_reads_it(world: World) -> None:
    replies = _chat_replies(world) + _subscription_replies(world)
    assert sum(len(hints(r)) for r in replies) >= 20, replies  # the table still hints
    assert [v for r in replies for v in _chat_violations(r)] == []


def test_every_command_a_comment_reply_writes_works_in_a_comment(world: World) -> None:
    aurora, borealis = MAINTAINER["aurora"], MAINTAINER["borealis"]
    bodies = comment(world, "/drill borealis canary recovered 5m", borealis)
    drill_all(world)  # every client drilled on staging
    bodies += comment(world, '/advance --override "soak done by hand"', COORDINATOR)
    world.ok(COORDINATOR, 'rollout pause 1 "devnet freeze"')
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    bodies += comment(world, "/advance", COORDINATOR)
    bodies += comment(world, "/rollout resume", COORDINATOR)
    bodies += comment(world, "/link", aurora)
    replies = [_shown(b["body"]) for b in bodies]
    assert sum(len(hints(r)) for r in replies) >= 6, replies
    assert [v for r in replies for v in _comment_violations(r, 1)] == []


_R = "/charter rollout resume 1"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("first: ready 1 aurora canary <version>", [("", "ready 1 aurora canary <version>")]),
        (f"lifts it with `{_R}`.", [("/charter ", _R)]),
        ("type: drill 1 aurora staging 5m (or failed)", [("", "drill 1 aurora staging 5m")]),
        ("run /charter confirm abc within 15 minutes.", [("/charter ", "/charter confirm abc")]),
        ("in a comment: /ready aurora canary v1.", [("/", "/ready aurora canary v1")]),
        ("(`incident resolve #<id>`)", [("", "incident resolve #<id>")]),
        ("use /charter link in Discord", [("/charter ", "/charter link")]),
        ("Usage:\n```\n/advance [to <stage>]\n```", [("/", "/advance [to <stage>]")]),
        ("aurora is ready; incident 1 (sev1) is open; see https://x/rollout/1", []),
    ],
)
def test_what_counts_as_a_command_written(text: str, found: list[tuple[str, str]]) -> None:
    """The reader of the rule above: a prefixed command, a command of two words, or a bare
    word with an argument after it; prose and links are none."""
    assert hints(text) == found
