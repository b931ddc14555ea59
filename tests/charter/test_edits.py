"""Edits of a proposal's issue form once it has left draft (charter.edits.edit_form)."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from charter.edits import edit_form
from charter.effects import Audit, Reply, SyncTracking
from charter.intake import check_intake, parse_form
from charter.lifecycle import State
from charter.load import load_charter
from charter.proposal import Decision, Proposal
from tests.paths import reference_charter_text, shared_path

REF = load_charter(reference_charter_text()).charter
EXAMPLE = shared_path("github", "example-proposal-body.md").read_text(encoding="utf-8")
# Review started here; protocol-change: 7d review + 5d voting + 21d after the decision, so the
# earliest acceptable activation target is 2026-12-30T00:00Z.
STARTED = datetime(2026, 11, 27, tzinfo=UTC)
FIELDS = check_intake(parse_form(EXAMPLE), REF, STARTED).proposal_fields


def body(**changes: str) -> str:
    out = EXAMPLE
    for old, new in changes.items():
        out = out.replace(old, new)
    assert out != EXAMPLE or not changes, changes
    return out


def track(name: str) -> str:
    return body(**{"### Track\n\nprotocol-change": f"### Track\n\n{name}"})


def proposal(state: State = State.REVIEW) -> Proposal:
    voting = {"voting_opened_at": STARTED} if state is not State.REVIEW else {}
    return Proposal(
        7, "Raise the gas target", "alice-aurora", "protocol-change", state, FIELDS, 3,
        STARTED, entered_review_at=STARTED, **voting,
    )  # fmt: skip


TOO_EARLY = "Activation target 2026-12-29T23:59Z is too early: this proposal can be decided at the earliest on 2026-12-09T00:00Z, and activation must come at least 21 days after the decision, so the earliest acceptable target is 2026-12-30T00:00Z."
FROZEN = "its track stays protocol-change. A proposal cannot change track once review has started"
NOT_APPLIED = (
    "This edit of #7 was not applied; the proposal keeps its previous form until these are fixed"
)

# (what the edit does, the edited body, what follows):
#   "same"            nothing changes, nothing is recorded
#   ["field", …]      the fields are taken; the audit names those that changed
#   ("refused", […])  nothing changes; the refusal (audited, replied) says each sentence
TABLE: list[tuple[str, str, object]] = [
    ("unchanged", EXAMPLE, "same"),
    ("track named in another case", track("Protocol-Change"), "same"),
    ("summary reworded", body(**{"20% more": "a fifth more"}), ["summary"]),
    ("activation moved later", body(**{"2027-03-04T14:00Z": "2027-04-01T14:00Z"}), ["activation"]),
    (
        "activation at the earliest, judged as of review start",
        body(**{"2027-03-04T14:00Z": "2026-12-30T00:00Z"}),
        ["activation"],
    ),
    ("clients narrowed", body(**{"- [X] dorado": "- [ ] dorado"}), ["clients"]),
    (
        "several fields",
        body(**{"30M to 36M": "30M to 40M", "### Risk impact\n\n4": "### Risk impact\n\n5"}),
        ["impact", "summary"],
    ),
    (
        "track changed",
        track("feature-flag"),
        (
            "refused",
            [FROZEN, "To propose it on 'feature-flag' instead, withdraw #7 (comment /withdraw)"],
        ),
    ),
    (
        "track changed, activation before the decision (the reported exploit)",
        body(
            **{
                "### Track\n\nprotocol-change": "### Track\n\nfeature-flag",
                "2027-03-04T14:00Z": "2026-06-03T09:00Z",
            }
        ),
        ("refused", [FROZEN]),
    ),
    ("unknown track", track("warp-drive"), ("refused", [FROZEN, "'warp-drive'"])),
    (
        "track removed",
        track("_No response_"),
        ("refused", [NOT_APPLIED, "- Track is missing; fill in that part of the form."]),
    ),
    (
        "activation too early",
        body(**{"2027-03-04T14:00Z": "2026-12-29T23:59Z"}),
        ("refused", [NOT_APPLIED, TOO_EARLY]),
    ),
    (
        "activation removed",
        body(**{"2027-03-04T14:00Z": "_No response_"}),
        ("refused", [NOT_APPLIED, "- Activation target is missing"]),
    ),
    (
        "clients emptied",
        body(**{"[X]": "[ ]"}),
        ("refused", [NOT_APPLIED, "- Affected clients is empty"]),
    ),
    (
        "two problems, both listed",
        body(**{"### Risk impact\n\n4": "### Risk impact\n\n9", "2027-03-04T14:00Z": "soon"}),
        (
            "refused",
            [
                "- Risk impact must be a whole number from 1 to 5; got '9'.",
                "- Activation target must be a UTC date-time",
            ],
        ),
    ),
]


@pytest.mark.parametrize(("what", "edited", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_an_edit_in_review(what: str, edited: str, expected: object) -> None:
    p = proposal()
    decision = edit_form(p, REF, parse_form(edited), "bob-aurora")
    if expected == "same":
        assert decision.proposal == p and decision.effects == ()
    elif isinstance(expected, list):
        taken = check_intake(parse_form(edited), REF, STARTED).proposal_fields
        assert decision.proposal == replace(p, fields=taken)
        audit = Audit(
            "proposal-edited-in-review", "proposal:7", {"changed": expected, "by": "bob-aurora"}
        )
        assert decision.effects == (audit, SyncTracking(7))
    else:
        assert isinstance(expected, tuple)
        assert decision.proposal == p
        audit, reply = decision.effects
        assert isinstance(audit, Audit) and isinstance(reply, Reply) and not reply.ok
        assert audit.kind == "command-refused" and audit.payload["command"] == "edit"
        assert audit.payload["actor"] == "bob-aurora" and audit.payload["why"] == reply.text
        for sentence in expected[1]:
            assert sentence in reply.text, reply.text


@pytest.mark.parametrize("state", [State.VOTING, State.ACCEPTED, State.REJECTED, State.WITHDRAWN])
@pytest.mark.parametrize(
    "edited", [track("feature-flag"), body(**{"2027-03-04T14:00Z": "2027-09-01T00:00Z"})]
)
def test_from_voting_on_the_form_is_not_reread(state: State, edited: str) -> None:
    """What is being voted on never changes under the voters: neither track nor fields."""
    p = proposal(state)
    assert edit_form(p, REF, parse_form(edited), "bob-aurora") == Decision(p)


def test_a_draft_is_not_this_rules_business() -> None:
    """A draft's form is read by intake, which may change anything; asking here is a bug."""
    draft = replace(proposal(), state=State.DRAFT, entered_review_at=None)
    with pytest.raises(ValueError, match="draft"):
        edit_form(draft, REF, parse_form(EXAMPLE), "alice-aurora")
