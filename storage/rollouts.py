"""Rollout repositories: rollouts, readiness reports, check results, flags, go/no-go (incidents:
storage.incidents).

Rules:
- ``save_rollout`` writes the whole aggregate (its stored form: :mod:`storage.rollout_json`) and
  re-derives every indexed column from it. Check results are not part of the stored aggregate:
  they live in ``check_result`` (one row per repo × head_sha × check name) and ``with_checks``
  attaches the ones a rollout's reports name.
- Rollback drills are kept in the aggregate only (:mod:`storage.drills`: no table, no
  migration; a rollout stored before them reads as having none).
- Readiness reports are appended to ``ready_report`` as well as kept in the aggregate, so the
  inventory across every rollout is one query.
- ``load_rollout(..., for_update=True)`` locks the row on PostgreSQL (SQLite's BEGIN IMMEDIATE
  already serialises writers).
- Where a rollout is (its stage, each client's) is stored by stage id with the stage list of
  the charter it was saved under (``charter.rollout_facts.Placement``), and read back as
  indexes into the charter the reader passes, the running one (``placed``): an amendment that
  inserts, drops or reorders stages moves no rollout. Rows saved before ids were kept hold
  indexes ("stage_index"); they are read as indexes into the reader's charter, as they always
  were, until :func:`keep_stage_ids` (run at start, before a new charter is adopted) rewrites
  them as ids, taking their indexes into the charter that was running when they were saved.
- A soak clock is read as it is stored. Rows saved before a report that brings a stage a new
  release restarted its clock (:func:`charter.soak.counts_from`) kept the clock's first start:
  the same upgrade at start moves such a clock to that report, once, so no read has to.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from charter.gates import GoNoGo
from charter.lifecycle import TERMINAL_STATES, State
from charter.model import Charter
from charter.rollout_facts import (
    CheckResult,
    Placement,
    ReadyReport,
    Rollout,
    indexed,
    tag_name,
)
from charter.soak import counts_from
from storage.charters import adoption_at, kept_charter
from storage.models.audit import AuditEntry
from storage.models.core import CommentRow, ProposalRow
from storage.models.rollouts import (
    CheckResultRow,
    FlagRow,
    GoNoGoRow,
    ReadyReportRow,
    RolloutRow,
)
from storage.rollout_json import (
    placement_json,
    rollout_from_json,
    rollout_to_json,
    stored_placement,
    stored_rollout,
)
from storage.times import aware

# -- rollouts -------------------------------------------------------------------------------


def load_rollout(
    session: Session, proposal: int, charter: Charter, *, for_update: bool = False
) -> Rollout | None:
    """The rollout of ``proposal``, its stages as indexes into ``charter`` (the running one)."""
    stmt = select(RolloutRow).where(RolloutRow.proposal == proposal)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.exec(stmt).first()
    return None if row is None else rollout_from_json(row.data, charter)


def save_rollout(session: Session, rollout: Rollout, charter: Charter, now: datetime) -> None:
    row = session.get(RolloutRow, rollout.proposal)
    if row is None:
        row = RolloutRow(
            proposal=rollout.proposal,
            stage="",
            started_at=rollout.started_at,
            updated_at=now,
            data="",
        )
    row.stage = rollout.stage_name(charter)
    row.paused = rollout.paused
    row.confidential = rollout.confidential
    row.completed_at = rollout.completed_at
    row.updated_at = now
    row.data = rollout_to_json(rollout, charter)
    session.add(row)


# Final states in which a rollout is over though it never completed: rolled back for good (no
# report, advance or rollback applies any more: bot.rollouts), or left some other final way.
# Not ``completed``: a rollback after completion reopens the rollout, which moves again while
# the proposal stays completed (bot.rollout_lifecycle); its ``completed_at`` says whether it is
# under way.
ENDED_STATES = frozenset(s.value for s in TERMINAL_STATES - {State.COMPLETED})


def _rows(session: Session, *, active_only: bool) -> Sequence[RolloutRow]:
    stmt = select(RolloutRow).order_by(col(RolloutRow.proposal))
    if active_only:
        over = select(ProposalRow.number).where(col(ProposalRow.state).in_(sorted(ENDED_STATES)))
        stmt = stmt.where(col(RolloutRow.completed_at).is_(None))
        stmt = stmt.where(col(RolloutRow.proposal).not_in(over))
    return session.exec(stmt).all()


def rollouts(session: Session, charter: Charter, *, active_only: bool = False) -> list[Rollout]:
    """Every rollout, oldest proposal first, its stages as indexes into ``charter``;
    ``active_only``: those still under way, i.e. not completed and not of a proposal in a final
    state where it is over (``ENDED_STATES``)."""
    return [rollout_from_json(row.data, charter) for row in _rows(session, active_only=active_only)]


def placements(session: Session, charter: Charter) -> dict[int, Placement]:
    """Where each rollout under way is, by stage id (a row that still keeps indexes: into
    ``charter``), by proposal."""
    rows = _rows(session, active_only=True)
    return {row.proposal: stored_placement(json.loads(row.data), charter) for row in rows}


def keep_stage_ids(session: Session, charter: Charter) -> list[int]:
    """Upgrade every stored row, once, to what this code keeps (run at start; see the module
    rules). A row that still keeps stage indexes is rewritten with stage ids: its indexes are
    into the charter running when it was last saved (at ``updated_at``:
    ``storage.charters.adoption_at``, ``kept_charter``), or, when that one's text is not kept
    as it was, into ``charter`` (the running one, as such rows were read before). A soak clock
    that started before the latest report that brought its stage a release is moved to that
    report (:func:`_caught_up`). ``updated_at`` is left as it is: where the rollout is does not
    change. Returns the proposals rewritten with stage ids."""
    done, loaded = [], dict[tuple[int, str], Charter | None]()  # each kept text parsed once
    for row in _rows(session, active_only=False):
        d = json.loads(row.data)
        indexes, clocks = "stage_index" in d, _caught_up(d)
        if not indexes and not clocks:
            continue
        if indexes:
            under = _saved_under(session, aware(row.updated_at), loaded) or charter
            d.update(placement_json(indexed(d.pop("stage_index"), d["positions"], under.stage_ids)))
            done.append(row.proposal)
        d["stage_entered_at"] |= clocks
        row.data = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        session.add(row)
    return done


def _saved_under(
    session: Session, at: datetime, loaded: dict[tuple[int, str], Charter | None]
) -> Charter | None:
    """The charter running ``at`` when its text is kept as it was (``loaded``: those read)."""
    adopted = adoption_at(session, at)
    if adopted is None:
        return None
    if adopted not in loaded:
        loaded[adopted] = kept_charter(session, *adopted)
    return loaded[adopted]


def _caught_up(d: Mapping[str, Any]) -> dict[str, str]:
    """The soak clocks of the stored rollout ``d`` that :func:`charter.soak.counts_from` moves,
    as stored: a row saved before that rule kept a clock's first start when a later report
    brought its stage a new release."""
    if not d["stage_entered_at"]:  # no clock runs: no need to read the reports
        return {}
    rollout = stored_rollout(d)
    moved = {s: counts_from(rollout, s, at) for s, at in rollout.stage_entered_at.items()}
    return {s: at.isoformat() for s, at in moved.items() if at != rollout.stage_entered_at[s]}


# -- readiness reports ------------------------------------------------------------------------


def add_ready_report(session: Session, proposal: int, report: ReadyReport, source: str) -> None:
    session.add(
        ReadyReportRow(
            proposal=proposal,
            client=report.client,
            stage=report.stage,
            version=report.version,
            ref=report.ref,
            notes=report.notes,
            reported_by=report.reported_by,
            source=source,
            at=report.at,
        )
    )


def ready_reports(
    session: Session, *, proposal: int | None = None
) -> list[tuple[int, ReadyReport]]:
    """(proposal, report) in the order they were made; every proposal when ``proposal`` is None."""
    stmt = select(ReadyReportRow).order_by(col(ReadyReportRow.at), col(ReadyReportRow.id))
    if proposal is not None:
        stmt = stmt.where(ReadyReportRow.proposal == proposal)
    return [
        (
            r.proposal,
            ReadyReport(r.client, r.stage, r.version, r.ref, r.notes, r.reported_by, aware(r.at)),
        )
        for r in session.exec(stmt).all()
    ]


# -- check results ------------------------------------------------------------------------------


def record_check(
    session: Session,
    *,
    repo: str,
    head_sha: str,
    name: str,
    kind: str,
    status: str,
    conclusion: str | None,
    html_url: str,
    at: datetime,
    head_branch: str | None = None,
) -> bool:
    """Store the latest event of a check run, keyed by (repo, head_sha, name); ``at`` is when
    the run reached ``status``.

    Rule: an event older than the stored one is a late delivery and changes nothing (a re-run's
    failure must not be undone by the first run's success arriving after it); at the same
    instant a run that has not concluded does not replace one that has (a check may start and
    finish within the second GitHub's times resolve). Returns whether the event was stored."""
    repo, head_sha = repo.lower(), head_sha.lower()
    stmt = (
        select(CheckResultRow)
        .where(CheckResultRow.repo == repo)
        .where(CheckResultRow.head_sha == head_sha)
        .where(CheckResultRow.name == name)
    )
    row = session.exec(stmt).first()
    if row is not None and _stale(aware(row.at), row.conclusion, at, conclusion):
        return False
    if row is None:
        row = CheckResultRow(
            repo=repo, head_sha=head_sha, name=name, kind=kind, status=status, at=at
        )
    row.head_branch = head_branch or row.head_branch
    row.kind, row.status, row.conclusion, row.html_url, row.at = (
        kind,
        status,
        conclusion,
        html_url,
        at,
    )
    session.add(row)
    return True


def _stale(stored_at: datetime, stored: str | None, at: datetime, conclusion: str | None) -> bool:
    return at < stored_at or (at == stored_at and stored is not None and conclusion is None)


def with_checks(session: Session, rollout: Rollout, repos: Mapping[str, str]) -> Rollout:
    """The rollout with the check results on every ref its reports name (``repos``: client →
    owner/name): the runs on a commit the ref names (its sha, abbreviated or not), and for a
    tag the runs its push started (``head_branch``: ``charter.rollout_facts.tag_name``). A
    branch's runs are never taken (a later commit's would count for the release)."""
    found: dict[int, CheckResult] = {}
    wanted = {(r.client, r.ref) for r in rollout.reports if r.ref}
    for client, ref in sorted(wanted):
        repo = repos.get(client)
        if repo is None:
            continue
        named = col(CheckResultRow.head_sha).startswith(ref.lower(), autoescape=True)
        tag = tag_name(ref)  # a run its tag's push started; a branch's runs never count
        if tag is not None:
            named = sa.or_(named, col(CheckResultRow.head_branch) == tag)
        stmt = select(CheckResultRow).where(CheckResultRow.repo == repo.lower()).where(named)
        for row in session.exec(stmt).all():
            assert row.id is not None
            found[row.id] = CheckResult(
                client, row.name, row.head_sha, row.conclusion, aware(row.at), row.head_branch
            )
    return replace(rollout, checks=tuple(found[k] for k in sorted(found)))


# -- feature flags ----------------------------------------------------------------------------


def register_flag(
    session: Session, proposal: int, client: str, name: str, *, by: str, at: datetime
) -> bool:
    """Add a registry entry (state ``on``); False when it is already there."""
    if session.get(FlagRow, (proposal, client, name)) is not None:
        return False
    session.add(
        FlagRow(
            proposal=proposal,
            client=client,
            name=name,
            state="on",
            changed_at=at,
            changed_by=by,
            reason="registered when the rollout started",
        )
    )
    return True


def flags(session: Session, *, name: str | None = None) -> list[FlagRow]:
    stmt = select(FlagRow).order_by(col(FlagRow.name), col(FlagRow.proposal), col(FlagRow.client))
    if name is not None:
        stmt = stmt.where(FlagRow.name == name)
    return list(session.exec(stmt).all())


def switch_flag(
    session: Session, row: FlagRow, state: str, *, by: str, reason: str, at: datetime
) -> None:
    row.state, row.changed_by, row.reason, row.changed_at = state, by, reason, at
    session.add(row)


# -- go/no-go -----------------------------------------------------------------------------------


def record_go_no_go(session: Session, decision: GoNoGo, note: str = "") -> None:
    session.add(
        GoNoGoRow(
            proposal=decision.proposal,
            stage=decision.stage,
            decision=decision.decision,
            by=decision.by,
            note=note,
            at=decision.at,
        )
    )


def go_no_go(session: Session, proposal: int) -> tuple[GoNoGo, ...]:
    stmt = select(GoNoGoRow).where(GoNoGoRow.proposal == proposal).order_by(col(GoNoGoRow.id))
    return tuple(
        GoNoGo(r.proposal, r.stage, "go" if r.decision == "go" else "no-go", r.by, aware(r.at))
        for r in session.exec(stmt).all()
    )


# -- the record ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    """One audit entry about a proposal, as far as who did what: the actor as the log writes
    it (a verified login, else ``surface:id``), the entry's kind and, for a command the rules
    refused, which command (``payload.command``)."""

    actor: str
    kind: str
    command: str | None = None


def audit_lines(session: Session, subjects: Sequence[str], *, limit: int = 500) -> list[str]:
    """The audit entries about ``subjects``, oldest first, one readable line each."""
    stmt = (
        select(AuditEntry)
        .where(col(AuditEntry.subject).in_(list(subjects)))
        .order_by(col(AuditEntry.seq))
        .limit(limit)
    )
    return [
        f"{aware(e.at):%Y-%m-%d %H:%M} UTC #{e.seq} {e.kind} ({e.subject}) by {e.actor}"
        for e in session.exec(stmt).all()
    ]


def acts_on(session: Session, proposals: Collection[int]) -> dict[int, list[Act]]:
    """What the audit log records people doing about each of ``proposals`` (entries with subject
    ``proposal:<n>``: commands, refused ones too, issue events), oldest first; a proposal with
    no entry is left out."""
    subjects = {f"proposal:{n}": n for n in proposals}
    found: dict[int, list[Act]] = {}
    if not subjects:
        return found
    stmt = (
        select(
            col(AuditEntry.subject),
            col(AuditEntry.actor),
            col(AuditEntry.kind),
            col(AuditEntry.payload),
        )
        .where(col(AuditEntry.subject).in_(list(subjects)))
        .order_by(col(AuditEntry.seq))
    )
    for subject, actor, kind, payload in session.exec(stmt).all():
        command = json.loads(payload).get("command") if kind == "command-refused" else None
        act = Act(actor, kind, command if isinstance(command, str) else None)
        found.setdefault(subjects[subject], []).append(act)
    return found


def commenters(session: Session, proposal: int) -> list[str]:
    """Logins that commented on a proposal's issue (the watchdogs count them as responses)."""
    stmt = (
        select(CommentRow.author)
        .where(CommentRow.proposal == proposal)
        .where(col(CommentRow.deleted).is_(False))
        .distinct()
    )
    return list(session.exec(stmt).all())
