"""Rollout repositories: the stored rollouts, where each is, and their upgrade at start.

Elsewhere: readiness reports and go/no-go (:mod:`storage.rollout_reports`), check results
(:mod:`storage.check_results`), feature flags (:mod:`storage.feature_flags`), the audit record
of a proposal (:mod:`storage.rollout_record`), incidents (:mod:`storage.incidents`).

Rules:
- ``save_rollout`` writes the whole aggregate (its stored form: :mod:`storage.rollout_json`) and
  re-derives every indexed column from it. Check results are not part of the stored aggregate
  (:mod:`storage.check_results`).
- Rollback drills are kept in the aggregate only (:mod:`storage.drills`: no table, no
  migration; a rollout stored before them reads as having none).
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
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from charter.lifecycle import TERMINAL_STATES, State
from charter.model import Charter
from charter.rollout_facts import (
    Placement,
    Rollout,
    indexed,
)
from charter.soak import counts_from
from storage.charters import adoption_at, kept_charter
from storage.models.core import ProposalRow
from storage.models.rollouts import (
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
