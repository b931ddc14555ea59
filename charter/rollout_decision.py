"""What a rollout decision is made of, and how it is said: refused, audited, announced.

Rules:
- A decision is the rollout as it is after it and the effects to carry out
  (:class:`RolloutDecision`); the service carries them out in one transaction.
- Input that can never be right (an unknown stage: :func:`stage_index_of`; an empty reason:
  :func:`written_reason`) raises ``ValueError``; a request wrong only now is refused
  (:func:`refuse`): the rollout unchanged and a ``Reply(ok=False)`` saying why, nothing audited.
- A rollout's audit entries have the subject ``rollout:<proposal number>``
  (:func:`audit_subject`).
- A rollout announcement (:func:`announce`) has kind ``rollout``, is confidential as the rollout
  is, and ends with the matrix as it is now, rollback drills included
  (:func:`charter.drills.marked`). It names the clients it is ``about``: one client's drill,
  drill plan, voided drill or rollback names just those clients, so ``client X`` filters (the
  feed's and subscriptions') pass it only for them; what concerns every client (a stage
  entered, a pause, a completion) names them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from charter import drills as drill_rules
from charter.effects import Announce, Effect, Reply
from charter.model import Charter
from charter.rollout_facts import Rollout, matrix


@dataclass(frozen=True)
class RolloutDecision:
    """The rollout after a decision, and the effects the service carries out for it."""

    rollout: Rollout
    effects: tuple[Effect, ...]


def refuse(rollout: Rollout, text: str) -> RolloutDecision:
    """A refusal: ``rollout`` unchanged and ``text`` replied as not ok (nothing is audited)."""
    return RolloutDecision(rollout, (Reply(text, ok=False),))


def audit_subject(rollout: Rollout) -> str:
    """The audit log's subject of the rollout's entries: ``rollout:<proposal number>``."""
    return f"rollout:{rollout.proposal}"


def announce(
    rollout: Rollout,
    charter: Charter,
    title: str,
    text: str,
    about: Sequence[str] | None = None,
) -> Announce:
    """A rollout announcement (kind ``rollout``, confidential as the rollout is); its text ends
    with the matrix as it is now, rollback drills included. Its clients are those it is
    ``about`` (None: every client of the rollout)."""
    table = drill_rules.marked(matrix(rollout, charter), rollout, charter).text()
    return Announce(
        kind="rollout",
        title=title,
        text=f"{text}\n\n{table}",
        proposal=rollout.proposal,
        clients=rollout.clients if about is None else tuple(about),
        confidential=rollout.confidential,
        data={"stage": rollout.stage_name(charter), "paused": rollout.paused},
    )


def written_reason(value: str, what: str) -> str:
    """``value`` stripped; a blank one is input that can never be right (``ValueError``: "<what>
    needs a written reason"), since overrides, rollbacks and pauses are answerable."""
    if not value.strip():
        raise ValueError(f"{what} needs a written reason")
    return value.strip()


def stage_index_of(charter: Charter, stage: str) -> int:
    """The index of a stage of the charter; an unknown one is input that can never be right
    (``ValueError`` naming the charter's stages)."""
    if charter.stage(stage) is None:
        stages = ", ".join(charter.stage_ids)
        raise ValueError(f"unknown stage {stage!r}; the charter's stages are {stages}")
    return charter.stage_ids.index(stage)
