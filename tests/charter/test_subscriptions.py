"""Who receives what: the charter's announce table plus subscriptions, confidential included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from charter.effects import Announce
from charter.load import load_charter
from charter.subscriptions import (
    Subscription,
    digest_batches,
    digest_due,
    email_address,
    matches,
    recipients,
)
from tests.paths import reference_charter_text

CHARTER = load_charter(reference_charter_text(), "reference-charter.yaml").charter


def announce(kind: str = "decision", **fields: Any) -> Announce:
    return Announce(kind=kind, title=f"{kind} title", text=f"{kind} text", **fields)


# Subscriptions under test (the reference charter's channels are the defaults).
SUBS = {
    "all": Subscription(1, "slack", "CALL"),
    "decisions": Subscription(2, "discord", "D-DEC", kinds=("decision",)),
    "protocol": Subscription(3, "slack", "CPROTO", tracks=("protocol-change",)),
    "aurora": Subscription(4, "email", "a@x.org", clients=("aurora",)),
    "p7": Subscription(5, "webhook", "https://h.example/p7", proposal=7),
    "sev1": Subscription(6, "slack", "CSEV1", kinds=("incident",), min_severity="sev1"),
    "sev2": Subscription(7, "slack", "CSEV2", min_severity="sev2"),
    "labelled": Subscription(8, "slack", "CLAB", labels=("consensus",)),
    "not-labelled": Subscription(9, "slack", "CNOT", not_labels=("consensus",)),
    "unconfirmed": Subscription(10, "email", "b@x.org", confirmed=False),
    "council-sub": Subscription(11, "slack", "G0COUNCIL01", kinds=("vote",)),
}

EVENTS = {
    "decision-protocol": announce("decision", proposal=7, track="protocol-change"),
    "vote-flag": announce("vote", proposal=8, track="feature-flag"),
    "incident-sev1-aurora": announce("incident", severity="sev1", clients=("aurora",)),
    "incident-sev3-cirrus": announce(
        "incident", severity="sev3", clients=("cirrus",), data={"proposals": [7]}
    ),
    "rollout-labelled": announce(
        "rollout", proposal=9, track="feature-flag", data={"labels": ["consensus"]}
    ),
    "security-secret": announce("decision", proposal=12, track="security-patch", confidential=True),
    "security-vote-secret": announce(
        "vote", proposal=12, track="security-patch", confidential=True
    ),
}

# event → the subscriptions that receive it (charter channels are checked separately).
EXPECTED = {
    "decision-protocol": {"all", "decisions", "protocol", "aurora", "p7", "sev2", "not-labelled"},
    "vote-flag": {"all", "aurora", "sev2", "not-labelled", "council-sub"},
    "incident-sev1-aurora": {"all", "aurora", "sev1", "sev2", "not-labelled"},
    "incident-sev3-cirrus": {"all", "p7", "not-labelled"},
    "rollout-labelled": {"all", "aurora", "sev2", "labelled"},
    "security-secret": set(),
    "security-vote-secret": {"council-sub"},
}


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_subscriptions_receive_exactly_what_their_filters_say(event: str) -> None:
    """Filters AND together, values inside a filter OR; an unconfirmed e-mail gets nothing;
    a confidential, undisclosed proposal reaches only charter channels marked private."""
    got = {name for name, sub in SUBS.items() if matches(sub, EVENTS[event], CHARTER)}
    assert got == EXPECTED[event]


@pytest.mark.parametrize(
    ("event", "disclosed", "channels"),
    [
        (
            "decision-protocol",
            False,
            {
                "discord:1180000000000000001",
                "slack:C0MERIDIAN1",
                "email:operators@lists.meridian.example",
            },
        ),
        ("vote-flag", False, set()),  # the charter announces no votes
        ("security-secret", False, set()),  # no private channel is listed for decisions
        (
            "security-secret",
            True,
            {
                "discord:1180000000000000001",
                "slack:C0MERIDIAN1",
                "email:operators@lists.meridian.example",
            },
        ),
    ],
)
def test_charter_channels_are_the_default_and_confidential_waits_for_disclosure(
    event: str, disclosed: bool, channels: set[str]
) -> None:
    """The announce table lists the default channels; a secret reaches none of the public ones
    until disclosed, after which it goes everywhere the table says."""
    got = {d.key for d in recipients(EVENTS[event], CHARTER, [], disclosed=disclosed)}
    assert got == channels


def test_one_copy_per_destination_and_private_subscriptions_get_secrets() -> None:
    """A destination named by the charter and a subscription gets one copy; a subscription on
    a private charter channel receives confidential announcements, others do not."""
    subs = [
        Subscription(1, "slack", "C0MERIDIAN1"),  # the charter's public Slack channel again
        Subscription(2, "slack", "G0COUNCIL01", lang="es"),  # the council's private channel
        Subscription(3, "slack", "CPUBLIC"),
    ]
    public = recipients(EVENTS["decision-protocol"], CHARTER, subs)
    assert [d.key for d in public].count("slack:C0MERIDIAN1") == 1
    secret = recipients(EVENTS["security-secret"], CHARTER, subs)
    assert [(d.key, d.private, d.lang) for d in secret] == [("slack:G0COUNCIL01", True, "es")]


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Bob@Example.ORG", "Bob@example.org"),  # RFC 5321: the local part may be case-sensitive
        ("bob@example.org", "bob@example.org"),
        ("Bob.Smith+Tag@MAIL.Example.org", "Bob.Smith+Tag@mail.example.org"),
    ],
)
def test_an_email_address_keeps_its_local_part(typed: str, kept: str) -> None:
    assert email_address(typed) == kept


def test_an_email_address_in_any_case_is_one_destination() -> None:
    """Rows stored before kept no case: ``Bob@x`` and ``bob@x`` get one copy, the first's."""
    subs = [
        Subscription(1, "email", "Bob@example.org"),
        Subscription(2, "email", "bob@example.org"),
        Subscription(3, "slack", "Cbob"),
        Subscription(4, "slack", "CBOB"),  # chat ids are case-sensitive: two channels
    ]
    found = recipients(EVENTS["decision-protocol"], CHARTER, subs)
    mine = [(d.address, d.subscription) for d in found if d.subscription is not None]
    assert mine == [("Bob@example.org", 1), ("Cbob", 3), ("CBOB", 4)]


