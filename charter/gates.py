"""Gates: what must hold before a rollout enters a stage, one pure function per gate.

Each gate answers with a ``GateResult`` whose reason says, in plain words, exactly what fails
(or why it passes), so a refusal can be shown to people as is. A stage's gates are the ones its
charter entry configures (``Stage``); ``evaluate`` runs them in the charter's order:

- ``require_ready``: every client has reported a release for the stage (and was not rolled back
  from it since).
- ``soak``: the previous stage has run ``soak`` with every client on it, counted from the time
  the last client joined it or, when later, the latest report that brought it a new release: it
  has soaked only with the releases it runs now (:mod:`charter.soak`).
- ``require_checks``: check runs (or workflow runs) of each name on each client's reported ref
  concluded ``success``; a missing or unfinished run fails.
- ``block_on_incident``: an open incident of that severity or worse that names this proposal or
  any of its clients, or names nothing, blocks. A confidential incident (its id is in
  ``GateFacts.confidential``: it names or pauses an undisclosed confidential proposal) is said
  only as "a confidential incident (<severity>) is open", with neither its id nor its summary:
  a gate's reason is shown as is in public places (chat, GitHub replies, announcements, the
  audit log, the agenda), whoever asked (:func:`incident_reason`).
- ``risk``: leaving the first stage with likelihood × impact above ``pause_above`` (or with no
  score recorded) needs an override.
- ``go_no_go``: the latest go/no-go decision for this proposal and stage made since the rollout
  last entered the stage before (when that stage's soak clock last started, or restarted with a
  new release), since the latest rollback out of the stage itself and since the latest report
  that brought the stage itself a release is "go"; a decision from before a rollback and
  re-soak, from before a client was rolled back from the stage, or from before a release it
  did not see was reported for the stage, no longer counts (:mod:`charter.go_no_go`). A failing
  reason names the stage's current call when it was cancelled by hand
  (``GateFacts.cancelled_call``) and how to go on.
- ``require_drill``: every client's latest rollback drill on the earlier stage the charter
  names counts (rehearsed the release it runs there, not rolled back since) and recovered
  within ``recover_within`` (:func:`charter.drills.gate`).
- ``prerequisites``: each client's latest release reported for the stage meets the minimum the
  proposal's form names for it (:mod:`charter.prerequisites`); it applies when the form names
  one for a client of the rollout.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from charter import drills, go_no_go as go_no_go_rule
from charter.go_no_go import (  # kept importable from here, where callers look for them
    GoNoGo as GoNoGo,
    current_go_no_go as current_go_no_go,
    rolled_back_from as rolled_back_from,
    soak_started as soak_started,
)
from charter.incident_facts import Incident, is_open, names
from charter.model import Charter, Stage
from charter.prerequisites import Minimum
from charter.risk import Assessment, needs_override
from charter.rollout_facts import Rollout
from charter.soak import replacing, restart


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    reason: str

    @property
    def line(self) -> str:
        """How a list of gates says this one (:func:`gate_line`)."""
        return gate_line(self.gate, self.reason)


# The gates whose reasons begin with a label of their own (the gate's name in words), so that a
# reason shown alone (an announcement, the audit log) still says which gate it is.
_LABEL = {"soak": "soak: ", "risk": "risk: ", "go_no_go": "go/no-go: "}


def gate_line(gate: str, reason: str) -> str:
    """A gate and its reason, the gate named once: "require_ready: aurora has not…"; a reason
    that begins with its gate's own label ("soak: …", "go/no-go: …") as it is."""
    label = _LABEL.get(gate)
    return reason if label and reason.startswith(label) else f"{gate}: {reason}"


def unlabelled(gate: str, reason: str) -> str:
    """``reason`` without its gate's own label, for a place that shows the gate's name next to
    it ("soak" and "staging has run…", not "soak" and "soak: staging has run…")."""
    return reason.removeprefix(_LABEL.get(gate, ""))


@dataclass(frozen=True)
class GateFacts:
    """What the gates need beyond the rollout itself."""

    incidents: tuple[Incident, ...] = ()
    risk: Assessment | None = None
    go_no_go: tuple[GoNoGo, ...] = ()
    minimums: Mapping[str, Minimum] = field(default_factory=dict)  # by client, from the form
    confidential: frozenset[str] = frozenset()  # ids of incidents whose summary stays private
    # The id of the next stage's current go/no-go call when it was cancelled by hand and none
    # replaces it (bot.meetings_go_no_go decides "current"); None otherwise, and where the call
    # may not be named (a private call on the public dashboard).
    cancelled_call: str | None = None


