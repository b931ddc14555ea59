"""Votes cast before a voting deadline count even when they reach the bot after it.

A GitHub vote is dated by its comment, but it reaches the bot later: a webhook in flight, or up
to a whole polling interval in poll mode. Voting therefore closes ``vote_grace`` after its
deadline (``CHARTERBOT_DEADLINE_GRACE_SECONDS``; by default 30 s, plus the polling interval in
poll mode), judged as the proposal stood at the deadline. A vote cast after the deadline is
still refused. The same holds for an input that settles the outcome before the deadline (the
last seat's vote from chat, a resolved concern): the timer closes the proposal a grace later,
so a GitHub vote cast before that input and still in flight counts (a council veto rejects).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.messages import Actor, Message, plain_text
from bot.settings import Settings
from charter.proposal import Proposal, voting_window
from storage import proposals as repo
from storage.db import read_scope
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

CLIENTS = ("alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado")
LAST = "hana-eridanus"  # the fifth client: protocol-change needs every client to approve
GRACE = timedelta(seconds=30)


@pytest.mark.parametrize(
    ("mode", "poll_seconds", "configured", "grace"),
    [
        ("webhook", 60.0, None, 30),
        ("off", 60.0, None, 30),
        ("poll", 60.0, None, 90),
        ("poll", 300.0, None, 330),
        ("poll", 60.0, 5.0, 5),
        ("webhook", 60.0, 0.0, 0),
    ],
)
def test_grace_by_mode(
    mode: str, poll_seconds: float, configured: float | None, grace: float
) -> None:
    settings = Settings(
        github_mode=mode, github_poll_seconds=poll_seconds, deadline_grace_seconds=configured
    )
    assert settings.vote_grace == timedelta(seconds=grace)


def test_a_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(deadline_grace_seconds=-1)


async def _bot(url: str, github: GitHubStandin, grace: timedelta) -> AsyncIterator[Bot]:
    bot = Bot.fresh(url, github, deadline_grace_seconds=grace.total_seconds())
    yield bot
    await bot.close()


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    async for b in _bot(engine_url, github, GRACE):
        yield b


@pytest.fixture
async def bot_without_grace(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    async for b in _bot(engine_url, github, timedelta(0)):
        yield b


async def _four_approve_then_deadline(bot: Bot, past: timedelta) -> tuple[int, datetime]:
    """Voting on a protocol change with four of five clients approving; the clock ends
    ``past`` the voting deadline, every due deadline fired. Returns (number, deadline)."""
    n = await bot.open_voting()
    for login in CLIENTS:
        await bot.comment(n, "/vote approve", login)
    await bot.settle()
    closes = datetime.fromisoformat(
        (await bot.http.get(f"/api/proposals/{n}")).json()["deadlines"]["voting_closes"]
    )
    await bot.advance(closes + past - bot.clock.now())
    return n, closes


async def _late_delivery(bot: Bot, n: int, cast_at: datetime) -> None:
    """The last client's vote comment, posted at ``cast_at``, delivered now."""
    payload = bot.comment_payload("created", n, "/vote approve", LAST, created=cast_at)
    assert (await bot.post("issue_comment", payload)).status_code == 202
    await bot.settle()


async def _view(bot: Bot, n: int) -> dict[str, object]:
    view: dict[str, object] = (await bot.http.get(f"/api/proposals/{n}")).json()
    return view


async def test_a_vote_cast_in_time_but_delivered_late_counts(bot: Bot) -> None:
    n, closes = await _four_approve_then_deadline(bot, timedelta(seconds=10))
    assert (await _view(bot, n))["state"] == "voting", "the deadline waits for its grace"

    await _late_delivery(bot, n, closes - timedelta(seconds=5))
    await bot.advance(closes + GRACE - bot.clock.now())  # the grace is over
    view = await _view(bot, n)
    assert view["state"] == "accepted"
    decision: dict[str, object] = view["decision"]  # type: ignore[assignment]
    assert decision["outcome"] == "accepted"
    # Judged, and dated, as the proposal stood at the deadline.
    assert datetime.fromisoformat(str(decision["at"])) == closes
    assert LAST in {v["voter"] for v in view["votes"]}  # type: ignore[attr-defined]


