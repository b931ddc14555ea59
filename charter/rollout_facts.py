"""The rollout's facts and the views built from them: the matrix and the version inventory.

Facts arrive from people (``ReadyReport``: "dorado runs 1.4.1 at abc1234 on canary") and from
GitHub (``CheckResult``: "interop-matrix on dorado@abc1234 concluded success"). ``Rollout`` is the
frozen aggregate the decisions in :mod:`charter.rollout` return new copies of. The decisions
live there; here live only the facts and the questions asked of them.

Where a rollout is (its stage, each client's) is kept by stage *id* (``Placement``): a
``Rollout`` holds indexes into the stage list of the charter it is decided under, and an
amendment that inserts, drops or reorders stages changes those indexes, never the ids.
:func:`placement` takes the ids from a rollout, :func:`placed` gives them back as indexes into
the running charter (what storage does on every write and read).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from charter.model import Charter

_SHORT_SHA = re.compile(r"^[0-9a-f]{6,40}$")


@dataclass(frozen=True)
class ReadyReport:
    """A client team's statement that a release is ready for (and running on) a stage."""

    client: str
    stage: str
    version: str
    ref: str | None  # commit sha (full or abbreviated) or tag it was built from (no branch)
    notes: str
    reported_by: str
    at: datetime


@dataclass(frozen=True)
class DrillReport:
    """A client team's rollback drill on a stage: it ran the release there, reverted to the one
    before and timed how long until the node was healthy again (``recovered``); None when it did
    not recover, ``notes`` then saying what went wrong. ``release`` is the version the drill
    rehearsed (the client's latest release reported for the stage when the drill was reported).
    Scored and judged by :mod:`charter.drills`."""

    client: str
    stage: str
    recovered: timedelta | None
    notes: str
    reported_by: str
    at: datetime
    release: str = ""


@dataclass(frozen=True)
class PlannedDrill:
    """A rollback drill a client team plans to run on a stage ``at`` (``drill schedule``),
    planned by ``by`` at ``planned_at``; shown as planned until a drill is reported."""

    client: str
    stage: str
    at: datetime
    by: str
    planned_at: datetime


@dataclass(frozen=True)
class CheckResult:
    """A GitHub check run or workflow run on a client's commit."""

    client: str
    name: str
    head_sha: str
    conclusion: str | None  # None while the run has not concluded
    at: datetime
    # The branch or tag the run was started for, as GitHub names it (``head_branch``): for a
    # run started by pushing a tag, the tag. None when GitHub sends none.
    head_branch: str | None = None


@dataclass(frozen=True)
class Override:
    stage: str
    reason: str
    by: str
    at: datetime
    gates: tuple[str, ...] = ()  # the failing gates it passed


@dataclass(frozen=True)
class RollbackRecord:
    clients: tuple[str, ...]
    reason: str
    by: str
    at: datetime


_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")
_TAGS = "refs/tags/"


def shown_ref(ref: str) -> str:
    """A ref as views show it: a commit sha (7 to 40 hex digits) abbreviated to 12, as git
    abbreviates; a tag or branch (``v1.0.0``, ``refs/tags/v1.0.0``) whole, since a tag cut short
    names another one (``refs/tags/v1``)."""
    return ref[:12] if _COMMIT.match(ref) else ref


def ref_beside(version: str, ref: str | None) -> str | None:
    """The ref shown beside a version, as views show it (:func:`shown_ref`), or None: when
    there is none, or when it only names the version's own tag (a GitHub release reports its
    tag as both, and ``v1.0.0@v1.0.0`` tells nothing twice)."""
    if not ref or tag_name(ref) == version:
        return None
    return shown_ref(ref)


def version_at(version: str, ref: str | None) -> str:
    """A release as views write it: ``1.2.0@0123456789ab``, or the version alone when the ref
    adds nothing (:func:`ref_beside`)."""
    beside = ref_beside(version, ref)
    return version if beside is None else f"{version}@{beside}"


def tag_name(ref: str) -> str | None:
    """The tag a ref names, as GitHub's ``head_branch`` names the tag whose push started a
    run: ``refs/tags/v1.0.0`` and a bare ``v1.0.0`` (a GitHub release reports its tag so, the
    grammar reads a version-like word so) are the tag ``v1.0.0``. Any other ``refs/…`` names no
    tag (None): ``refs/heads/main`` is a branch, whose runs are any commit's pushed to it."""
    if ref.startswith(_TAGS):
        return ref[len(_TAGS) :]
    return None if ref.startswith("refs/") else ref


def moving_ref(ref: str | None) -> str | None:
    """Why a release may not be reported by ``ref`` (None when it may: a commit sha, a tag, or
    no ref): a branch (``refs/heads/…``) or any other ``refs/…`` that is not a tag moves on to
    later commits, and their check runs would count for this release."""
    if ref is None or not ref.startswith("refs/") or ref.startswith(_TAGS):
        return None
    what = "a branch" if ref.startswith("refs/heads/") else "not a tag"
    return (
        f"{ref} is {what}: it moves on to later commits, whose check runs would count for this"
        " release; report the release by its commit sha or its tag (refs/tags/<tag>)"
    )


