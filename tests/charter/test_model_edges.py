"""Edge rules of the small charter modules: durations, channels, actors, subscription helpers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.actors import SYSTEM, Actor
from charter.effects import Announce
from charter.model import Channel, format_duration, parse_duration
from charter.subscriptions import _charter_channels, _proposals, parse_clock
from tests.charter.rollout_support import reference as reference_charter


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(hours=3), timedelta(hours=3)),
        ("36h", timedelta(hours=36)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations_read_text_or_pass_timedeltas_through(value: object, expected: timedelta) -> None:
    """A duration is `<number><unit>`; a timedelta built in code passes through unchanged."""
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (timedelta(weeks=2), "2w"),
        (timedelta(days=3), "3d"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=90), "90s"),
        (timedelta(0), "0s"),
    ],
)
def test_durations_are_written_in_the_largest_unit_that_divides_them(
    value: timedelta, written: str
) -> None:
    """What ``charter show`` and the reasons print; it reads back to the same duration."""
    assert format_duration(value) == written
    assert parse_duration(written) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "written as"),
        (1.5, "written as"),
        (12, "has no unit"),
        ("12 parsecs", "not a duration"),
    ],
)
def test_bad_durations_say_how_to_write_one(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


def test_a_channel_without_address_has_no_platform() -> None:
    """Validation reports such a channel; the model itself answers 'none' rather than failing."""
    assert (Channel().platform, Channel().address) == ("none", "")
    assert (Channel(slack="C1").platform, Channel(slack="C1").address) == ("slack", "C1")


@pytest.mark.parametrize(
    ("actor", "linked", "name"),
    [
        (Actor("alice"), True, "alice"),
        (Actor(None, "slack", "U1", "Alice"), False, "Alice"),
        (Actor(None, "slack", "U1"), False, "U1"),
        (SYSTEM, False, "charterbot"),
    ],
)
def test_an_actor_is_linked_only_with_a_verified_login(
    actor: Actor, linked: bool, name: str
) -> None:
    assert (actor.linked, actor.name) == (linked, name)


def test_subscription_helpers_ignore_malformed_data_and_unknown_meetings() -> None:
    charter = reference_charter()
    odd = Announce(kind="decision", title="t", text="x", proposal=3, data={"proposals": "7"})
    assert _proposals(odd) == {3}
    call = Announce(kind="meeting", title="t", text="x", data={"meeting": "no-such-call"})
    assert _charter_channels(call, charter) == list(charter.announce["meeting"])
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock("quarter past eight")
