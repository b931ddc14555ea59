"""Adopting the charter at start, and whether a start may adopt it at all.

Rules:
- ``charterbot serve`` adopts the charter it is given: that is how an amendment takes effect
  (:func:`adopt_charter`). Its version only goes up (:class:`CharterVersionLowered`); changed
  content under the same version is adopted with a warning. Each version's text is kept, and
  proposals are decided by the version they were opened under.
- An amendment's stages may not move a rollout under way (:class:`CharterMovesRollouts`,
  :mod:`charter.stage_amendments`).
- The console only follows. It adopts its charter into a database that never adopted one (a
  fresh database, as ``console --demo`` creates), or when asked to (``console --adopt``). A
  database whose charter adopted last has other content (another sha256) is refused with
  :class:`CharterNotAdopted`, naming both charters and how to go on: a console that adopted
  silently changed the rules the server's votes are decided by, and counted votes the
  server's charter forbids.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.charter_file import example_charter_path
from charter.lifecycle import OPEN_STATES
from charter.load import CharterInvalid, LoadedCharter, load_charter
from charter.model import Charter, keeping
from charter.stage_amendments import moves, passed_new
from storage import audit, charters, proposals as repo, rollouts as rollout_store
from storage.db import read_scope, session_scope

log = logging.getLogger("charterbot")


class CharterNotAdopted(Exception):
    """The database follows another charter than the one given, and this start may not adopt
    it (the console without ``--adopt``)."""


def refuse_other_charter(session: Session, loaded: LoadedCharter) -> None:
    """Raise :class:`CharterNotAdopted` when the database adopted a charter whose content is
    not ``loaded``'s; nothing when it adopted none or this very one."""
    last = audit.last_of_kind(session, charters.KIND)
    if last is None:
        return
    adopted: dict[str, Any] = json.loads(last.payload)
    if adopted.get("sha256") == loaded.sha256:
        return
    raise CharterNotAdopted(other_charter(adopted, loaded))


def other_charter(adopted: dict[str, Any], loaded: LoadedCharter) -> str:
    """The refusal: what the database follows (its ``charter-adopted`` payload), what the
    console was given, and the two ways on."""
    sha = str(adopted.get("sha256") or "?")[:12]
    follows = f"charter v{adopted.get('version', '?')} (sha256 {sha}…, adopted from"
    follows += f" {adopted.get('source') or 'an unknown file'})"
    source = loaded.source
    if Path(source) == example_charter_path():
        source += ", the bundled example, used when CHARTERBOT_CHARTER is not set"
    given = f"charter v{loaded.charter.version} (sha256 {loaded.sha256[:12]}…, {source})"
    return (
        f"the database follows {follows}, but the console was given {given}: the console does"
        " not change the rules a database follows. Set CHARTERBOT_CHARTER (or --charter) to"
        " the charter the database follows; or, to adopt this charter on purpose (its"
        " proposals are then decided by it), start `charterbot serve` with it or run"
        " `charterbot console --adopt`"
    )


class CharterVersionLowered(Exception):
    """The charter's version is below the one adopted last: refused at start (a lower version
    would reuse numbers proposals were already decided under)."""


class CharterMovesRollouts(Exception):
    """The charter's stages would move a rollout under way: refused at start
    (:mod:`charter.stage_amendments`)."""


