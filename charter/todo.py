"""What awaits one person: the ``todo`` command's list (rfcbot's per-member pending list).

Rules, for a login at ``now``, over the open proposals that person may see:
- **vote**: a proposal in voting whose outcome is still open, where the login holds a seat
  that has no vote yet — neither theirs nor a colleague's for the same client (a seat's latest
  vote counts, so a filled seat awaits nobody). Listed with the seats and when voting closes.
  A veto alone is no seat: a council member is not expected to vote on every proposal.
  On a track with ``author_may_vote: false`` the proposal's author (case-insensitively) casts
  no seat there (:mod:`charter.authz`), so owes no vote on it, nor sees it as upcoming; its
  other maintainers still do.
- **concern**: an open concern the login raised on an open proposal; only its raiser (or a
  coordinator) resolves it, so it waits on them.
- **feedback**: an unanswered feedback request asking the login on an open proposal
  (:mod:`charter.feedback`, asked by then), with who asked and their note; it blocks nothing,
  but it waits on them until they comment, vote or raise a concern there.
- **upcoming**: a proposal in review on whose track the login will hold a seat, with when
  voting opens.
- **drill**: a rollout under way (not completed) with a client the login maintains, whose next
  stage requires a rollback drill (``require_drill``) on a stage the client is on (or past),
  while the client's drill there is missing, outdated, failed or slow
  (:func:`charter.drills.problem`, which says which); the gate waits on that team.
Votes come first, soonest deadline first; then drills owed; then concerns; then feedback asked;
then what opens next. Each proposal is judged by its own rules (the charter version it was
opened under), which the caller gives; a rollout by the charter it runs by.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from charter import drills
from charter.feedback import FeedbackRequest
from charter.lifecycle import State, is_open
from charter.model import Charter
from charter.proposal import Proposal, review_ends, rules_for, tally_of, voting_window
from charter.rollout_facts import Rollout
from charter.seats import Seat, seats, seats_of
from charter.votes import Outcome

TaskKind = Literal["vote", "drill", "concern", "feedback", "upcoming"]
_ORDER: dict[TaskKind, int] = {"vote": 0, "drill": 1, "concern": 2, "feedback": 3, "upcoming": 4}


@dataclass(frozen=True)
class Task:
    kind: TaskKind
    number: int
    title: str
    due: datetime | None  # vote: voting closes; upcoming: voting opens; concern: none
    seats: tuple[str, ...] = ()  # vote/upcoming: the labels of the seats held
    concern: str = ""  # concern: its name
    asked_by: str = ""  # feedback: who asked
    note: str = ""  # feedback: what they asked, as written (the caller cuts it to fit); drill: why
    client: str = ""  # drill: the client that owes it
    stage: str = ""  # drill: the stage to drill on


def awaiting(
    proposals: Iterable[tuple[Proposal, Charter]],
    login: str,
    now: datetime,
    asked: Sequence[FeedbackRequest] = (),
    rollouts: Iterable[tuple[Rollout, str, Charter]] = (),
) -> tuple[Task, ...]:
    """Everything waiting on ``login`` at ``now`` among ``proposals`` (see the rules above);
    ``asked`` holds feedback requests, of which those asking ``login`` on one of
    ``proposals`` count (any others are ignored, so a caller may pass more); ``rollouts`` the
    rollouts the login may see, each with its proposal's title and the charter it runs by."""
    tasks: list[Task] = [
        t for r, title, charter in rollouts if (t := _drill_owed(r, title, charter, login))
    ]
    for p, charter in proposals:
        rules = rules_for(p, charter)
        if p.track not in rules.tracks:
            continue  # a track an amendment removed: nothing can be decided here
        tasks.extend(_tasks_of(p, rules, login, now))
        tasks.extend(_feedback_asked(p, asked, login, now))
    return tuple(sorted(tasks, key=_sort_key))


def _feedback_asked(
    p: Proposal, asked: Sequence[FeedbackRequest], login: str, now: datetime
) -> list[Task]:
    if not is_open(p.state):
        return []
    return [
        Task("feedback", p.number, p.title, None, asked_by=r.asked_by, note=r.note)
        for r in asked
        if r.proposal == p.number and r.open and r.of(login) and r.asked_at <= now
    ]


def _sort_key(task: Task) -> tuple[int, float, int, str, str]:
    due = task.due.timestamp() if task.due is not None else float("inf")
    return _ORDER[task.kind], due, task.number, task.concern, task.asked_by


def _tasks_of(p: Proposal, rules: Charter, login: str, now: datetime) -> list[Task]:
    if not is_open(p.state):
        return []
    tasks = [
        Task("concern", p.number, p.title, None, concern=c.name)
        for c in p.concerns
        if c.open and c.raised_by.lower() == login.lower()
    ]
    held = seats_of(login, seats(rules.tracks[p.track], rules))
    if not held or not casts_seats(p, rules, login):
        return tasks
    if p.state is State.REVIEW:
        labels = tuple(s.label for s in held)
        tasks.append(Task("upcoming", p.number, p.title, review_ends(p, rules), labels))
    elif p.state is State.VOTING:
        vote = _vote_task(p, rules, held, now)
        if vote is not None:
            tasks.append(vote)
    return tasks


def casts_seats(p: Proposal, rules: Charter, login: str) -> bool:
    """Whether ``login`` may cast the seats they hold on ``p``: not when they wrote it and its
    track sets ``author_may_vote: false`` (the rule :mod:`charter.authz` enforces on votes)."""
    return rules.tracks[p.track].author_may_vote or p.author.lower() != login.lower()


def _vote_task(p: Proposal, rules: Charter, held: tuple[Seat, ...], now: datetime) -> Task | None:
    """The vote still owed on ``p``: the held seats nobody has voted for, while the outcome
    is open; None when every held seat is filled or the outcome is settled. Its deadline is
    when voting closes, or, once lazy consensus decides, when that ends (a reject still
    counts until then)."""
    current = tally_of(p, rules, now)
    if current.outcome is not Outcome.PENDING:
        return None
    empty = tuple(s.label for s in held if s.id not in current.standing)
    if not empty:
        return None
    due = current.lazy_until or voting_window(p, rules)[1]
    return Task("vote", p.number, p.title, due, empty)


def _drill_owed(rollout: Rollout, title: str, charter: Charter, login: str) -> Task | None:
    """The rollback drill ``login``'s client owes ``rollout`` (see the rules above), or None."""
    client = charter.client_of(login)
    upcoming = rollout.stage_index + 1
    if client is None or client.id not in rollout.clients or rollout.completed_at is not None:
        return None
    if upcoming >= len(charter.rollout.stages):
        return None
    required = charter.rollout.stages[upcoming].require_drill
    if required is None or rollout.position(client.id) < charter.stage_ids.index(required.stage):
        return None  # nothing required, or not on the stage yet: its release comes first
    why = drills.problem(rollout, charter, client.id, required)
    if why is None:
        return None
    n = rollout.proposal
    return Task("drill", n, title, None, note=why, client=client.id, stage=required.stage)