def ref_matches(ref: str, head_sha: str, head_branch: str | None = None) -> bool:
    """A reported ref names the run's commit exactly or as an abbreviated sha (6+ hex digits),
    or is the very tag the run was started for (a release reports its tag, and the workflow
    its tag push started carries that tag as ``head_branch``; names match exactly, a fully
    qualified ``refs/tags/<tag>`` by its short name, which is what ``head_branch`` holds).

    A branch never matches by name: ``head_branch`` is also the branch a run was pushed to, so
    ``refs/heads/main`` would take the runs of every later commit on main (:func:`tag_name`;
    a report by branch is refused, :func:`moving_ref`)."""
    tag = tag_name(ref)
    if head_branch is not None and tag is not None and tag == head_branch:
        return True
    ref, sha = ref.lower(), head_sha.lower()
    return ref == sha or (_SHORT_SHA.match(ref) is not None and sha.startswith(ref))


@dataclass(frozen=True)
class Rollout:
    """A rollout as its decisions see it. ``stage_index`` and ``positions`` are indexes into
    the stage list of the charter it is decided under (the running one): never keep them
    across charters, keep its ``placement`` (stage ids) and read it back with :func:`placed`."""

    proposal: int
    clients: tuple[str, ...]  # the affected clients, in the order they are shown
    started_at: datetime
    stage_index: int = -1  # -1: pending (the first stage is not entered yet)
    positions: Mapping[str, int] = field(default_factory=dict)  # client -> stage index it is on
    stage_entered_at: Mapping[str, datetime] = field(default_factory=dict)  # soak clocks
    reports: tuple[ReadyReport, ...] = ()
    checks: tuple[CheckResult, ...] = ()
    pauses: tuple[tuple[str, str], ...] = ()  # (incident id or "", reason)
    overrides: tuple[Override, ...] = ()
    rollbacks: tuple[RollbackRecord, ...] = ()
    completed_at: datetime | None = None
    confidential: bool = False
    drills: tuple[DrillReport, ...] = ()  # rollback drills, in the order they were reported
    planned_drills: tuple[PlannedDrill, ...] = ()  # in the order they were planned

    @property
    def paused(self) -> bool:
        return bool(self.pauses)

    @property
    def pause_reason(self) -> str:
        return "; ".join(reason for _, reason in self.pauses)

    def position(self, client: str) -> int:
        return self.positions.get(client, -1)

    def all_on(self, index: int) -> bool:
        return all(self.position(c) >= index for c in self.clients)

    def latest_report(self, client: str, stage: str) -> ReadyReport | None:
        """The client's latest report for the stage; of two at the same moment, the later one."""
        latest: ReadyReport | None = None
        for r in self.reports:
            if r.client == client and r.stage == stage and (latest is None or r.at >= latest.at):
                latest = r
        return latest

    def latest_drill(self, client: str, stage: str) -> DrillReport | None:
        """The client's latest rollback drill on the stage; of two at one moment, the later."""
        mine = [d for d in self.drills if d.client == client and d.stage == stage]
        return mine[-1] if mine else None

    def latest_check(self, client: str, name: str, ref: str) -> CheckResult | None:
        found = (
            c
            for c in self.checks
            if c.client == client and c.name == name and ref_matches(ref, c.head_sha, c.head_branch)
        )
        return max(found, key=lambda c: c.at, default=None)

    def stage_name(self, charter: Charter, index: int | None = None) -> str:
        at = self.stage_index if index is None else index
        return "pending" if at < 0 else charter.stage_ids[at]


@dataclass(frozen=True)
class Placement:
    """Where a rollout is, by stage id: what is kept of it across charter amendments.

    ``stages`` is the stage list of the charter it was taken under; it places a stage a later
    charter no longer has (:func:`placed`)."""

    stage: str | None  # the rollout's stage; None while it is pending
    positions: Mapping[str, str | None]  # client -> the stage it is on; None: on none yet
    stages: tuple[str, ...]

    def on(self) -> tuple[str, ...]:
        """The stages the rollout or one of its clients is on, in ``stages`` order (one not
        in ``stages`` last)."""
        taken = {s for s in (self.stage, *self.positions.values()) if s is not None}
        return tuple(sorted(taken, key=lambda s: _order(self.stages, s)))

    def clients_on(self, stage: str) -> tuple[str, ...]:
        return tuple(sorted(c for c, s in self.positions.items() if s == stage))


def _order(stages: Sequence[str], stage: str) -> tuple[int, str]:
    return (stages.index(stage), "") if stage in stages else (len(stages), stage)


