"""`meetings` names the zone a call's occurrence key is written in: each start is also shown in
the call's own zone (core-sync's key says 15:00, Berlin time, beside a 13:00Z start), except on
the console where the line already shows it. The key stays as the commands take it, and a
console that only guesses the server's address says so beside the calendar link."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.meetings_service import GUESSED_LINKS
from bot.messages import Actor, When, plain_text
from bot.service import Governance
from tests.bot.meetings.conftest import COORDINATOR, MAINTAINER, link_zone

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
# The next core-sync (Europe/Berlin, summer time) and security-sync (UTC).
CORE = "core-sync@2026-04-02T15:00"
SECURITY = "security-sync@2026-04-07T17:00"


@pytest.mark.parametrize(
    ("actor", "zone", "core", "security"),
    [
        # Slack and Discord show the When in each reader's zone: the call's zone is always named.
        (MAINTAINER, None,
         f"2026-04-02T13:00Z · Thu 2026-04-02 15:00 Europe/Berlin · 90m · {CORE}",
         f"2026-04-07T17:00Z · Tue 2026-04-07 17:00 UTC · 1h · {SECURITY}"),
        # The console in UTC (the charter's zone): a UTC call's ISO time already says it.
        (COORDINATOR, None,
         f"2026-04-02T13:00Z · Thu 2026-04-02 15:00 Europe/Berlin · 90m · {CORE}",
         f"2026-04-07T17:00Z · 1h · {SECURITY}"),
        (COORDINATOR, "America/New_York",
         f"2026-04-02T13:00Z (Thu 2026-04-02 09:00 America/New_York)"
         f" · Thu 2026-04-02 15:00 Europe/Berlin · 90m · {CORE}",
         f"2026-04-07T17:00Z (Tue 2026-04-07 13:00 America/New_York) · 1h · {SECURITY}"),
        # A reader in the call's zone sees it once.
        (COORDINATOR, "Europe/Berlin",
         f"2026-04-02T13:00Z (Thu 2026-04-02 15:00 Europe/Berlin) · 90m · {CORE}",
         f"2026-04-07T17:00Z (Tue 2026-04-07 19:00 Europe/Berlin) · 1h · {SECURITY}"),
    ],
)  # fmt: skip
def test_each_call_is_shown_in_the_zone_its_key_is_written_in(
    gov: Governance, actor: Actor, zone: str | None, core: str, security: str
) -> None:
    link_zone(gov, actor, zone, NOW)
    message = gov.run_sync("meetings --next 2", actor, NOW)
    lines = plain_text(message).splitlines()
    assert lines[1:3] == [f"Core client sync: {core}", f"Security council sync: {security}"]
    # Chat surfaces still render each start per reader.
    starts = [seg.at for line in message.lines for seg in line if isinstance(seg, When)]
    assert starts == [datetime(2026, 4, 2, 13, tzinfo=UTC), datetime(2026, 4, 7, 17, tzinfo=UTC)]
    assert "names a call by its first planned start in the call's own zone" in message.footer


def test_a_listed_key_is_what_the_commands_take(gov: Governance) -> None:
    """The last word of a listed line, copied as it is, names that occurrence."""
    listed = plain_text(gov.run_sync("meetings --next 1", COORDINATOR, NOW)).splitlines()[1]
    key = listed.split()[-1]
    assert key == CORE
    cancelled = gov.run_sync(f"meeting cancel {key}", COORDINATOR, NOW)
    assert cancelled.ok, plain_text(cancelled)
    assert CORE not in plain_text(gov.run_sync("meetings --next 1", COORDINATOR, NOW))


@pytest.mark.parametrize(("guessed", "said"), [(True, True), (False, False)])
def test_a_guessed_calendar_address_says_so(gov: Governance, guessed: bool, said: bool) -> None:
    gov.public_url = "http://127.0.0.1:8080"
    gov.links_guessed = guessed
    footer = gov.run_sync("meetings", COORDINATOR, NOW).footer
    assert footer.startswith("Subscribe to every call: http://127.0.0.1:8080/calendar.ics ")
    assert footer.endswith(GUESSED_LINKS) is said


def confirmed(gov: Governance, preview: str, now: datetime) -> str:
    """What ``/charter confirm`` answers to the preview of ``preview``."""
    asked = plain_text(gov.run_sync(preview, COORDINATOR, now))
    found = re.search(r"/charter confirm (\S+)", asked)
    assert found, asked
    return plain_text(gov.run_sync(f"confirm {found.group(1)}", COORDINATOR, now))


BERLIN = "Thu 2026-04-02 15:00 Europe/Berlin"


@pytest.mark.parametrize(
    ("command", "now", "said"),
    [
        ("meeting cancel core-sync", NOW,
         f"Core client sync ({CORE}) at 2026-04-02T13:00Z ({BERLIN}) is cancelled."),
        ("meeting move core-sync 2026-04-03 10:00Z", NOW,
         f"Moves Core client sync ({CORE}, now 2026-04-02 13:00 UTC · {BERLIN})."),
        # held yesterday at 15:00 Berlin, winter time (14:00Z)
        ("meeting cancel core-sync@2026-03-19T15:00", NOW,
         "core-sync@2026-03-19T15:00 started 2026-03-19T14:00Z"
         " (Thu 2026-03-19 15:00 Europe/Berlin) and cannot be cancelled any more."),
        ("meeting move core-sync@2026-03-19T15:00 2026-03-24 15:00", NOW,
         "core-sync@2026-03-19T15:00 started 2026-03-19T14:00Z"
         " (Thu 2026-03-19 15:00 Europe/Berlin) and cannot be moved any more."),
    ],
)  # fmt: skip
def test_a_reply_about_one_call_names_the_zone_of_its_key(
    gov: Governance, command: str, now: datetime, said: str
) -> None:
    """Beside a key (15:00) and a start in UTC or the reader's zone (13:00Z), the start in the
    call's own zone says where 15:00 comes from, as the listing does; the key is unchanged."""
    assert said in plain_text(gov.run_sync(command, COORDINATOR, now))


def test_a_move_names_the_new_start_in_the_zone_of_the_key(gov: Governance) -> None:
    """The key keeps its first planned time; the new start is said in the call's zone too."""
    reply = confirmed(gov, "meeting move core-sync 2026-04-03 10:00Z", NOW)
    assert (
        f"Core client sync ({CORE}) now starts 2026-04-03T10:00Z"
        " (Fri 2026-04-03 12:00 Europe/Berlin)" in reply.splitlines()
    )


def test_an_ad_hoc_call_in_another_zone_is_cancelled_in_its_own_zone(gov: Governance) -> None:
    """Scheduled from Tokyo, a call's key is in Tokyo time: the cancel reply says so, whatever
    zone the reader has linked since."""
    link_zone(gov, COORDINATOR, "Asia/Tokyo", NOW)
    scheduled = confirmed(gov, 'meeting schedule "Tokyo retro" 2026-03-25 10:00', NOW)
    found = re.search(r"Scheduled (call-\S+)", scheduled)
    assert found, scheduled
    call = found.group(1)
    link_zone(gov, COORDINATOR, None, NOW)
    reply = plain_text(gov.run_sync(f"meeting cancel {call}", COORDINATOR, NOW))
    assert (
        f"Tokyo retro ({call}@2026-03-25T10:00) at 2026-03-25T01:00Z"
        " (Wed 2026-03-25 10:00 Asia/Tokyo) is cancelled." in reply.splitlines()
    )