async def test_without_the_grace_the_same_vote_is_refused(bot_without_grace: Bot) -> None:
    """What the grace prevents: the deadline closes first and the in-time vote is refused."""
    bot = bot_without_grace
    n, closes = await _four_approve_then_deadline(bot, timedelta(seconds=10))
    await _late_delivery(bot, n, closes - timedelta(seconds=5))
    view = await _view(bot, n)
    assert view["state"] == "expired"  # quorum missed
    assert LAST not in {v["voter"] for v in view["votes"]}  # type: ignore[attr-defined]
    assert any(f"@{LAST} error:" in c.body and "is closed" in c.body for c in bot.issue_comments(n))


async def test_a_late_vote_is_refused_and_does_not_cut_the_grace_short(bot: Bot) -> None:
    """A vote cast after the deadline is refused, and the proposal stays open for the rest
    of the grace: a vote cast in time that arrives after the late one still counts."""
    n, closes = await _four_approve_then_deadline(bot, timedelta(seconds=10))
    late = bot.comment_payload("created", n, "/vote reject", "carmen-borealis", created=closes)
    assert (await bot.post("issue_comment", late)).status_code == 202
    await bot.settle()
    assert (await _view(bot, n))["state"] == "voting"
    assert any(
        "@carmen-borealis error:" in c.body and "has closed" in c.body
        for c in bot.issue_comments(n)
    )
    await _late_delivery(bot, n, closes - timedelta(seconds=5))
    await bot.advance(closes + GRACE - bot.clock.now())
    view = await _view(bot, n)
    assert view["state"] == "accepted"
    voters = [v["voter"] for v in view["votes"]]  # type: ignore[attr-defined]
    assert LAST in voters and voters.count("carmen-borealis") == 1  # her in-time approve only


async def test_review_ends_on_time_and_the_scheduler_knows_when_voting_closes(bot: Bot) -> None:
    """The grace is for votes only: review ends at its deadline. ``next_deadline`` (what the
    demo's clock steps to) includes the grace for a proposal in voting."""
    start = bot.clock.now()
    n = await bot.open_voting()  # advanced 7 days and 1 s past opening: review ended on time
    view = await _view(bot, n)
    assert view["state"] == "voting"
    opened = datetime.fromisoformat(view["deadlines"]["voting_opens"])  # type: ignore[index]
    assert opened - start <= timedelta(days=7, seconds=1)
    closes = datetime.fromisoformat(view["deadlines"]["voting_closes"])  # type: ignore[index]
    with read_scope(bot.rt.engine) as session:
        assert repo.next_deadline(session, GRACE) == closes + GRACE
        assert repo.next_deadline(session) == closes
        assert repo.due(session, closes + GRACE - timedelta(seconds=1), GRACE) == []
        assert repo.due(session, closes + GRACE, GRACE) == [n]
    assert closes.tzinfo is not None and closes.astimezone(UTC) == closes


# -- an input that settles the outcome early ---------------------------------------------------

SECURITY_PATCH = valid_body(**{"### Track\n\nprotocol-change": "### Track\n\nsecurity-patch"})
# Every security-patch seat (five clients, three council members) but mateo-sec's.
SEVEN = (*CLIENTS, LAST, "lena-sec", "kofi-sec")


def _chat(bot: Bot, text: str, login: str) -> Message:
    actor = Actor(login=login, surface="slack", surface_id=f"U-{login}", display=login)
    return bot.gov.run_sync(text, actor, bot.clock.now())


def _proposal(bot: Bot, n: int) -> Proposal:
    stored = bot.gov.load(n)
    assert stored is not None
    return stored.proposal


async def _seven_approve_a_security_patch(bot: Bot) -> int:
    """A security patch (review 0d: voting opens at once) that seven of eight seats approved."""
    n = await bot.open_issue("Fix", SECURITY_PATCH)
    assert _proposal(bot, n).state.value == "voting"
    for login in SEVEN:
        assert _chat(bot, f"vote {n} approve", login).ok
    await bot.advance(later(seconds=5))
    return n


async def _veto_in_flight(bot: Bot, n: int) -> Message:
    """kofi-sec rejects on GitHub; twenty seconds later, before his comment reaches the bot,
    mateo-sec approves from Slack (every seat has approved); then the veto arrives."""
    vetoed_at = bot.clock.now()
    await bot.advance(later(seconds=20))
    said = _chat(bot, f"vote {n} approve", "mateo-sec")
    await bot.settle()
    veto = bot.comment_payload(
        "created", n, "/vote reject exploitable", "kofi-sec", created=vetoed_at
    )
    assert (await bot.post("issue_comment", veto)).status_code == 202
    await bot.settle()
    return said