def _index(stage: Stage, charter: Charter) -> int:
    return charter.stage_ids.index(stage.id)


def require_ready(stage: Stage, rollout: Rollout, charter: Charter) -> GateResult:
    idx = _index(stage, charter)
    missing = [c for c in rollout.clients if rollout.position(c) < idx]
    if not missing:
        return GateResult(
            "require_ready", True, f"every client has reported a release for {stage.id}"
        )
    return GateResult(
        "require_ready", False, "; ".join(_not_ready(rollout, c, stage) for c in missing)
    )


def _not_ready(rollout: Rollout, client: str, stage: Stage) -> str:
    if rollout.latest_report(client, stage.id) is None:
        return f"{client} has not reported a release for {stage.id}"
    return f"{client} was rolled back from {stage.id} and has not reported for it again"


def _hours(value: timedelta, *, up: bool = False) -> int:
    seconds = max(0, int(value.total_seconds()))
    return -(-seconds // 3600) if up else seconds // 3600


def _span(hours: int, in_days: bool) -> str:
    days, rest = divmod(hours, 24)
    if not in_days:
        return f"{hours}h"
    return f"{days}d {rest}h" if rest else f"{days}d"


def soak(stage: Stage, rollout: Rollout, charter: Charter, now: datetime) -> GateResult:
    """The stage before has run ``soak`` by its clock: with every client on it, since the last
    one joined or a new release restarted it (:mod:`charter.soak`)."""
    idx = _index(stage, charter)
    if stage.soak is None or idx == 0:
        return GateResult("soak", True, f"soak: none required before {stage.id}")
    prev = charter.stage_ids[idx - 1]
    since = rollout.stage_entered_at.get(prev)
    if since is None:
        missing = ", ".join(c for c in rollout.clients if rollout.position(c) < idx - 1)
        waiting = missing or "the rollout to reach it"
        return GateResult(
            "soak",
            False,
            f"soak: {prev} has not yet run with every client on it (waiting for {waiting})",
        )
    in_days = stage.soak >= timedelta(days=7)
    ran, need = _span(_hours(now - since), in_days), _span(_hours(stage.soak), in_days)
    left = stage.soak - (now - since)
    if left <= timedelta(0):
        return GateResult(
            "soak", True, f"soak: {prev} has run {ran} of {need} with every client on it"
        )
    to_go = _span(_hours(left, up=True), in_days)
    return GateResult(
        "soak",
        False,
        f"soak: {prev} has run {ran} of {need} with every client on it ({to_go} to go"
        f"{_restarted(rollout, prev)})",
    )


def _restarted(rollout: Rollout, stage: str) -> str:
    """Since when ``stage``'s soak clock counts, when a new release (re)started it then."""
    found = restart(rollout, stage)
    return "" if found is None else f"; counted since {replacing(*found)}"


def require_checks(stage: Stage, rollout: Rollout) -> GateResult:
    if not stage.require_checks:
        return GateResult("require_checks", True, f"no checks required for {stage.id}")
    problems: list[str] = []
    for client in rollout.clients:
        report = rollout.latest_report(client, stage.id)
        if report is None:
            problems.append(f"{client} has no reported release for {stage.id} to check")
            continue
        if report.ref is None:
            problems.append(
                f"{client} reported {report.version} for {stage.id} without a commit ref"
            )
            continue
        where = f"{client}@{report.ref}"
        for name in stage.require_checks:
            run = rollout.latest_check(client, name, report.ref)
            if run is None:
                problems.append(f"{name} has not run on {where}")
            elif run.conclusion is None:
                problems.append(f"{name} on {where} has not concluded yet")
            elif run.conclusion != "success":
                problems.append(f"{name} on {where} concluded {run.conclusion}")
    if problems:
        return GateResult("require_checks", False, "; ".join(problems))
    checks = ", ".join(stage.require_checks)
    return GateResult("require_checks", True, f"{checks} passed on every client's release")


CONFIDENTIAL_INCIDENT = "a confidential incident"


def incident_reason(incident: Incident, confidential: Collection[str] = ()) -> str:
    """Why ``incident`` blocks, in words anyone may read: its id, severity and summary, or
    only its severity when its id is in ``confidential``."""
    if incident.id in confidential:
        return f"{CONFIDENTIAL_INCIDENT} ({incident.severity}) is open"
    return f"incident {incident.id} ({incident.severity}) is open: {incident.summary}"


def block_on_incident(
    stage: Stage,
    rollout: Rollout,
    incidents: Sequence[Incident],
    charter: Charter,
    confidential: Collection[str] = (),
) -> GateResult:
    threshold = stage.block_on_incident
    if threshold is None:
        return GateResult("block_on_incident", True, f"no incident blocks {stage.id}")
    blocking = [
        i
        for i in incidents
        if is_open(i)
        and charter.incidents.at_least(i.severity, threshold)
        and names(i, rollout.proposal, rollout.clients)
    ]
    if not blocking:
        return GateResult(
            "block_on_incident",
            True,
            f"no open incident of {threshold} or worse concerns this rollout",
        )
    # two confidential incidents of one severity read alike: say it once
    reasons = dict.fromkeys(incident_reason(i, confidential) for i in blocking)
    return GateResult("block_on_incident", False, "; ".join(reasons))


def risk(assessment: Assessment | None, charter: Charter) -> GateResult:
    limit = charter.rollout.risk.pause_above
    if limit is None:
        return GateResult("risk", True, "risk: the charter sets no pause point")
    who = (
        " or ".join(charter.rollout.override_roles) or "nobody (the charter names no override role)"
    )
    past = f"advancing past {charter.stage_ids[0]} needs an override by {who}"
    if assessment is None:
        return GateResult("risk", False, f"risk: likelihood and impact were not recorded; {past}")
    score = f"likelihood {assessment.likelihood} × impact {assessment.impact} = {assessment.score}"
    if needs_override(assessment.score, charter):
        return GateResult("risk", False, f"risk: {score} is above {limit}; {past}")
    return GateResult("risk", True, f"risk: {score} is within {limit}")


def go_no_go(
    stage: Stage,
    rollout: Rollout,
    decisions: Sequence[GoNoGo],
    charter: Charter | None = None,
    cancelled: str | None = None,
) -> GateResult:
    """The go/no-go gate (:func:`charter.go_no_go.gate`): the decision that counts is "go"; a
    failing reason names the current call ``cancelled`` by hand, and how to go on."""
    passed, reason = go_no_go_rule.gate(stage, rollout, decisions, charter, cancelled)
    return GateResult("go_no_go", passed, reason)


def prerequisites(stage: Stage, rollout: Rollout, minimums: Mapping[str, Minimum]) -> GateResult:
    below = []
    for client in rollout.clients:
        minimum, report = minimums.get(client), rollout.latest_report(client, stage.id)
        if minimum is not None and report is not None and minimum.admits(report.version) is False:
            below.append(f"{client} {report.version} does not meet {minimum}")
    if below:
        return GateResult("prerequisites", False, "; ".join(below))
    named = ", ".join(str(minimums[c]) for c in rollout.clients if c in minimums)
    return GateResult("prerequisites", True, f"the releases for {stage.id} meet {named}")


def require_drill(stage: Stage, rollout: Rollout, charter: Charter) -> GateResult:
    passed, reason = drills.gate(stage, rollout, charter)
    return GateResult("require_drill", passed, reason)


def evaluate(
    stage: Stage, rollout: Rollout, facts: GateFacts, charter: Charter, now: datetime
) -> tuple[GateResult, ...]:
    """Run the gates ``stage`` configures; the risk gate applies when leaving the first stage."""
    results: list[GateResult] = []
    if stage.require_ready:
        results.append(require_ready(stage, rollout, charter))
    if stage.soak is not None:
        results.append(soak(stage, rollout, charter, now))
    if stage.require_checks:
        results.append(require_checks(stage, rollout))
    if stage.block_on_incident is not None:
        results.append(
            block_on_incident(stage, rollout, facts.incidents, charter, facts.confidential)
        )
    if _index(stage, charter) == 1 and charter.rollout.risk.pause_above is not None:
        results.append(risk(facts.risk, charter))
    if stage.go_no_go_meeting:
        results.append(go_no_go(stage, rollout, facts.go_no_go, charter, facts.cancelled_call))
    if stage.require_drill is not None:
        results.append(require_drill(stage, rollout, charter))
    if any(c in facts.minimums for c in rollout.clients):
        results.append(prerequisites(stage, rollout, facts.minimums))
    return tuple(results)
