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
- A drill counts only while it rehearsed the release the client runs there (:func:`stale`):
  every report of the client for the stage since the one it rehearsed names the same release
  (:func:`charter.soak.same_release`: the same version, and the same ref when both name one,
  so reporting the release again, or again with its commit ref, keeps the drill; another
  version or another ref voids it), and the client is still on that stage or past it (a drill
  is only reported while the client is on the stage, and a report is the only way back onto it
  after a rollback, so a client below it was rolled back from it since). A report that voids
  a drill says so (:func:`voided`).
- A planned drill (``drill schedule``) is shown until a drill of its client on its stage is
  reported at or after it was planned, or the rollout completes; a later plan replaces an
  earlier one (:func:`planned`). It is a reminder for people, never a fact a gate reads.
- Views keep why a drill failed, or the limit a slow one exceeded, in sight under its score
  (:func:`why`, :func:`mark`; chat says it with :func:`mark_of`), announcements included
  (:func:`marked`), since the gate stops saying it once passed or overridden.
- The gate (:func:`gate`) passes when every client of the rollout has a drill that counts and
  scores ``pass``; its reason names each client that has none, an outdated one, a failed or a
  slow one, in the plain words of the other gates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

from charter import soak
from charter.model import Charter, DrillRequirement, Stage, format_compound
from charter.rollout_facts import DrillReport, Matrix, PlannedDrill, Rollout

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
    """Why ``drill`` (on a stage of ``charter``) no longer counts, None while it does: another
    release reported for its stage since the one it rehearsed (:func:`_replaced`), or its
    client since rolled back below the stage."""
    replaced = _replaced(rollout, drill)
    if replaced is not None:
        return replaced
    if rollout.position(drill.client) < charter.stage_ids.index(drill.stage):
        return f"{drill.client} was rolled back from {drill.stage} after its rollback drill there"
    return None


def _replaced(rollout: Rollout, drill: DrillReport) -> str | None:
    """Why the release the drill rehearsed is no longer the one its client runs on the stage:
    the drill rehearsed the client's latest report for the stage at its moment (of the version
    it kept, when it kept one: a report at the very moment of the drill may have come after
    it), and every report since must name the same release as it and as each other
    (:func:`charter.soak.same_release`: the same version, and the same ref when both name one,
    so a report adding the ref keeps the drill). None while they all do."""
    mine = (r for r in rollout.reports if r.client == drill.client and r.stage == drill.stage)
    history = sorted(mine, key=lambda r: r.at)  # of two at one moment, the later recorded last
    rehearsed = [
        i
        for i, r in enumerate(history)
        if r.at <= drill.at and (not drill.release or r.version == drill.release)
    ]
    who = f"{drill.client}'s rollback drill on {drill.stage}"
    if not rehearsed:  # reported before any release it could rehearse (none: nothing to say)
        return (
            f"{who} was before its release {history[0].version} was reported there"
            if history
            else None
        )
    since = history[rehearsed[-1] :]
    for j, later in enumerate(since):
        other = next((e for e in since[:j] if not soak.same_release(e, later)), None)
        if other is not None:
            was, now = soak.shown(other, later), soak.shown(later, other)
            return f"{who} was of {was}, and {now} was reported there since"
    return None


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
    planned and the rollout has not completed; None otherwise."""
    plans = [p for p in rollout.planned_drills if p.client == client and p.stage == stage]
    if not plans or rollout.completed_at is not None:
        return None
    latest = plans[-1]
    done = rollout.latest_drill(client, stage)
    return None if done is not None and done.at >= latest.planned_at else latest


def recovery(drill: DrillReport) -> str:
    """How a drill ended, in words: "recovered in 12m" or "failed: <what went wrong>"."""
    if drill.recovered is None:
        return f"failed: {drill.notes}"
    return f"recovered in {format_compound(drill.recovered)}"


def problem(
    rollout: Rollout, charter: Charter, client: str, required: DrillRequirement
) -> str | None:
    """Why ``client``'s drill does not pass ``required`` (None when it does): it has none on
    the stage, or one outdated, failed or slow."""
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
        took, allowed = format_compound(drill.recovered or timedelta(0)), required.recover_within
        return (
            f"{client}'s rollback drill on {on} took {took} (the charter allows"
            f" {format_compound(allowed)})"
        )
    return None


def gate(stage: Stage, rollout: Rollout, charter: Charter) -> tuple[bool, str]:
    """Whether every client's drill on the stage ``stage.require_drill`` names counts and
    passes, and why (:mod:`charter.gates` words it as the ``require_drill`` gate)."""
    required = stage.require_drill
    if required is None:
        return True, f"no rollback drill required before {stage.id}"
    problems = [
        p for c in rollout.clients if (p := problem(rollout, charter, c, required)) is not None
    ]
    if problems:
        return False, "; ".join(problems)
    within = format_compound(required.recover_within)
    return True, f"every client's rollback drill on {required.stage} recovered within {within}"


def voided(before: Rollout, after: Rollout, charter: Charter, client: str) -> tuple[str, ...]:
    """What a report of ``client`` (``before`` -> ``after``) did to its drills: for each stage
    where its latest drill counted before and no longer does, "<client>'s rollback drill on
    <stage> no longer counts: drill again", in the charter's stage order."""
    return tuple(
        f"{client}'s rollback drill on {stage} no longer counts: drill again"
        for stage in charter.stage_ids
        if (drill := after.latest_drill(client, stage)) is not None
        and stale(before, drill, charter) is None
        and stale(after, drill, charter) is not None
    )


