"""The soak rule: a stage has soaked only with the releases it runs now.

The charter's ``soak`` on a stage reads "the previous stage must have run this long with every
client on it"; what has run is a release, so a careful release manager counts the soak per
release, not per stage. Rules:

- Two reports name the *same release* when their versions are equal (a leading ``v`` aside)
  and their refs do not tell them apart: two commit shas name one commit when one abbreviates
  the other, two tags match by name (``refs/tags/v1`` is ``v1``); a missing ref, or a sha
  against a tag, tells nothing (:func:`same_release`).
- A report *brings* a release to a stage when it is its client's first report for the stage, or
  names another release than the client's report for the stage before it (in time order);
  repeating the release a client already runs there brings nothing (:func:`brought`).
- A stage's soak clock (``Rollout.stage_entered_at``) runs while the rollout is on the stage or
  past it with every client on it: it starts when that first holds, stops when a rollback
  takes a client below the stage, and *restarts* when a report brings a new release to the
  stage (:func:`clocks`). A restarted clock is the one every reader sees: the soak gate, the
  rollout view's time to go, the go/no-go call's timing and the watchdogs.
- A go/no-go decision for a stage counts only when made at or after the latest report that
  brought a release to that stage (:func:`charter.gates.current_go_no_go`): a call held before
  it did not see that release, and a new call decides. A repeat brings nothing, so reporting
  again the release a client already reported for the stage needs no new call.
"""

from __future__ import annotations

import re
from datetime import datetime

from charter.model import Charter
from charter.rollout_facts import ReadyReport, Rollout, shown_ref

_SHA = re.compile(r"^[0-9a-f]{6,40}$")
_TAGS = "refs/tags/"


def _version(value: str) -> str:
    value = value.strip()
    return value[1:] if value[:1] in ("v", "V") and value[1:2].isdigit() else value


def _refs_differ(a: str | None, b: str | None) -> bool:
    """Whether two refs are known to name different builds (see the module rules)."""
    if a is None or b is None:
        return False
    a, b = a.strip(), b.strip()
    sha_a, sha_b = _SHA.match(a.lower()) is not None, _SHA.match(b.lower()) is not None
    if sha_a and sha_b:
        short, long = sorted((a.lower(), b.lower()), key=len)
        return not long.startswith(short)
    if sha_a or sha_b:
        return False  # a commit against a tag: the tag may point at it
    return a.removeprefix(_TAGS) != b.removeprefix(_TAGS)


def same_release(a: ReadyReport, b: ReadyReport) -> bool:
    """Whether two reports name the same release (see the module rules)."""
    return _version(a.version) == _version(b.version) and not _refs_differ(a.ref, b.ref)


def shown(report: ReadyReport, other: ReadyReport) -> str:
    """``report``'s release as told apart from ``other``: its version, and its ref too when the
    versions are the same."""
    if report.ref and _version(report.version) == _version(other.version):
        return f"{report.version}@{shown_ref(report.ref)}"
    return report.version


def replacing(new: ReadyReport, old: ReadyReport) -> str:
    """A report that replaced a release, as reasons say it: "aurora's 2.0.0 replaced 1.9.0"."""
    return f"{new.client}'s {shown(new, old)} replaced {shown(old, new)}"


def _history(rollout: Rollout, client: str, stage: str) -> list[ReadyReport]:
    """The client's reports for the stage in time order (of two at one moment, the one recorded
    later last, as :meth:`Rollout.latest_report` reads them)."""
    mine = [r for r in rollout.reports if r.client == client and r.stage == stage]
    return sorted(mine, key=lambda r: r.at)


def replaced(rollout: Rollout, report: ReadyReport) -> ReadyReport | None:
    """The other release ``report`` (one of ``rollout``'s reports) replaced: its client's report
    for the stage just before it, when that names another release (None for a first report or
    a repeat)."""
    history = _history(rollout, report.client, report.stage)
    at = next(i for i, r in enumerate(history) if r is report)
    before = history[at - 1] if at else None
    return None if before is None or same_release(before, report) else before


def brought(rollout: Rollout, stage: str) -> ReadyReport | None:
    """The latest report that brought a release to ``stage``: a client's first for it, or one
    that replaced another release (None when no client reported for it)."""
    found: list[ReadyReport] = []
    for client in dict.fromkeys(r.client for r in rollout.reports if r.stage == stage):
        history = _history(rollout, client, stage)
        pairs = zip([None, *history[:-1]], history, strict=True)
        found += [r for before, r in pairs if before is None or not same_release(before, r)]
    return max(found, key=lambda r: r.at, default=None)


def restart(rollout: Rollout, stage: str) -> tuple[ReadyReport, ReadyReport] | None:
    """The report, with the release it replaced, that ``stage``'s running soak clock counts
    from: one that brought a new release at the clock's start (None when the clock is stopped
    or started with no release replaced then)."""
    since = rollout.stage_entered_at.get(stage)
    latest = brought(rollout, stage)
    if since is None or latest is None or latest.at != since:
        return None
    before = replaced(rollout, latest)
    return None if before is None else (latest, before)


def counts_from(rollout: Rollout, stage: str, start: datetime) -> datetime:
    """When ``stage``'s running soak clock, started at ``start``, counts from: moved to the
    latest report that brought the stage a release, when that came later."""
    latest = brought(rollout, stage)
    return start if latest is None else max(start, latest.at)


def clocks(rollout: Rollout, charter: Charter, now: datetime) -> dict[str, datetime]:
    """The soak clocks, by stage id: a stage with the rollout on it or past it and every client
    on it keeps its clock's start (or starts it ``now``), :func:`counts_from`; every other
    stage's clock is stopped (absent)."""
    entered: dict[str, datetime] = {}
    for index, sid in enumerate(charter.stage_ids):
        if index <= rollout.stage_index and rollout.all_on(index):
            entered[sid] = counts_from(rollout, sid, rollout.stage_entered_at.get(sid, now))
    return entered
