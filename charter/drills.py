"""Rollback drills: how a drill scores, whether it still counts, and the ``require_drill`` gate.

Before an upgrade reaches a stage that requires it (``Stage.require_drill``), each client team
rehearses rolling the upgrade back on an earlier stage: it runs the new release there, reverts
to the one before and times how long until the node is healthy again (a
:class:`~charter.rollout_facts.DrillReport`).

Rules:

- Score (:func:`score`): ``pass`` when the node recovered within the limit, ``slow`` when it
  recovered but took longer, ``fail`` when it did not recover (a failed drill always says what
  went wrong). The limit of a drill stage is the strictest ``recover_within`` of the stages
  that require a drill on it (:func:`limit_for`); with none, a recovery is a ``pass``.
- The latest drill of a client on a stage is the one that counts (:meth:`Rollout.latest_drill`).
- A drill counts only while it rehearsed the release the client runs there (:func:`stale`): it
  was reported at or after the client's latest release report for the stage, and of that
  report's version when it kept the one it rehearsed (a drill of an older release rehearsed
  something else), and the client is still on that stage or past it
  (a drill is only reported while the client is on the stage, and a report is the only way
  back onto it after a rollback, so a client below it was rolled back from it since).
- A planned drill (``drill schedule``) is shown until a drill of its client on its stage is
  reported at or after it was planned; a later plan replaces an earlier one (:func:`planned`).
  It is a reminder for people, never a fact a gate reads.
- The gate (:func:`gate`) passes when every client of the rollout has a drill that counts and
  scores ``pass``; its reason names each client that has none, an outdated one, a failed or a
  slow one, in the plain words of the other gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from charter.model import Charter, DrillRequirement, Stage, format_duration
from charter.rollout_facts import DrillReport, PlannedDrill, Rollout

Outcome = Literal["pass", "slow", "fail"]


def score(recovered: timedelta | None, limit: timedelta | None) -> Outcome:
    """``fail`` with no recovery; ``slow`` when it took longer than ``limit``; else ``pass``."""
    if recovered is None:
        return "fail"
    if limit is not None and recovered > limit:
        return "slow"
    return "pass"


def limit_for(charter: Charter, stage: str) -> DrillRequirement | None:
    """The strictest requirement of a drill on ``stage`` (the smallest ``recover_within`` among
    the stages that require one there), or None when no stage requires a drill on it."""
    found = [
        s.require_drill
        for s in charter.rollout.stages
        if s.require_drill is not None and s.require_drill.stage == stage
    ]
    return min(found, key=lambda r: r.recover_within, default=None)


def requiring(charter: Charter, stage: str) -> tuple[str, ...]:
    """The stages that require a rollback drill on ``stage``, in the charter's order."""
    return tuple(
        s.id
        for s in charter.rollout.stages
        if s.require_drill is not None and s.require_drill.stage == stage
    )


def stale(rollout: Rollout, drill: DrillReport, charter: Charter) -> str | None:
    """Why ``drill`` (on a stage of ``charter``) no longer counts, None while it does: a
    release reported for its stage after it, or its client since rolled back below the stage."""
    report = rollout.latest_report(drill.client, drill.stage)
    if report is not None and (report.at > drill.at or _another(drill, report.version)):
        return (
            f"{drill.client}'s rollback drill on {drill.stage} was before its release"
            f" {report.version} was reported there"
        )
    if rollout.position(drill.client) < charter.stage_ids.index(drill.stage):
        return f"{drill.client} was rolled back from {drill.stage} after its rollback drill there"
    return None


def _another(drill: DrillReport, version: str) -> bool:
    """A release other than the one the drill rehearsed (known when it kept it): a report at
    the very moment of the drill may still have come after it."""
    return bool(drill.release) and drill.release != version


@dataclass(frozen=True)
class Standing:
    """A client's latest drill on a stage as views show it: its score against ``limit`` and,
    when it no longer counts, why (``stale``)."""

    drill: DrillReport
    outcome: Outcome
    limit: timedelta | None
    stale: str | None

    @property
    def counts(self) -> bool:
        return self.stale is None


def standing(rollout: Rollout, charter: Charter, client: str, stage: str) -> Standing | None:
    """The client's latest drill on ``stage``, scored by :func:`limit_for`; None without one."""
    drill = rollout.latest_drill(client, stage)
    if drill is None:
        return None
    required = limit_for(charter, stage)
    limit = None if required is None else required.recover_within
    return Standing(drill, score(drill.recovered, limit), limit, stale(rollout, drill, charter))


def planned(rollout: Rollout, client: str, stage: str) -> PlannedDrill | None:
    """The client's latest planned drill on ``stage`` while no drill was reported since it was
    planned; None otherwise."""
    plans = [p for p in rollout.planned_drills if p.client == client and p.stage == stage]
    if not plans:
        return None
    latest = plans[-1]
    done = rollout.latest_drill(client, stage)
    return None if done is not None and done.at >= latest.planned_at else latest


def recovery(drill: DrillReport) -> str:
    """How a drill ended, in words: "recovered in 12m" or "failed: <what went wrong>"."""
    if drill.recovered is None:
        return f"failed: {drill.notes}"
    return f"recovered in {format_duration(drill.recovered)}"


def _problem(
    rollout: Rollout, charter: Charter, client: str, required: DrillRequirement
) -> str | None:
    """Why ``client``'s drill does not pass the requirement (None when it does)."""
    on = required.stage
    drill = rollout.latest_drill(client, on)
    if drill is None:
        return f"{client} has not run a rollback drill on {on}"
    outdated = stale(rollout, drill, charter)
    if outdated is not None:
        return outdated
    outcome = score(drill.recovered, required.recover_within)
    if outcome == "fail":
        return f"{client}'s rollback drill on {on} failed: {drill.notes}"
    if outcome == "slow":
        took, allowed = format_duration(drill.recovered or timedelta(0)), required.recover_within
        return (
            f"{client}'s rollback drill on {on} took {took} (the charter allows"
            f" {format_duration(allowed)})"
        )
    return None


def gate(stage: Stage, rollout: Rollout, charter: Charter) -> tuple[bool, str]:
    """Whether every client's drill on the stage ``stage.require_drill`` names counts and
    passes, and why (:mod:`charter.gates` words it as the ``require_drill`` gate)."""
    required = stage.require_drill
    if required is None:
        return True, f"no rollback drill required before {stage.id}"
    problems = [
        p for c in rollout.clients if (p := _problem(rollout, charter, c, required)) is not None
    ]
    if problems:
        return False, "; ".join(problems)
    within = format_duration(required.recover_within)
    return True, f"every client's rollback drill on {required.stage} recovered within {within}"
