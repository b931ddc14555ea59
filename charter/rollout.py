"""Staged rollout decisions: start, report, advance, roll back, pause, resume, complete.

After acceptance every client of a proposal moves through the charter's ``rollout`` stages in
order. The rules live, each stated in its docstring, in the module that decides them:

- :mod:`charter.rollout_decision`: what a decision is and how it is said (a refusal leaves the
  rollout unchanged and replies why; input that can never be right raises ``ValueError``;
  audit subjects and announcements with the matrix);
- :mod:`charter.rollout_ready`: starting a rollout, and clients' release reports and checks;
- :mod:`charter.rollout_settle`: what the facts imply by themselves (the first stage entered,
  the soak clocks, completion; nothing of it while paused);
- :mod:`charter.rollout_advance`: entering the next stage by its gates or a written override;
- :mod:`charter.rollout_rollback`: rolling clients back, and re-entry being entry;
- :mod:`charter.rollout_holds`: pausing, resuming and overriding holds;
- :mod:`charter.rollout_drills`: rollback drills on a rollout (scored by :mod:`charter.drills`).

The facts, the matrix and the inventory live in :mod:`charter.rollout_facts`. All of these are
re-exported here, so callers import everything rollout from this module.
"""

from __future__ import annotations

from charter.rollout_advance import advance
from charter.rollout_decision import (
    RolloutDecision,
    announce,
    audit_subject,
    refuse,
    stage_index_of,
)
from charter.rollout_facts import (
    Cell,
    CheckResult,
    Matrix,
    Override,
    ReadyReport,
    RollbackRecord,
    Rollout,
    inventory,
    matrix,
    ref_matches,
)
from charter.rollout_holds import override_holds, pause, resume
from charter.rollout_ready import record_check, report_ready, start
from charter.rollout_rollback import rollback

__all__ = [
    "Cell",
    "CheckResult",
    "Matrix",
    "Override",
    "ReadyReport",
    "RollbackRecord",
    "Rollout",
    "RolloutDecision",
    "advance",
    "announce",
    "audit_subject",
    "inventory",
    "matrix",
    "override_holds",
    "pause",
    "record_check",
    "ref_matches",
    "refuse",
    "report_ready",
    "resume",
    "rollback",
    "stage_index_of",
    "start",
]
