"""`subscribe` refusals: every problem in one reply, advice that works from where the person is,
and `proposal N` checked as `show N` would.

Rules proven here:
- `subscribe me` and `subscribe here` typed outside Slack and Discord (the console) are refused
  with which chat platforms are set up and how to do it there (`/charter link`, then the command
  in that platform's form), or that none is, then what works from here: `subscribe email` only
  when e-mail is set up, `subscribe webhook`, the Atom feed. This comes before authorization,
  so a contributor's bare `subscribe` is not told "subscribe me" in the console.
- Every way offered works when followed (no advice leads back to the same refusal).
- E-mail and webhook alike: the filters' problems first, then the target's, in one reply.
- `proposal N` must be a proposal the person may see; an undisclosed confidential one is
  answered exactly as one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.messages import Actor, Message, plain_text
from bot.runtime import Runtime
from bot.settings import Settings
from bot.subscribe import Context, Origin, handle
from charter.commands import Subscribe
from charter.grammar import parse_chat
from charter.lifecycle import State
from charter.proposal import Proposal
from storage import proposals as repo
from storage.db import session_scope
from tests.bot.broadcast.support import NOW, charter

CHARTER = charter()
NINA = Actor("newbie-nina", "console", "newbie-nina", "newbie-nina")  # a contributor
INES = Actor("ines-coord", "console", "ines-coord", "ines-coord")  # a coordinator
SLACK_ALICE = Actor("alice-aurora", "slack", "U1ALICE", "Alice")
DISCORD_ALICE = Actor("alice-aurora", "discord", "4242", "Alice")
HOOKS = frozenset({"webhook"})
FEED = "the Atom feed, no subscription needed: https://bot.example/feeds/announcements.atom"
LINK = "run /charter link once to prove your GitHub login, then"
EMAIL = "- /charter subscribe email <address>:"
WEBHOOK = "- /charter subscribe webhook <url>:"
ME = "- /charter subscribe me:"


def _run(
    engine: Engine,
    text: str,
    actor: Actor,
    origin: Origin | None,
    platforms: frozenset[str] | None,
) -> Message:
    command = parse_chat(text)
    assert isinstance(command, Subscribe), command
    with session_scope(engine) as session:
        ctx = Context(
            session, CHARTER, actor, NOW, origin, "https://bot.example", platforms,
            allow_private_webhooks=True,
        )  # fmt: skip
        return handle(command, ctx)


CASES = [
    # (id, text, actor, origin, platforms, said, not said)
    ("console-me-nothing-set-up", "subscribe me", NINA, None, HOOKS,
     ["'subscribe me' sends direct messages in Slack or Discord: it works only there.",
      "Neither Slack nor Discord is set up on this bot.", WEBHOOK, FEED],
     [EMAIL, ME, LINK]),
    ("console-me-email", "subscribe me", NINA, None, HOOKS | {"email"},
     [EMAIL, WEBHOOK, FEED], [ME, LINK]),
    ("console-me-slack", "subscribe me", NINA, None, HOOKS | {"slack"},
     [f"In Slack: {LINK} /charter subscribe me."], ["In Discord:", "Neither", EMAIL]),
    ("console-me-discord", "subscribe me", NINA, None, HOOKS | {"discord"},
     [f"In Discord: {LINK} /charter run text:subscribe me."], ["In Slack:", "Neither"]),
    ("console-here-contributor", "subscribe", NINA, None, HOOKS | {"slack"},
     ["'subscribe' and 'subscribe here' subscribe the Slack or Discord channel",
      f"In Slack: {LINK} /charter subscribe me."], ["subscribe here."]),
    ("console-here-staff", "subscribe here", INES, None, HOOKS | {"slack"},
     [f"In Slack: {LINK} /charter subscribe here."], []),
    ("discord-dm-here", "subscribe here", DISCORD_ALICE, Origin("discord", None),
     HOOKS | {"discord"}, ["subscribe the Slack or Discord channel", ME, WEBHOOK, FEED],
     [LINK, EMAIL]),
    ("slack-email-not-set-up", "subscribe email a@example.org", SLACK_ALICE, None,
     HOOKS | {"slack"}, ["e-mail is not set up on this bot.", ME, WEBHOOK, FEED], [EMAIL]),
    ("feed-keeps-filters", "subscribe me decision track protocol-change proposal 4", NINA, None,
     HOOKS, [f"{FEED}?kind=decision&track=protocol-change&proposal=4"], []),
    ("feed-drops-bad-filters", "subscribe me track nope", NINA, None, HOOKS,
     [f"{FEED}\n", "Unknown track nope"], ["?track"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "actor", "origin", "platforms", "said", "not_said"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_advice_names_only_what_works_from_here(
    sqlite_engine: Engine,
    text: str,
    actor: Actor,
    origin: Origin | None,
    platforms: frozenset[str],
    said: list[str],
    not_said: list[str],
) -> None:
    if "proposal 4" in text:
        _store(sqlite_engine, 4, "protocol-change")
    reply = _run(sqlite_engine, text, actor, origin, platforms)
    shown = plain_text(reply) + "\n"
    assert not reply.ok
    assert [s for s in said if s not in shown] == [], shown
    assert [s for s in not_said if s in shown] == [], shown


# What each way offered is, typed (a loopback URL: private webhooks are allowed here).
FOLLOW = {
    ME: "subscribe me",
    EMAIL: "subscribe email someone@example.org",
    WEBHOOK: "subscribe webhook https://127.0.0.1/hook",
}


@pytest.mark.parametrize(
    ("actor", "origin", "platforms"),
    [
        (NINA, None, HOOKS),
        (NINA, None, HOOKS | {"email", "slack", "discord"}),
        (SLACK_ALICE, None, HOOKS | {"slack"}),
        (DISCORD_ALICE, Origin("discord", None), HOOKS | {"discord", "email"}),
    ],
    ids=["console", "console-all", "slack-dm", "discord-dm"],
)
@pytest.mark.parametrize("text", ["subscribe", "subscribe me", "subscribe email a@example.org"])
def test_every_way_offered_works(
    sqlite_engine: Engine,
    actor: Actor,
    origin: Origin | None,
    platforms: frozenset[str],
    text: str,
) -> None:
    """Whatever was refused, following any way the reply offers subscribes (no circles)."""
    reply = _run(sqlite_engine, text, actor, origin, platforms)
    if reply.ok:  # it worked where it was typed: nothing to follow
        return
    offered = [typed for line, typed in FOLLOW.items() if line in plain_text(reply)]
    assert offered, plain_text(reply)
    for typed in offered:
        followed = _run(sqlite_engine, typed, actor, origin, platforms)
        assert followed.ok, (typed, plain_text(followed))


@pytest.mark.parametrize(
    ("text", "platforms", "target_says"),
    [
        ("subscribe email a@example.org", HOOKS, "e-mail is not set up on this bot."),
        ("subscribe webhook https://127.0.0.1/hook", frozenset({"email"}), "Webhook is not set up"),
        ("subscribe webhook http://hooks.example.com/x", None, "This webhook URL is refused"),
    ],
    ids=["email-not-set-up", "webhook-not-set-up", "webhook-bad-url"],
)
def test_one_reply_names_every_problem_filters_first(
    sqlite_engine: Engine, text: str, platforms: frozenset[str] | None, target_says: str
) -> None:
    """E-mail and webhook alike: unknown track, unknown client, unknown proposal, then the
    target's problem, in one reply."""
    reply = _run(sqlite_engine, f"{text} track nope client zeta proposal 99", NINA, None, platforms)
    lines = plain_text(reply).splitlines()
    assert not reply.ok
    assert lines[0].startswith("error: Unknown track nope; choose from protocol-change"), lines
    assert lines[1].startswith("Unknown client zeta; choose from aurora"), lines
    assert lines[2:4] == ["There is no proposal #99.", lines[3]] and target_says in lines[3]