def test_meeting_announcements_also_reach_the_meetings_channels() -> None:
    """A meeting announcement goes to the table's channels and its meeting's announce_to."""
    ev = announce("meeting", data={"meeting": "security-sync"})
    keys = {d.key for d in recipients(ev, CHARTER, [])}
    assert "slack:G0COUNCIL01" in keys and "discord:1180000000000000001" in keys


@pytest.mark.parametrize(
    ("digest_at", "zone", "since", "now", "due"),
    [
        ("08:00", "UTC", "2026-03-01T08:30", "2026-03-02T07:59", False),
        ("08:00", "UTC", "2026-03-01T08:30", "2026-03-02T08:00", True),
        ("08:00", "Europe/Madrid", "2026-03-01T08:30", "2026-03-02T07:30", True),  # 08:30 local
        ("08:00", "America/New_York", "2026-03-02T07:00", "2026-03-02T12:59", False),
        ("08:00", "America/New_York", "2026-03-02T07:00", "2026-03-02T13:00", True),
        ("23:30", "UTC", "2026-03-02T23:31", "2026-03-03T23:00", False),
    ],
)
def test_digest_is_due_once_a_day_at_local_time(
    digest_at: str, zone: str, since: str, now: str, due: bool
) -> None:
    """A digest is due when its local HH:MM has passed since the last one (times in UTC)."""
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    last = datetime.fromisoformat(since).replace(tzinfo=UTC)
    assert digest_due(digest_at, zone, last, at) is due


QUEUED = [
    (1, "2026-03-01T07:00"),
    (2, "2026-03-02T07:59"),
    (3, "2026-03-02T08:00"),
    (4, "2026-03-02T08:01"),
]


@pytest.mark.parametrize(
    ("since", "now", "carried"),
    [
        ("2026-03-01T08:30", "2026-03-02T07:59", []),  # not due yet: nothing goes
        ("2026-03-01T08:30", "2026-03-02T08:00", [1, 2, 3]),  # due: what was queued by the slot
        ("2026-03-01T08:30", "2026-03-02T09:00", [1, 2, 3]),  # a later item waits for tomorrow
        ("2026-03-02T08:05", "2026-03-02T09:00", []),  # today's digest already went
        ("2026-03-02T08:05", "2026-03-03T08:00", [1, 2, 3, 4]),
    ],
)
def test_a_due_digest_carries_what_was_queued_by_its_slot(
    since: str, now: str, carried: list[int]
) -> None:
    """A daily digest at 08:00 UTC: when due it carries every item queued at or before the
    slot it is due for; otherwise none."""
    items = [(i, datetime.fromisoformat(at).replace(tzinfo=UTC)) for i, at in QUEUED]
    last = datetime.fromisoformat(since).replace(tzinfo=UTC)
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert digest_batches(items, "08:00", "UTC", last, at) == carried