def adopt_charter(
    engine: Engine, loaded: LoadedCharter, now: datetime, *, adopt_other: bool = True
) -> LoadedCharter:
    """Record the running charter (audit entry when its content is new, its text kept for its
    version) and return it answering for every earlier version the store kept, so proposals
    are decided by the version they were opened under (charter.proposal.rules_for). A version
    lower than the last adopted one raises :class:`CharterVersionLowered`; changed content
    under the same version is adopted with a warning. Without ``adopt_other`` (the console),
    content other than the adopted one's raises :class:`CharterNotAdopted`.
    Stored rollouts that still keep stage indexes are rewritten with stage ids first
    (``storage.rollouts.keep_stage_ids``); stages that would move a rollout under way raise
    :class:`CharterMovesRollouts`."""
    version = loaded.charter.version
    with session_scope(engine) as session:
        # The audit lock first, as every appender takes it before the rows it then changes
        # (an incident command appends, then pauses rollouts): upgrading rollout rows first
        # and appending the adoption second was the opposite order, a deadlock on PostgreSQL
        # when a replica started while such a command ran.
        audit.lock(session)
        previous = charters.adopted_version(session)
        if previous is not None and version < previous:
            raise CharterVersionLowered(
                f"the charter {loaded.source} is version {version}, lower than version"
                f" {previous} adopted before: a charter's version only goes up (proposals are"
                f" decided by the version they were opened under); start with the v{previous}"
                f" charter, or raise charter.version above {previous} for an amendment"
            )
        if not adopt_other:
            refuse_other_charter(session, loaded)
        passed = _rollouts_stay(session, loaded, previous)
        if charters.adopt(session, loaded.sha256, version, loaded.source, now, loaded.text):
            log.info("adopted charter v%s (%s)", version, loaded.sha256[:12])
            for line in passed:
                log.warning("%s", line)
            if previous == version:
                log.warning(
                    "the charter's content changed but its version (%s) was not raised above"
                    " %s: proposals opened under v%s now follow the new text; raise"
                    " charter.version for an amendment",
                    version,
                    previous,
                    version,
                )
        kept = charters.version_texts(session)
    earlier: dict[int, Charter] = {}
    for number, text in kept.items():
        if number == version:
            continue
        try:
            earlier[number] = load_charter(text, f"charter v{number} (kept)", kept=True).charter
        except CharterInvalid as exc:
            log.warning(
                "kept charter v%s no longer loads, its proposals follow v%s: %s",
                number,
                version,
                exc,
            )
    _warn_unkept(engine, version, earlier)
    return replace(loaded, charter=keeping(loaded.charter, earlier))


def _rollouts_stay(session: Session, loaded: LoadedCharter, previous: int | None) -> list[str]:
    """Refuse ``loaded`` when its stages would move a rollout under way (raise
    :class:`CharterMovesRollouts`, every problem with what to do); else the lines to log once
    it is adopted: new stages a rollout counts as passed, for it does not run there."""
    rewritten = rollout_store.keep_stage_ids(session, loaded.charter)
    if rewritten:
        log.info("rollouts %s now kept by stage id", ", ".join(f"#{n}" for n in rewritten))
    stages, problems, passed = loaded.charter.stage_ids, list[str](), list[str]()
    for n, where in rollout_store.placements(session, loaded.charter).items():
        problems += moves(n, where, stages)
        if new := passed_new(where, stages):
            stages_new = f"{', '.join(new)} (new in this charter)"
            passed.append(f"#{n} is already past {stages_new}: it does not run there")
    if problems:
        running = f"the v{previous} charter" if previous is not None else "the charter before"
        raise CharterMovesRollouts(
            f"the charter {loaded.source} (version {loaded.charter.version}) would move rollouts"
            " under way:\n" + "\n".join(f"- {p}" for p in problems) + "\nAn amendment may add"
            " stages anywhere, drop stages no rollout under way is on, and reorder stages that"
            " stay on the same side of every stage one is on (docs/charter-format.md,"
            f" Amendments); until these rollouts are done, start with {running}"
        )
    return passed


def _warn_unkept(engine: Engine, version: int, earlier: dict[int, Charter]) -> None:
    """Open proposals whose version's text was never kept (opened before texts were kept, and
    the charter amended since) follow the running charter: say so once, at start."""
    with read_scope(engine) as session:
        open_ = repo.listing(session, states=[s.value for s in OPEN_STATES])
    unkept = sorted({s.proposal.charter_version for s in open_} - set(earlier) - {version})
    if unkept:
        numbers = ", ".join(
            f"#{s.proposal.number}" for s in open_ if s.proposal.charter_version in unkept
        )
        log.warning(
            "the text of charter version(s) %s was never kept: open proposals %s follow v%s",
            ", ".join(map(str, unkept)),
            numbers,
            version,
        )
