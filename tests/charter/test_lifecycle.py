"""The proposal lifecycle: the transition table, its checks, and the generated diagram."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from charter.lifecycle import (
    TRANSITIONS,
    Event,
    IllegalTransition,
    State,
    is_open,
    is_terminal,
    mermaid,
    next_state,
)

S, E = State, Event

# Written out by hand (not derived from TRANSITIONS) so a changed table fails here first.
LEGAL = {
    (S.DRAFT, E.INTAKE_INVALID): S.DRAFT,
    (S.DRAFT, E.INTAKE_VALID): S.REVIEW,
    (S.DRAFT, E.WITHDRAWN): S.WITHDRAWN,
    (S.REVIEW, E.REVIEW_ENDED): S.VOTING,
    (S.REVIEW, E.WITHDRAWN): S.WITHDRAWN,
    (S.VOTING, E.VOTING_CLOSED_PASS): S.ACCEPTED,
    (S.VOTING, E.VOTING_CLOSED_FAIL): S.REJECTED,
    (S.VOTING, E.VOTING_CLOSED_NO_QUORUM): S.EXPIRED,
    (S.VOTING, E.WITHDRAWN): S.WITHDRAWN,
    (S.ACCEPTED, E.ROLLOUT_STARTED): S.ROLLING_OUT,
    (S.ROLLING_OUT, E.ROLLOUT_COMPLETED): S.COMPLETED,
    (S.ROLLING_OUT, E.ROLLED_BACK): S.ROLLED_BACK,
}
ILLEGAL = [(s, e) for s in State for e in Event if (s, e) not in LEGAL]

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"
BLOCK = re.compile(
    r"(<!-- lifecycle:begin[^>]*-->\n```mermaid\n)(.*?)(```\n<!-- lifecycle:end -->)", re.S
)
REGENERATE = "CHARTERBOT_REGENERATE_DOCS"


def test_state_and_event_values_are_the_documented_words() -> None:
    """States and events are written as lower-case hyphenated words (labels, audit, docs)."""
    assert [s.value for s in State] == [
        "draft", "review", "voting", "accepted", "rejected", "expired",
        "withdrawn", "rolling-out", "completed", "rolled-back",
    ]  # fmt: skip
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", e.value) for e in Event)


def test_table_is_exactly_the_legal_transitions() -> None:
    """The table holds the legal transitions and nothing else."""
    assert dict(TRANSITIONS) == LEGAL


@pytest.mark.parametrize(("state", "event", "target"), [(*k, v) for k, v in LEGAL.items()])
def test_legal_transition(state: State, event: Event, target: State) -> None:
    """A legal event moves the proposal to the state the table names."""
    assert next_state(state, event) is target


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_illegal_transition_is_refused_in_words(state: State, event: Event) -> None:
    """Any other (state, event) raises IllegalTransition naming both, and what is allowed."""
    with pytest.raises(IllegalTransition) as raised:
        next_state(state, event)
    message = str(raised.value)
    assert f"a {state.value} proposal cannot take '{event.value}'" in message
    assert raised.value.state is state
    assert raised.value.event is event
    allowed = [e.value for (s, e) in LEGAL if s is state]
    if allowed:
        assert message.endswith("only these may happen: " + ", ".join(allowed))
    else:
        assert message.endswith(f"{state.value} is final")


@pytest.mark.parametrize(
    ("state", "terminal", "open_"),
    [
        (S.DRAFT, False, True),
        (S.REVIEW, False, True),
        (S.VOTING, False, True),
        (S.ACCEPTED, False, False),
        (S.REJECTED, True, False),
        (S.EXPIRED, True, False),
        (S.WITHDRAWN, True, False),
        (S.ROLLING_OUT, False, False),
        (S.COMPLETED, True, False),
        (S.ROLLED_BACK, True, False),
    ],
)
def test_terminal_and_open_states(state: State, terminal: bool, open_: bool) -> None:
    """Open = draft/review/voting; terminal states have no way out (accepted has: rollout)."""
    assert is_terminal(state) is terminal
    assert is_open(state) is open_
    assert terminal == (not any(s is state for s, _ in LEGAL))


@pytest.mark.parametrize(
    "line",
    [
        "stateDiagram-v2",
        '    state "rolling-out" as rolling_out',
        "    [*] --> draft",
        "    draft --> draft: intake-invalid",
        "    voting --> expired: voting-closed-no-quorum",
        "    accepted --> rolling_out: rollout-started",
        "    rolling_out --> rolled_back: rolled-back",
        "    rolled_back --> [*]",
        "    expired --> [*]",
    ],
)
def test_mermaid_draws_the_table(line: str) -> None:
    """The diagram has one arrow per transition, ids without hyphens, and marks final states."""
    assert line in mermaid().splitlines()


def test_mermaid_has_one_arrow_per_transition() -> None:
    """Every transition appears exactly once (plus the start and one end per terminal state)."""
    arrows = [ln for ln in mermaid().splitlines() if "-->" in ln]
    assert len(arrows) == 1 + len(LEGAL) + sum(is_terminal(s) for s in State)


def test_docs_diagram_matches_the_table() -> None:
    """docs/lifecycle.md shows exactly what mermaid() generates from the table."""
    text = DOC.read_text(encoding="utf-8")
    match = BLOCK.search(text)
    assert match is not None, f"{DOC} lost its <!-- lifecycle:begin/end --> markers"
    if match.group(2) != mermaid() and os.environ.get(REGENERATE) == "1":
        DOC.write_text(BLOCK.sub(lambda m: m.group(1) + mermaid() + m.group(3), text), "utf-8")
        pytest.skip("docs/lifecycle.md regenerated; review the diff")
    assert match.group(2) == mermaid(), (
        "docs/lifecycle.md is out of date with charter.lifecycle.TRANSITIONS; regenerate with "
        f"`{REGENERATE}=1 .venv/bin/pytest tests/charter/test_lifecycle.py`"
    )