def indexed(stage_index: int, positions: Mapping[str, int], stages: Sequence[str]) -> Placement:
    """The placement that stage indexes into ``stages`` stand for (an index outside it: on
    no stage)."""

    def at(index: int) -> str | None:
        return stages[index] if 0 <= index < len(stages) else None

    return Placement(at(stage_index), {c: at(i) for c, i in positions.items()}, tuple(stages))


def placement(rollout: Rollout, charter: Charter) -> Placement:
    """Where ``rollout`` (decided under ``charter``) is, by stage id."""
    return indexed(rollout.stage_index, rollout.positions, charter.stage_ids)


def _index(stage: str | None, written: Sequence[str], stages: Sequence[str]) -> int:
    if stage is None:
        return -1
    if stage in stages:
        return stages.index(stage)
    before = written[: written.index(stage)] if stage in written else ()
    return next((stages.index(s) for s in reversed(before) if s in stages), -1)


def placed(rollout: Rollout, where: Placement, charter: Charter) -> Rollout:
    """``rollout`` at ``where``, as indexes into ``charter``'s stages: a stage keeps its place
    whatever stages an amendment added, dropped or moved around it.

    A stage ``charter`` no longer has (an amendment dropped it, which a start refuses while a
    rollout under way is on it: :mod:`charter.stage_amendments`, so only a finished rollout
    has one) reads as the nearest stage before it in ``where.stages`` that ``charter`` still
    has, or as none (-1). A completed rollout whose stage is gone (renamed or dropped, it was
    the last one) reads as on ``charter``'s last stage, as is every client that was on it: a
    completed rollout is on the last stage, and not one to advance from the stage before."""
    stages = charter.stage_ids

    def index(stage: str | None) -> int:
        gone = stage is not None and stage == where.stage and stage not in stages
        if gone and rollout.completed_at is not None:
            return len(stages) - 1
        return _index(stage, where.stages, stages)

    return replace(
        rollout,
        stage_index=index(where.stage),
        positions={c: index(s) for c, s in where.positions.items()},
    )


@dataclass(frozen=True)
class Cell:
    """One client on one stage: its latest release there and the stage's checks on it."""

    version: str | None = None
    ref: str | None = None
    reported_at: datetime | None = None
    checks: tuple[tuple[str, str], ...] = ()  # (check name, conclusion | "running" | "not run")
    on: bool = False  # the client is on this stage now
    drill: str = ""  # its rollback drill there, as charter.drills.marked writes it ("": none)

    def text(self) -> str:
        if self.version is None:
            return " ".join(part for part in ("—", self.drill) if part)
        head = version_at(self.version, self.ref)
        marks = " ".join(f"{name}={status}" for name, status in self.checks)
        rolled = "" if self.on else "(rolled back)"
        return " ".join(part for part in (head, marks, self.drill, rolled) if part)


@dataclass(frozen=True)
class Matrix:
    proposal: int
    stage: str  # the rollout's current stage, or "pending"
    stages: tuple[str, ...]
    clients: tuple[str, ...]
    cells: Mapping[tuple[str, str], Cell]

    def cell(self, client: str, stage: str) -> Cell:
        return self.cells[(client, stage)]

    def text(self) -> str:
        """A plain-text table, clients × stages, for announcements and replies."""
        rows = [["client", *self.stages]]
        rows += [[c, *(self.cell(c, s).text() for s in self.stages)] for c in self.clients]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        cells = (" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows)
        lines = [line.rstrip() for line in cells]
        return "\n".join([f"Rollout of #{self.proposal} — stage: {self.stage}", *lines])


def _status(check: CheckResult | None) -> str:
    if check is None:
        return "not run"
    return check.conclusion or "running"


def matrix(rollout: Rollout, charter: Charter) -> Matrix:
    """Every client × every stage: latest release, ref, time, and the stage's required checks."""
    cells: dict[tuple[str, str], Cell] = {}
    for client in rollout.clients:
        for index, stage in enumerate(charter.rollout.stages):
            report = rollout.latest_report(client, stage.id)
            if report is None:
                cells[(client, stage.id)] = Cell()
                continue
            ref = report.ref
            checks = tuple(
                (name, _status(None if ref is None else rollout.latest_check(client, name, ref)))
                for name in stage.require_checks
            )
            on = rollout.position(client) >= index
            cells[(client, stage.id)] = Cell(report.version, ref, report.at, checks, on)
    return Matrix(
        rollout.proposal, rollout.stage_name(charter), charter.stage_ids, rollout.clients, cells
    )


def inventory(rollout: Rollout) -> dict[str, dict[str, list[ReadyReport]]]:
    """Version history: per client, per stage, every report in the order it was made."""
    history: dict[str, dict[str, list[ReadyReport]]] = {c: {} for c in rollout.clients}
    for report in sorted(rollout.reports, key=lambda r: r.at):
        history.setdefault(report.client, {}).setdefault(report.stage, []).append(report)
    return history