async def test_a_github_veto_in_flight_beats_the_chat_vote_that_settled(bot: Bot) -> None:
    """The chat vote that fills the last seat settles the outcome but does not close: its
    voter is told when the decision is recorded, the veto cast before it counts, and the timer
    rejects the proposal a grace after the veto, as it stood then."""
    n = await _seven_approve_a_security_patch(bot)
    said = await _veto_in_flight(bot, n)
    assert said.ok
    note = (
        f"Voting on #{n} is settled (accepted); the decision is recorded once votes cast before"
        " it have arrived (at least 30 s)."
    )
    assert note in plain_text(said)
    p = _proposal(bot, n)
    assert p.state.value == "voting" and "kofi-sec" in {v.voter for v in p.votes}
    vetoed_at = max(v.at for v in p.votes if v.voter == "kofi-sec")
    await bot.advance(vetoed_at + GRACE - bot.clock.now())
    p = _proposal(bot, n)
    assert (p.state.value, p.decided_at) == ("rejected", vetoed_at)
    assert not [c for c in bot.issue_comments(n) if "@kofi-sec error:" in c.body]


async def test_without_the_grace_the_chat_vote_closes_and_the_veto_is_refused(
    bot_without_grace: Bot,
) -> None:
    """What the grace prevents: the settling chat vote closes at once."""
    bot = bot_without_grace
    n = await _seven_approve_a_security_patch(bot)
    said = await _veto_in_flight(bot, n)
    assert "settled" not in plain_text(said)
    assert _proposal(bot, n).state.value == "accepted"
    assert [c for c in bot.issue_comments(n) if "@kofi-sec error:" in c.body]


async def test_a_confirm_hold_still_ends_the_vote_a_grace_after_it(bot: Bot) -> None:
    """protocol-change holds an outcome 24h once every seat has voted: the last vote does not
    settle it (no note), and the timer closes it a grace after the hold, dated at its end."""
    n = await bot.open_voting()
    for login in (*CLIENTS, LAST):
        said = _chat(bot, f"vote {n} approve", login)
        assert said.ok and "settled" not in plain_text(said)
    held = datetime.fromisoformat(str((await _view(bot, n))["deadlines"]["confirm_until"]))  # type: ignore[index]
    await bot.advance(held + GRACE - timedelta(seconds=1) - bot.clock.now())
    assert _proposal(bot, n).state.value == "voting"
    await bot.advance(timedelta(seconds=1))
    p = _proposal(bot, n)
    assert (p.state.value, p.decided_at) == ("accepted", held)


async def test_a_vote_cast_before_voting_opened_is_refused_when_it_arrives_after(
    bot: Bot,
) -> None:
    """A vote comment posted during review that reaches the bot after voting opened is refused
    as it would have been on time, with the reason, not recorded for a tally that ignores it."""
    n = await bot.open_issue("T")
    posted = bot.clock.now() + later(days=7, seconds=-10)  # ten seconds before review ends
    await bot.advance(later(days=7, seconds=5))
    payload = bot.comment_payload("created", n, "/vote approve", "carmen-borealis", created=posted)
    assert (await bot.post("issue_comment", payload)).status_code == 202
    await bot.settle()
    assert _proposal(bot, n).votes == ()
    assert any(
        "@carmen-borealis error:" in c.body and "has not opened yet" in c.body
        for c in bot.issue_comments(n)
    )


# -- a vote comment edited or deleted once the outcome has settled -----------------------------


async def _settled_with_kofi_on_github(bot: Bot) -> tuple[int, int, datetime]:
    """A security patch every seat approved: kofi-sec from a GitHub comment, the others from
    chat, mateo-sec last (which settles it); the clock ends ten seconds into the grace.
    Returns (number, kofi-sec's comment id, when he posted it)."""
    n = await bot.open_issue("Fix", SECURITY_PATCH)
    posted = bot.clock.now()
    comment = await bot.comment(n, "/vote approve", "kofi-sec")
    await bot.settle()
    for login in (*CLIENTS, LAST, "lena-sec"):
        assert _chat(bot, f"vote {n} approve", login).ok
    await bot.advance(later(seconds=5))
    assert "is settled (accepted)" in plain_text(_chat(bot, f"vote {n} approve", "mateo-sec"))
    await bot.advance(later(seconds=10))
    assert _proposal(bot, n).state.value == "voting"  # the close waits for the grace
    return n, comment, posted


