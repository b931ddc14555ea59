"""Edits of a proposal's issue form once it has left draft.

Rules (:func:`edit_form`):

- A draft re-reads its whole form at every edit (intake); this rule is for proposals past it.
- The track is frozen once a proposal leaves draft: it set the review period, the electorate,
  quorum and approval announced when review started. An edit naming another track changes
  nothing (track and form stay); the editor is told to withdraw and open a new proposal.
- Any other edit during review is checked by the intake check used at opening, judged as of
  when review started (so the earliest acceptable activation target is the one the proposal
  was opened with). With problems it changes nothing and the editor is told each of them;
  valid, its fields replace the old ones, and the audit records which fields changed.
- An edit that changes no field changes nothing and records nothing.
- From voting on the form is not re-read: what is being voted on (clients, activation target)
  never changes under the voters. The application records such edits in the audit log.

A refused edit is refused as commands are (:func:`charter.proposal.refuse`: audited, with a
reply to the editor).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from charter.effects import Audit, SyncTracking
from charter.intake import FormValue, check_intake
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Decision, Proposal, refuse, review_ends, rules_for, track_of
from charter.text import quoted


def edit_form(
    p: Proposal, charter: Charter, form: Mapping[str, FormValue], editor: str
) -> Decision:
    """``p`` (past draft) after its issue form was edited to ``form`` by ``editor``."""
    if p.state is State.DRAFT:
        raise ValueError(f"#{p.number} is a draft: its form is read by intake")
    if p.state is not State.REVIEW:
        return Decision(p)
    charter = rules_for(p, charter)
    started = review_ends(p, charter) - track_of(p, charter).review
    result = check_intake(form, charter, started)
    track = result.proposal_fields.get("track")
    if isinstance(track, str) and track != p.track:
        return refuse(p, editor, "edit", _track_frozen(p, track))
    if result.problems:
        return refuse(p, editor, "edit", _not_applied(p, result.problems))
    changed = sorted(k for k, v in result.proposal_fields.items() if p.fields.get(k) != v)
    if not changed:
        return Decision(p)
    payload = {"changed": changed, "by": editor}
    audit = Audit(kind="proposal-edited-in-review", subject=p.subject, payload=payload)
    return Decision(replace(p, fields=result.proposal_fields), (audit, SyncTracking(p.number)))


def _track_frozen(p: Proposal, track: str) -> str:
    return (
        f"This edit of #{p.number} was not applied: its track stays {p.track}. A proposal"
        " cannot change track once review has started (the track sets its review period,"
        f" electorate and approval rules). To propose it on {quoted(track)} instead, withdraw"
        f" #{p.number} (comment /withdraw) and open a new proposal."
    )


def _not_applied(p: Proposal, problems: tuple[str, ...]) -> str:
    listed = "\n".join(f"- {problem}" for problem in problems)
    return (
        f"This edit of #{p.number} was not applied; the proposal keeps its previous form until"
        f" these are fixed (edit the issue body):\n{listed}"
    )