# -- through the service: the precheck before authorization, and who may see a proposal ------


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'subs.db'}", webhook_allow_private=True),
        clock=FixedClock(NOW),
    )
    yield runtime
    runtime.engine.dispose()


def test_a_contributors_bare_subscribe_in_the_console_is_not_sent_in_circles(rt: Runtime) -> None:
    """The role refusal ("you can still subscribe yourself (/charter subscribe me)") would point
    to what fails in the console too; the where-you-are refusal comes first, and what it offers
    works."""
    reply = plain_text(rt.gov.run_sync("subscribe", NINA, NOW))
    assert "(/charter subscribe me)" not in reply and "Only client maintainers" not in reply, reply
    assert "Neither Slack nor Discord is set up on this bot." in reply
    assert EMAIL not in reply and WEBHOOK in reply  # no SMTP on this bot
    hook = rt.gov.run_sync(FOLLOW[WEBHOOK], NINA, NOW)
    assert hook.ok, plain_text(hook)


def _store(engine: Engine, number: int, track: str) -> None:
    proposal = Proposal(
        number=number, title=f"Proposal {number}", author="alice-aurora", track=track,
        state=State.DRAFT, fields={}, charter_version=CHARTER.version,
        created_at=NOW - timedelta(days=1),
    )  # fmt: skip
    with session_scope(engine) as session:
        repo.save(session, repo.Stored(proposal), CHARTER, NOW)


SUB = "subscribe webhook https://127.0.0.1/hook proposal {n}"