WHY_LIMIT = 80  # characters of what went wrong a matrix cell shows; the view keeps it whole


def shorten(text: str, limit: int = WHY_LIMIT) -> str:
    """``text`` on one line, at most ``limit`` characters: cut at the last word boundary in its
    second half (else mid-word) and ended with "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.") + "…"


def why(found: Standing) -> str:
    """What a matrix cell says under a drill's score, so that it stays in view after the gate
    is passed or overridden: what went wrong for a failed drill (:func:`shorten`), the limit a
    slow one exceeded ("the charter allows 30m"), nothing for a pass."""
    if found.outcome == "fail":
        return shorten(found.drill.notes)
    if found.outcome == "slow":  # scored slow only against a limit
        return f"the charter allows {format_compound(found.limit or timedelta(0))}"
    return ""


def mark(found: Standing) -> str:
    """How a matrix cell says a drill in text (:func:`mark_of` on its parts)."""
    took = found.drill.recovered
    return mark_of(
        found.outcome, None if took is None else format_compound(took), why(found), found.counts
    )


def mark_of(outcome: str, took: str | None, reason: str | None, counts: bool) -> str:
    """How a matrix cell says a drill in text, from its score, how long recovery took (as
    written, None: it did not recover), :func:`why` and whether it counts: "drill=pass 12m",
    "drill=fail (what went wrong)", "drill=slow 45m (the charter allows 30m)", "… (outdated)".
    Chat and announcements both say it so: what went wrong stays in view once the gate no
    longer shows it (passed or overridden)."""
    said = f"drill={outcome}" + (f" {took}" if took else "") + (f" ({reason})" if reason else "")
    return said if counts else f"{said} (outdated)"


def marked(table: Matrix, rollout: Rollout, charter: Charter) -> Matrix:
    """``table`` with each cell's latest rollback drill (:func:`mark`) and a drill planned
    there (:func:`planned`), as announcements show the matrix."""
    cells = {}
    for (client, stage), cell in table.cells.items():
        found = standing(rollout, charter, client, stage)
        plan = planned(rollout, client, stage)
        parts = (
            "" if found is None else mark(found),
            "" if plan is None else f"drill planned {plan.at:%Y-%m-%d %H:%M} UTC",
        )
        cells[(client, stage)] = replace(cell, drill=" ".join(p for p in parts if p))
    return replace(table, cells=cells)
