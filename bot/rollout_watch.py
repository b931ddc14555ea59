"""What reaches a rollout without a command: GitHub check results and releases, and the
watchdogs run on every tick (part of the rollout area; see :mod:`bot.rollouts`).

Rules:
- A check run, check suite or workflow run from a client's repository is stored keyed by
  (repo, head_sha, name), with the branch or tag it ran for; the latest event wins. Other
  repositories are ignored. A report by tag (a release) is satisfied by the runs of that tag.
- A published release in a client's repository reports readiness for every line
  ``charterbot: ready <n> <stage>`` in its body (version and ref = the tag), a line as
  :data:`bot.github.events.RELEASE_LINE` says (one line: no line break between its words;
  the releases poller reads the same pattern). The repository stands for the client, whoever
  published the release; a report that cannot apply is recorded in the audit log as
  ``release-report-refused`` with the reason, and the client's maintainers are told where the
  proposal may be seen (:mod:`bot.release_refusals`: its issue, or privately while it is
  confidential), once per release, proposal and stage.
- Each escalation of the charter notifies its roles once per condition: fired keys are kept in
  ``kv_state`` under ``FIRED_KEY`` and audited as ``escalation-fired`` (under the subject its
  key names, ``proposal:<n>`` or ``rollout:<n>``, so the public log withholds the entry while
  that proposal is confidential and undisclosed). An alert about such a proposal is no role
  notification: a role may hold people to whom the proposal does not exist (a charter role of
  its own, neither coordinators nor the council), so each member of its roles who may see it
  (:func:`bot.rollout_steps.visible`) gets it as a direct message, and no one else.
- A proposal in review counts as answered by everyone the system records taking part in it
  (``participants``; the watchdogs keep the client maintainers among them): voters, authors of
  GitHub comments on its issue, raisers and resolvers of its concerns, and every actor of an
  audit entry about it (a chat or comment command, refused ones too). Not counted: its author
  keeping the issue (opening it, its form passing intake, form edits, applied or refused),
  which is bookkeeping, not a response.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from bot import release_refusals
from bot.announcements import undisclosed_secrets
from bot.github.events import RELEASE_LINE, CheckEvent, ReleaseEvent
from bot.messages import Actor
from bot.notify_plan import members
from bot.release_dates import release_report_at
from bot.rollout_moves import report
from bot.rollout_reads import checked, gate_facts
from bot.rollout_steps import locate, visible
from bot.service import Governance
from charter import watchdogs
from charter.effects import Audit, Effect, Notify
from charter.gates import GateFacts
from charter.intake import parse_activation
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Proposal
from charter.release_time import reported_already
from charter.rollout import ReadyReport
from storage import (
    check_results as check_store,
    outbox,
    proposals as repo,
    rollout_record as record_store,
    rollouts as store,
    state,
)

FIRED_KEY = "rollouts:fired-escalations"


def install_on(gov: Governance) -> None:
    gov.register_event(CheckEvent, on_check)
    gov.register_event(ReleaseEvent, on_release)
    gov.add_tick_hook(tick)


# -- GitHub events ----------------------------------------------------------------------------


def _client_of_repo(charter: Charter, repo_name: str) -> str | None:
    low = repo_name.lower()
    return next((cl.id for cl in charter.clients if (cl.repository or "").lower() == low), None)


def on_check(gov: Governance, session: Session, ev: CheckEvent, now: datetime) -> None:
    """Store a check run / suite / workflow run of a client's repository; others are ignored."""
    if _client_of_repo(gov.charter, ev.repo) is None or not ev.name or not ev.head_sha:
        return
    check_store.record_check(
        session,
        repo=ev.repo,
        head_sha=ev.head_sha,
        name=ev.name,
        kind=ev.kind,
        status=ev.status,
        conclusion=ev.conclusion,
        html_url=ev.html_url,
        at=ev.happened_at or now,
        head_branch=ev.head_branch,
    )


def on_release(gov: Governance, session: Session, ev: ReleaseEvent, now: datetime) -> None:
    """A published release in a client's repository that says ``charterbot: ready <n> <stage>``,
    dated by :func:`bot.release_dates.release_report_at`; an edit reports only the lines it added,
    each once (:func:`charter.release_time.reported_already`)."""
    client = _client_of_repo(gov.charter, ev.repo)
    if client is None:
        return
    actor = Actor(login=ev.author, surface="github", display=ev.author)
    edited = ev.action == "edited"
    had = {(int(n), s.lower()) for n, s in RELEASE_LINE.findall(ev.previous_body or "")}
    for number, stage in RELEASE_LINE.findall(ev.body):
        n, lowered = int(number), stage.lower()
        if (n, lowered) in had:  # there before this edit: judged when it came
            continue
        loaded = locate(gov, session, n, actor, now, trusted=True)
        rollout = None if isinstance(loaded, str) else loaded[1]
        if edited and rollout is not None and reported_already(rollout, client, lowered, ev.tag):
            continue  # a redelivery, or the poller read the edit first
        published = None if edited else ev.published_at  # an edit's line came later
        at = now if rollout is None else release_report_at(session, rollout, published, now)
        entry = ReadyReport(
            client, lowered, ev.tag, ev.tag, f"GitHub release {ev.tag} in {ev.repo}", ev.author, at
        )
        result = (
            loaded
            if isinstance(loaded, str)
            else report(gov, session, *loaded, entry, actor, now, source="release")
        )
        if isinstance(result, str):
            release_refusals.tell(gov, session, ev, client, n, stage, result, rollout, now)