def test_an_unknown_proposal_is_refused(rt: Runtime) -> None:
    _store(rt.engine, 4, "protocol-change")
    assert rt.gov.run_sync(SUB.format(n=4), NINA, NOW).ok
    reply = rt.gov.run_sync(SUB.format(n=99), NINA, NOW)
    assert not reply.ok and plain_text(reply) == "error: There is no proposal #99."


def test_an_undisclosed_confidential_proposal_is_answered_as_an_unknown_one(rt: Runtime) -> None:
    """To a contributor #9 (an embargoed security patch) does not exist, in the same words as
    #99; a coordinator may subscribe to it; once disclosed, so may everyone."""
    _store(rt.engine, 9, "security-patch")
    hidden = rt.gov.run_sync(SUB.format(n=9), NINA, NOW)
    absent = rt.gov.run_sync(SUB.format(n=99), NINA, NOW)
    assert not hidden.ok and not absent.ok
    assert re.sub(r"#\d+", "#N", plain_text(hidden)) == re.sub(r"#\d+", "#N", plain_text(absent))
    assert rt.gov.run_sync(SUB.format(n=9), INES, NOW).ok
    assert rt.gov.run_sync("disclose 9", INES, NOW).ok
    assert rt.gov.run_sync(SUB.format(n=9), NINA, NOW).ok


@pytest.mark.parametrize("disclosed", [False, True])
def test_without_the_service_only_public_proposals_are_seen(
    sqlite_engine: Engine, disclosed: bool
) -> None:
    """A Context without ``may_see`` (no service to ask) sees what is not confidential, or is
    disclosed: it never confirms an embargoed proposal."""
    _store(sqlite_engine, 9, "security-patch")
    if disclosed:
        with session_scope(sqlite_engine) as session:
            stored = repo.load(session, 9)
            assert stored is not None
            repo.save(session, replace(stored, disclosed=True), CHARTER, NOW)
    reply = _run(sqlite_engine, SUB.format(n=9), INES, None, None)
    assert reply.ok is disclosed, plain_text(reply)


HELD_BACK = (
    "Proposal #9 is confidential: until it is disclosed, its announcements go only to the"
    " charter's private channels, so this subscription receives nothing about it before then."
)


@pytest.mark.parametrize(
    "target", ["webhook https://127.0.0.1/hook", "webhook https://127.0.0.2/other"]
)
def test_a_subscription_to_an_undisclosed_proposal_says_nothing_comes_until_disclosed(
    rt: Runtime, target: str
) -> None:
    """A coordinator may subscribe to embargoed #9, but its announcements reach only private
    charter channels (charter.subscriptions.matches): the reply says so, so nobody waits for
    them. Once disclosed, the same subscription gets no such caveat."""
    _store(rt.engine, 9, "security-patch")
    reply = rt.gov.run_sync(f"subscribe {target} proposal 9", INES, NOW)
    assert reply.ok and plain_text(reply).splitlines()[1] == HELD_BACK
    assert rt.gov.run_sync("disclose 9", INES, NOW).ok
    again = rt.gov.run_sync(f"subscribe {target} proposal 9 decision", INES, NOW)
    assert again.ok and HELD_BACK not in plain_text(again)


def test_a_private_charter_channel_gets_no_caveat(sqlite_engine: Engine) -> None:
    """The council's private channel does receive #9's announcements: nothing to warn of; a
    public channel is told."""
    _store(sqlite_engine, 9, "security-patch")
    command = parse_chat("subscribe here proposal 9")
    assert isinstance(command, Subscribe)
    said = {}
    for channel in ("G0COUNCIL01", "C0MERIDIAN1"):
        with session_scope(sqlite_engine) as session:
            origin = Origin("slack", channel)
            ctx = Context(session, CHARTER, SLACK_ALICE, NOW, origin, may_see=lambda _s: True)
            reply = handle(command, ctx)
        assert reply.ok
        said[channel] = plain_text(reply)
    assert HELD_BACK not in said["G0COUNCIL01"] and HELD_BACK in said["C0MERIDIAN1"]


def test_a_confidential_track_subscription_says_when_its_announcements_come(
    sqlite_engine: Engine,
) -> None:
    reply = _run(
        sqlite_engine,
        SUB.format(n=1).split(" proposal")[0] + " track security-patch",
        INES,
        None,
        None,
    )
    assert reply.ok
    assert "Confidential track(s) security-patch: a proposal's announcements go only" in plain_text(
        reply
    )
    reply = _run(
        sqlite_engine,
        SUB.format(n=1).split(" proposal")[0] + " track feature-flag",
        INES,
        None,
        None,
    )
    assert reply.ok and "onfidential" not in plain_text(reply)
