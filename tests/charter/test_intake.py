"""Reading a proposal from GitHub's rendered issue form, and checking it against the charter."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import given, strategies as st

from charter.intake import (
    CHECKBOXES,
    FORM_FIELDS,
    Activation,
    check_intake,
    parse_activation,
    parse_form,
)
from charter.load import load_charter
from charter.model import Charter
from tests.paths import reference_charter_text, shared_path

NOW = datetime(2026, 11, 27, tzinfo=UTC)
EXAMPLE = shared_path("github", "example-proposal-body.md").read_text(encoding="utf-8")
ISSUE_OPS = shared_path("fixtures", "github", "issue-forms", "issue-ops-parser", "example")


REFERENCE = load_charter(reference_charter_text()).charter


@pytest.fixture
def charter() -> Charter:
    return REFERENCE


def _with_track(charter: Charter, name: str, **changes: object) -> Charter:
    track = charter.tracks[name].model_copy(update=changes)
    return charter.model_copy(update={"tracks": {**charter.tracks, name: track}})


def test_form_fields_match_the_shipped_issue_form() -> None:
    """FORM_FIELDS maps every label of upgrade-proposal.yml to its field id, and nothing else."""
    form = yaml.safe_load(shared_path("github", "upgrade-proposal.yml").read_text())
    assert {item["attributes"]["label"]: item["id"] for item in form["body"]} == FORM_FIELDS
    assert {item["id"] for item in form["body"] if item["type"] == "checkboxes"} == CHECKBOXES


def test_parse_form_reads_the_example_proposal() -> None:
    """The example body reads into field ids: text, checked clients, and None for no response."""
    fields = parse_form(EXAMPLE)
    assert fields["track"] == "protocol-change"
    assert fields["clients"] == ["aurora", "borealis", "cirrus", "dorado", "eridanus"]
    assert fields["activation"] == "2027-03-04T14:00Z"
    assert fields["feature_flag"] is None
    assert fields["likelihood"] == "2"
    assert fields["impact"] == "4"
    assert str(fields["specification"]).startswith("https://specs.meridian.example/mip-0042 —")
    assert (
        fields["dependencies"]
        == "aurora >= 4.2, borealis >= 1.19, cirrus >= 25.1, dorado >= 3.0, eridanus >= 0.9"
    )
    assert set(fields) == set(FORM_FIELDS.values())


def test_parse_form_agrees_with_issue_ops_parser() -> None:
    """Against issue-ops/parser's own example, every field agrees where the semantics do.

    Their parser knows each field's type from the template: a dropdown becomes a list (we keep
    the rendered text, "re, mi"), an empty multi-select becomes [] (we say None) and checkboxes
    become {selected, unselected} (we keep the selected list).
    """
    template = yaml.safe_load((ISSUE_OPS / "template.yml").read_text())
    items = [i for i in template["body"] if "id" in i]
    labels = {i["attributes"]["label"]: i["id"] for i in items}
    kinds = {i["id"]: i["type"] for i in items}
    expected = json.loads((ISSUE_OPS / "parsed-issue-with-template.json").read_text())
    boxes = frozenset(key for key, kind in kinds.items() if kind == "checkboxes")
    fields = parse_form((ISSUE_OPS / "issue.md").read_text(), labels, boxes)
    assert set(fields) == set(expected)
    for key, theirs in expected.items():
        ours = fields[key]
        if kinds[key] == "dropdown":
            assert ([] if ours is None else str(ours).split(", ")) == theirs, key
        elif kinds[key] == "checkboxes":
            assert ours == theirs["selected"], key
        else:
            assert ours == theirs, key


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("### Summary\r\n\r\nline one\r\nline two\r\n", {"summary": "line one\nline two"}),
        ("### Summary\r\rold mac\r", {"summary": "old mac"}),
        ("intro text\n### Summary\n\nx", {"summary": "x"}),
        ("### Summary\n\n_No response_\n", {"summary": None}),
        ("### Summary\n\n\n", {"summary": None}),
        ("### Summary ###\n\nclosed heading", {"summary": "closed heading"}),
        ("### Affected clients\n\n- [ ] aurora\n- [ ] borealis", {"clients": []}),
        (
            "### Affected clients\n\n* [x] aurora\n  + [X]  borealis  \n- [ ] cirrus",
            {"clients": ["aurora", "borealis"]},
        ),
        (
            "### Affected clients\n\n- [x] aurora\nand some text",
            {"clients": "- [x] aurora\nand some text"},
        ),
        ("### Summary\n\nbody\n### Background\nmine", {"summary": "body\n### Background\nmine"}),
        ("### Summary\n\n```\n### Track\n```\nafter", {"summary": "```\n### Track\n```\nafter"}),
        (
            "### Summary\n\n````md\n```\n### Track\n````\n### Track\n\nfeature-flag",
            {"summary": "````md\n```\n### Track\n````", "track": "feature-flag"},
        ),
        (
            "### Summary\n\n~~~\n```\n### Track\n~~~\n### Track\n\nx",
            {"summary": "~~~\n```\n### Track\n~~~", "track": "x"},
        ),
        (
            "### Summary\n\nfirst\n### Summary\n\nsecond",
            {"summary": "first\n### Summary\n\nsecond"},
        ),
        ("#### Summary\n\nnot a form heading", {}),
        ("", {}),
    ],
)
def test_parse_form_sections(body: str, expected: dict[str, object]) -> None:
    """Known headings outside code start sections; CRLF, checkboxes and no-response read right."""
    assert parse_form(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (  # a line starting with an inline code span opens no fence (its info has a backtick)
            "### Summary\n\n```geth --syncmode=full``` keeps working\n### Track\n\nx",
            {"summary": "```geth --syncmode=full``` keeps working", "track": "x"},
        ),
        (  # indented four spaces: indented code, not a fence
            "### Summary\n\n    ```\n### Track\n\nx",
            {"summary": "```", "track": "x"},
        ),
        (  # a tab is four columns of indent too
            "### Summary\n\n\t~~~\n### Track\n\nx",
            {"summary": "~~~", "track": "x"},
        ),
        (  # up to three spaces open and close a fence
            "### Summary\n\n   ```sh\n### Track\n   ```\n### Track\n\nx",
            {"summary": "```sh\n### Track\n   ```", "track": "x"},
        ),
        (  # a tilde fence's info may hold backticks
            "### Summary\n\n~~~ `x`\n### Track\n~~~\n### Track\n\nx",
            {"summary": "~~~ `x`\n### Track\n~~~", "track": "x"},
        ),
        (  # a closing fence has nothing after it, and is not indented four spaces
            "### Summary\n\n```\n``` x\n    ```\n### Track\n```\n### Track\n\nx",
            {"summary": "```\n``` x\n    ```\n### Track\n```", "track": "x"},
        ),
        (  # a shorter or other-character line does not close it
            "### Summary\n\n````\n```\n~~~~\n### Track\n````  \n### Track\n\nx",
            {"summary": "````\n```\n~~~~\n### Track\n````", "track": "x"},
        ),
    ],
)
def test_parse_form_fences_follow_commonmark(body: str, expected: dict[str, object]) -> None:
    """Code fences open and close where CommonMark says, so no later section is swallowed."""
    assert parse_form(body) == expected


def test_only_checkbox_fields_are_task_lists() -> None:
    """A free-text answer written as a task list keeps every item, ticked or not; the
    checkboxes field (Affected clients) is still read as the list of ticked labels."""
    plan = "- [x] interop matrix on devnet-42\n- [ ] differential fuzzing (scheduled)"
    body = f"### Test plan\n\n{plan}\n### Affected clients\n\n- [x] aurora\n- [ ] cirrus"
    assert parse_form(body) == {"testing": plan, "clients": ["aurora"]}
    todo = "- [ ] interop matrix\n- [ ] fuzzing"
    result = check_intake(parse_form(f"### Test plan\n\n{todo}"), REFERENCE, NOW)
    assert result.proposal_fields["testing"] == todo


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03-04T14:00Z", Activation(at=datetime(2027, 3, 4, 14, 0, tzinfo=UTC))),
        ("2027-03-04 14:00Z", Activation(at=datetime(2027, 3, 4, 14, 0, tzinfo=UTC))),
        ("2027-03-04t14:00:30z", Activation(at=datetime(2027, 3, 4, 14, 0, 30, tzinfo=UTC))),
        ("2027-03-04T14:00+00:00", Activation(at=datetime(2027, 3, 4, 14, 0, tzinfo=UTC))),
        ("2027-03-04T14:00 UTC", Activation(at=datetime(2027, 3, 4, 14, 0, tzinfo=UTC))),
        ("2027-03-04T16:00+0200", Activation(at=datetime(2027, 3, 4, 14, 0, tzinfo=UTC))),
        (" epoch 412000 ", Activation(unit="epoch", position=412000)),
        ("Block #19000000", Activation(unit="block", position=19000000)),
        ("slot\u200b 7", Activation(unit="slot", position=7)),
    ],
)
def test_parse_activation(text: str, expected: Activation) -> None:
    """UTC date-times in the usual spellings, other offsets converted, and chain positions."""
    assert parse_activation(text) == expected


@pytest.mark.parametrize(
    ("activation", "text"),
    [
        (Activation(at=datetime(2027, 3, 4, 14, 0, tzinfo=UTC)), "2027-03-04T14:00Z"),
        (Activation(at=datetime(2027, 3, 4, 14, 0, 5, tzinfo=UTC)), "2027-03-04T14:00:05Z"),
        (Activation(unit="epoch", position=5), "epoch 5"),
    ],
)
def test_activation_text(activation: Activation, text: str) -> None:
    """An activation is written back in the canonical form the form asks for."""
    assert str(activation) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "next tuesday",
            "Activation target must be a UTC date-time such as 2027-03-04T14:00Z or a chain position such as 'epoch 412000'; got 'next tuesday'.",
        ),
        (
            "2027-03-04T14:00",
            "Activation target '2027-03-04T14:00' has no time zone; add Z for UTC, e.g. 2027-03-04T14:00Z.",
        ),
        ("2027-02-30T14:00Z", "Activation target '2027-02-30T14:00Z' is not a real date and time."),
        ("epoch -1", "must be a UTC date-time"),
    ],
)
def test_parse_activation_errors(text: str, message: str) -> None:
    """A target that cannot be read says how to write one."""
    with pytest.raises(ValueError, match="Activation target") as raised:
        parse_activation(text)
    assert message in str(raised.value)


def test_example_proposal_is_valid(charter: Charter) -> None:
    """The example proposal passes at 2026-11-27, with scores as numbers and clients as a list."""
    result = check_intake(parse_form(EXAMPLE), charter, NOW)
    assert result.problems == ()
    assert result.ok
    assert result.fields is result.proposal_fields
    assert result.proposal_fields["likelihood"] == 2
    assert result.proposal_fields["impact"] == 4
    assert result.proposal_fields["clients"] == [
        "aurora",
        "borealis",
        "cirrus",
        "dorado",
        "eridanus",
    ]
    assert result.proposal_fields["activation"] == "2027-03-04T14:00Z"
    assert result.proposal_fields["feature_flag"] is None


GOOD = parse_form(EXAMPLE)


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        (
            {
                "track": None,
                "summary": None,
                "specification": "  ",
                "testing": None,
                "likelihood": None,
                "impact": None,
            },
            [
                "Track is missing; fill in that part of the form.",
                "Summary is missing; fill in that part of the form.",
                "Specification is missing; fill in that part of the form.",
                "Test plan is missing; fill in that part of the form.",
                "Risk likelihood is missing; fill in that part of the form.",
                "Risk impact is missing; fill in that part of the form.",
            ],
        ),
        (
            {"rollback": None},
            [
                "Rollback plan is missing; every proposal needs the exact steps to revert it and how data integrity is checked afterwards."
            ],
        ),
        (
            {"track": "fast-track"},
            [
                "Track 'fast-track' is not a track of this charter; choose protocol-change, feature-flag, security-patch or charter-amendment."
            ],
        ),
        (
            {"track": "Protocol-Chnage"},
            [
                "Track 'Protocol-Chnage' is not a track of this charter (did you mean 'protocol-change'?); choose protocol-change, feature-flag, security-patch or charter-amendment."
            ],
        ),
        ({"track": " Protocol-Change "}, []),
        (
            {"likelihood": "high"},
            ["Risk likelihood must be a whole number from 1 to 5; got 'high'."],
        ),
        ({"impact": "6"}, ["Risk impact must be a whole number from 1 to 5; got '6'."]),
        ({"impact": "0"}, ["Risk impact must be a whole number from 1 to 5; got '0'."]),
        ({"impact": "٣"}, ["Risk impact must be a whole number from 1 to 5; got '٣'."]),
        ({"impact": ["3"]}, []),
        (
            {"clients": ["aurora", "zephyr"]},
            [
                "Affected clients names 'zephyr', which is not a client of this charter; the clients are aurora, borealis, cirrus, dorado and eridanus."
            ],
        ),
        (
            {"clients": "aurora, Borealis nova,x"},
            [
                "Affected clients names 'nova' and 'x', which are not clients of this charter; the clients are aurora, borealis, cirrus, dorado and eridanus."
            ],
        ),
        (
            {"clients": []},
            [
                "Affected clients is empty; a proposal on this track activates on the network, so tick every client that must ship it."
            ],
        ),
        (
            {"clients": None, "activation": None},
            [
                "Affected clients is empty; a proposal on this track activates on the network, so tick every client that must ship it.",
                "Activation target is missing; this track activates on the network, so give a UTC date-time such as 2027-03-04T14:00Z or a chain position such as 'epoch 412000'.",
            ],
        ),
        ({"activation": "epoch 412000"}, []),
        (
            {"activation": "soon"},
            [
                "Activation target must be a UTC date-time such as 2027-03-04T14:00Z or a chain position such as 'epoch 412000'; got 'soon'."
            ],
        ),
        ({"activation": "2026-12-30T00:00Z"}, []),
        (
            {"activation": "2026-12-29T23:59Z"},
            [
                "Activation target 2026-12-29T23:59Z is too early: this proposal can be decided at the earliest on 2026-12-09T00:00Z, and activation must come at least 21 days after the decision, so the earliest acceptable target is 2026-12-30T00:00Z."
            ],
        ),
        ({"track": "charter-amendment", "clients": None, "activation": None}, []),
        (
            {"track": "nope", "clients": None, "activation": "2020-01-01T00:00Z"},
            [
                "Track 'nope' is not a track of this charter; choose protocol-change, feature-flag, security-patch or charter-amendment."
            ],
        ),
    ],
)
def test_check_intake_problems(
    charter: Charter, changes: dict[str, object], problems: list[str]
) -> None:
    """Each problem is a sentence the author can act on, naming the field and the fix."""
    fields = {**GOOD, **changes}
    assert list(check_intake(fields, charter, NOW).problems) == problems  # type: ignore[arg-type]


def test_activation_without_a_minimum_must_follow_the_earliest_decision(charter: Charter) -> None:
    """A track with no minimum still cannot activate before it can be decided."""
    fields = {**GOOD, "track": "feature-flag", "activation": "2026-11-30T00:00Z"}
    [problem] = check_intake(fields, charter, NOW).problems
    assert problem == (
        "Activation target 2026-11-30T00:00Z is too early: this proposal can be decided at the"
        " earliest on 2026-12-02T00:00Z, and activation must come after the decision, so the"
        " earliest acceptable target is 2026-12-02T00:00Z."
    )


def test_decided_after_counts_the_minimum_from_the_decision(charter: Charter) -> None:
    """Once decided, the minimum counts from the decision, not from now."""
    decided = datetime(2027, 2, 1, 12, tzinfo=UTC)
    fields = {**GOOD, "activation": "2027-02-20T00:00Z"}
    [problem] = check_intake(fields, charter, NOW, decided_after=decided).problems
    assert problem == (
        "Activation target 2027-02-20T00:00Z is too early: this proposal was decided on"
        " 2027-02-01T12:00Z, and activation must come at least 21 days after the decision, so"
        " the earliest acceptable target is 2027-02-22T12:00Z."
    )
    later = {**GOOD, "activation": "2027-02-22T12:00Z"}
    assert check_intake(later, charter, NOW, decided_after=decided).ok


def test_a_minimum_in_hours_is_written_in_hours(charter: Charter) -> None:
    """A minimum that is not whole days is written as the charter writes durations."""
    custom = _with_track(charter, "feature-flag", min_activation_after_decision=timedelta(hours=36))
    fields = {**GOOD, "track": "feature-flag", "activation": "2026-12-02T00:00Z"}
    [problem] = check_intake(fields, custom, NOW).problems
    assert "at least 36h after the decision" in problem
    one_day = _with_track(charter, "feature-flag", min_activation_after_decision=timedelta(days=1))
    [problem] = check_intake(fields, one_day, NOW).problems
    assert "at least 1 day after the decision" in problem


@pytest.mark.parametrize(
    ("now", "decided_after"),
    [
        (datetime(2026, 11, 27), None),
        (NOW, datetime(2026, 11, 27)),
    ],
)
def test_check_intake_needs_aware_times(
    charter: Charter, now: datetime, decided_after: datetime | None
) -> None:
    """Naive times are a programming error: charter code works in aware UTC only."""
    with pytest.raises(ValueError, match="timezone-aware"):
        check_intake(GOOD, charter, now, decided_after=decided_after)


def test_check_intake_accepts_any_aware_zone(charter: Charter) -> None:
    """An aware now in another zone means the same instant."""
    now = NOW.astimezone(timezone(timedelta(hours=9)))
    assert check_intake(GOOD, charter, now).ok


@given(st.text(max_size=2000))
def test_parse_form_never_raises(body: str) -> None:
    """No body makes the form reader raise."""
    parse_form(body)


_LINES = st.sampled_from(
    [f"### {label}" for label in FORM_FIELDS]
    + [
        "_No response_",
        "- [x] aurora",
        "- [ ] x",
        "```",
        "~~~",
        "",
        "2027-03-04T14:00Z",
        "epoch 1",
        "3",
        "protocol-change",
    ]
)


@given(st.lists(st.one_of(_LINES, st.text(max_size=20)), max_size=40))
def test_check_intake_never_raises_on_a_parsed_form(lines: list[str]) -> None:
    """Whatever the body, reading and checking it gives fields and problems, never an exception."""
    fields = parse_form("\n".join(lines))
    result = check_intake(fields, REFERENCE, NOW)
    assert all(isinstance(p, str) and p.endswith(".") for p in result.problems)