# -- watchdogs ----------------------------------------------------------------------------------


def snapshot(gov: Governance, session: Session) -> watchdogs.Snapshot:
    states = [State.REVIEW.value, State.ACCEPTED.value, State.ROLLING_OUT.value]
    proposals = repo.listing(session, states=states)
    # Only a proposal in review is judged by who took part (no-maintainer-response): the audit
    # log, one read for all of them, is not read for the others.
    in_review = [s.proposal.number for s in proposals if s.proposal.state is State.REVIEW]
    acts = record_store.acts_on(session, in_review)
    statuses = []
    facts: dict[int, GateFacts] = {}
    for stored in proposals:
        p = stored.proposal
        statuses.append(
            watchdogs.ProposalStatus(
                number=p.number,
                track=p.track,
                state=p.state.value,
                review_started_at=p.entered_review_at,
                decided_at=p.decided_at,
                activation_at=_activation(p),
                participants=participants(
                    p, record_store.commenters(session, p.number), acts.get(p.number, ())
                ),
                charter_version=p.charter_version,
            )
        )
        facts[p.number] = gate_facts(session, p)
    live = tuple(
        checked(gov, session, r) for r in store.rollouts(session, gov.charter, active_only=True)
    )
    return watchdogs.Snapshot(tuple(statuses), live, facts)


# Audit kinds that record the issue itself: opened, its form passing intake, its form edited.
_ISSUE_KINDS = frozenset(
    {
        "proposal-opened",
        "review-started",
        "proposal-edited-in-review",
        "proposal-edited-after-voting",
    }
)


def _keeping_the_issue(act: record_store.Act, author: str) -> bool:
    """Whether ``act`` is the author keeping their own issue (an issue event, or a form edit
    the rules refused), not a response to the proposal."""
    issue = act.kind in _ISSUE_KINDS or (act.kind == "command-refused" and act.command == "edit")
    return issue and act.actor.lower() == author.lower()


def participants(
    p: Proposal, commenters: Iterable[str], acts: Iterable[record_store.Act]
) -> tuple[str, ...]:
    """Everyone recorded taking part in ``p`` (see the module rules), sorted."""
    people = {v.voter for v in p.votes} | set(commenters)
    for concern in p.concerns:
        people.add(concern.raised_by)
        if concern.resolved_by is not None:
            people.add(concern.resolved_by)
    people.update(a.actor for a in acts if not _keeping_the_issue(a, p.author))
    return tuple(sorted(people))


def _activation(p: Proposal) -> datetime | None:
    raw = p.fields.get("activation")
    if not isinstance(raw, str):
        return None
    try:
        return parse_activation(raw).at
    except ValueError:
        return None


def tick(gov: Governance, session: Session, now: datetime) -> int:
    """Notify each escalation once per condition (fired keys are remembered in kv_state)."""
    if not gov.charter.escalation:
        return 0
    alerts = watchdogs.check(snapshot(gov, session), gov.charter, now)
    fired = 0
    for alert in watchdogs.new_alerts(alerts, state.get(session, FIRED_KEY, [])):
        state.add_to_set(session, FIRED_KEY, alert.key, now)
        subject = ":".join(alert.key.split(":")[2:4]) or "escalation"
        payload = {"key": alert.key, "roles": list(alert.roles), "text": alert.text}
        effects: list[Effect] = [Audit("escalation-fired", subject, payload)]
        if not _told_privately(gov, session, subject, alert, now):
            effects.insert(0, alert)
        gov.effects(session, effects, "charterbot", now)
        fired += 1
    return fired


def _told_privately(
    gov: Governance, session: Session, subject: str, alert: Notify, now: datetime
) -> bool:
    """Whether the alert is about a confidential, undisclosed proposal (``subject``
    ``proposal:<n>`` or ``rollout:<n>``), and so went as a direct message to each member of its
    roles who may see it instead (see the module rules)."""
    area, _, number = subject.partition(":")
    if area not in ("proposal", "rollout") or not number.isdigit():
        return False
    stored = repo.load(session, int(number))
    if stored is None or not undisclosed_secrets(gov, session, [stored.proposal.number]):
        return False
    logins: dict[str, str] = {}
    for role in alert.roles:
        for login in members(gov.charter, role):
            logins.setdefault(login.lower(), login)
    for low, login in logins.items():
        if visible(gov, stored, Actor(login=login, surface="github")):
            message = {"login": login, "text": alert.text}
            key = f"direct-message:{alert.key}:{low}"
            outbox.enqueue(session, kind="direct-message", payload=message, now=now, key=key)
    return True
