"""A chat answer cut to fit a platform says where it can be read whole (``Message.more``): the
dashboard page holding it. ``inventory`` → /rollouts, ``inventory N`` and ``rollout N`` → the
proposal's page (only when the public sees it there: a confidential proposal's page is a 404
until it is disclosed), ``meetings`` → /meetings, whose footer also gives the full calendar
address. Over the demo campaign (tests.bot.web.conftest)."""

from __future__ import annotations

import pytest

from bot.messages import Actor, plain_text
from bot.rollouts import _public_page
from bot.runtime import Runtime

COORDINATOR = Actor("jonas-coord", "console", "jonas-coord")
COUNCIL = Actor("kofi-sec", "console", "kofi-sec")


@pytest.mark.parametrize(
    ("command", "page"),
    [
        ("inventory", "/rollouts"),
        ("inventory 1", "/proposals/1"),
        ("rollout 1", "/proposals/1"),
        ("meetings", "/meetings"),
        ("proposals", "/proposals"),
    ],
)
def test_an_answer_names_the_page_that_holds_it_whole(
    seeded: Runtime, command: str, page: str
) -> None:
    answer = seeded.gov.run_sync(command, COORDINATOR)
    assert answer.ok, plain_text(answer)
    assert answer.more == seeded.settings.public_url.rstrip("/") + page


def test_the_calls_footer_gives_the_calendar_address_whole(seeded: Runtime) -> None:
    answer = seeded.gov.run_sync("meetings", COORDINATOR)
    base = seeded.settings.public_url.rstrip("/")
    assert f"Subscribe to every call: {base}/calendar.ics " in answer.footer


def test_no_page_is_named_without_a_public_url(seeded: Runtime) -> None:
    seeded.gov.public_url = ""
    assert seeded.gov.run_sync("inventory", COORDINATOR).more == ""
    assert (
        "Subscribe to every call: /calendar.ics "
        in seeded.gov.run_sync("meetings", COORDINATOR).footer
    )


def test_a_confidential_proposal_page_is_named_only_once_disclosed(seeded: Runtime) -> None:
    """#9 is a confidential security patch: its dashboard page is a 404 for the public until it
    is disclosed, so no answer points there before."""
    stored = seeded.gov.load(9)
    assert stored is not None and not stored.disclosed
    assert _public_page(seeded.gov, stored, "/proposals/9") == ""
    assert seeded.gov.run_sync("disclose 9", COUNCIL).ok
    disclosed = seeded.gov.load(9)
    assert disclosed is not None
    base = seeded.settings.public_url.rstrip("/")
    assert _public_page(seeded.gov, disclosed, "/proposals/9") == f"{base}/proposals/9"