def _kofi(p: Proposal) -> list[str]:
    return [v.choice.value for v in p.votes if v.voter == "kofi-sec"]


@pytest.mark.parametrize(
    ("action", "body", "answer"),
    [
        ("edited", "/vote reject exploitable", "does not count"),  # a veto, had it counted
        ("deleted", "/vote approve", "is not withdrawn"),
    ],
    ids=["edited", "deleted"],
)
async def test_a_vote_comment_changed_in_the_grace_after_settlement_changes_nothing(
    bot: Bot, action: str, body: str, answer: str
) -> None:
    """The last seat's chat vote settled the outcome; during the grace kofi-sec edits his
    GitHub vote to a veto, or deletes it. A new vote then would be refused, and so is this
    change: his approve keeps counting, the proposal is accepted as it stood when it settled,
    and he is told."""
    n, comment, posted = await _settled_with_kofi_on_github(bot)
    change = bot.comment_payload(action, n, body, "kofi-sec", comment_id=comment, created=posted)
    assert (await bot.post("issue_comment", change)).status_code == 202
    await bot.settle()
    assert _kofi(_proposal(bot, n)) == ["approve"]
    [reply] = [c.body for c in bot.issue_comments(n) if c.body.startswith("@kofi-sec ")]
    assert answer in reply
    await bot.advance(GRACE)
    p = _proposal(bot, n)
    assert (p.state.value, _kofi(p)) == ("accepted", ["approve"])


async def test_a_vote_comment_edited_before_settlement_still_recasts(bot: Bot) -> None:
    """The same edit made before the last seat voted counts: kofi-sec's veto rejects."""
    n = await bot.open_issue("Fix", SECURITY_PATCH)
    posted = bot.clock.now()
    comment = await bot.comment(n, "/vote approve", "kofi-sec")
    await bot.settle()
    await bot.advance(later(seconds=5))
    veto = bot.comment_payload(
        "edited", n, "/vote reject exploitable", "kofi-sec", comment_id=comment, created=posted
    )
    assert (await bot.post("issue_comment", veto)).status_code == 202
    await bot.settle()
    await bot.advance(GRACE)
    p = _proposal(bot, n)
    assert (p.state.value, _kofi(p)) == ("rejected", ["reject"])
    assert not [c for c in bot.issue_comments(n) if c.body.startswith("@kofi-sec ")]


async def test_a_vote_comment_edited_after_the_deadline_keeps_its_in_time_vote(
    bot: Bot,
) -> None:
    """Four clients approve a security patch on GitHub (quorum: four of eight seats). After
    the voting deadline, in the grace, alice-aurora rewords her reason (it recasts nothing, so
    it applies) and carmen-borealis edits hers to a reject: refused, her in-time approve stays
    (her seat is not left empty), so the quorum met at the deadline still accepts."""
    n = await bot.open_issue("Fix", SECURITY_PATCH)
    posted = bot.clock.now()
    ids = {login: await bot.comment(n, "/vote approve", login) for login in CLIENTS}
    await bot.settle()
    _, closes = voting_window(_proposal(bot, n), bot.gov.charter)  # confidential: not in the API
    await bot.advance(closes + timedelta(seconds=5) - bot.clock.now())
    for login, body in (
        ("alice-aurora", "/vote approve lgtm"),
        ("carmen-borealis", "/vote reject"),
    ):
        edit = bot.comment_payload("edited", n, body, login, comment_id=ids[login], created=posted)
        assert (await bot.post("issue_comment", edit)).status_code == 202
        await bot.settle()
    choices = {v.voter: (v.choice.value, v.reason) for v in _proposal(bot, n).votes}
    assert choices["alice-aurora"] == ("approve", "lgtm")
    assert choices["carmen-borealis"] == ("approve", "")
    await bot.advance(GRACE)
    p = _proposal(bot, n)
    assert p.state.value == "accepted"
    assert sorted(v.voter for v in p.votes) == sorted(CLIENTS)
