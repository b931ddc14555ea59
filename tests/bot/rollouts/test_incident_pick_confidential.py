"""An incident command that names no incident, with several open, asks which: a confidential
incident (one naming an undisclosed confidential proposal) is listed by id and summary only to
who may see that proposal; to anyone else, and in the (public) audit log, it is "a confidential
incident (sevN)", as a gate's reason words it."""

from __future__ import annotations

import json

import pytest

from storage import audit_query
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World
from tests.bot.rollouts.test_incident_command_inputs import embargoed  # noqa: F401 (fixture)

COMMANDS = ('incident update "still looking"', "incident role lead @kofi-sec", "incident resolve")

FULL = (
    "error: Several incidents are open (#1 (sev1: exploit seen in the embargoed fix), "
    "#2 (sev3: flaky peering)); say which with #<id>."
)
WORDED = (
    "error: Several incidents are open (a confidential incident (sev1), "
    "#2 (sev3: flaky peering)); say which with #<id>."
)


@pytest.fixture
def two_open(embargoed: World) -> World:  # noqa: F811
    """Incident 1 names the embargoed #2 (confidential); incident 2 names nothing (public)."""
    embargoed.ok(COUNCIL, 'incident declare sev1 "exploit seen in the embargoed fix" for 2')
    embargoed.ok(COUNCIL, 'incident declare sev3 "flaky peering"')
    return embargoed


def refusals(world: World) -> list[str]:
    with session_scope(world.engine) as session:
        rows = audit_query.entries(session, kind="command-refused")
        return [json.loads(r.payload)["why"] for r in reversed(rows)]


@pytest.mark.parametrize("text", COMMANDS)
def test_who_may_not_see_it_is_told_only_its_severity(two_open: World, text: str) -> None:
    said = two_open.refused(MAINTAINER["dorado"], text)
    assert said == WORDED
    assert "exploit" not in said and "#1" not in said


@pytest.mark.parametrize(
    "login", [MAINTAINER["aurora"], COUNCIL, COORDINATOR], ids=["its-client", "council", "coord"]
)
def test_who_may_see_it_is_told_its_id_and_summary(two_open: World, login: str) -> None:
    assert two_open.refused(login, 'incident update "still looking"') == FULL
    said = two_open.ok(login, 'incident update #1 "still looking"')
    assert said == "Update added to incident #1."


def test_the_audit_log_words_it_for_the_public(two_open: World) -> None:
    """The refusal is audited, and the audit log is public: there it is worded for anyone."""
    two_open.refused(COUNCIL, 'incident update "still looking"')
    two_open.refused(MAINTAINER["dorado"], 'incident update "still looking"')
    prefix = len("error: ")
    assert refusals(two_open)[-2:] == [WORDED[prefix:], WORDED[prefix:]]


def test_once_disclosed_everyone_may_see_it(two_open: World) -> None:
    two_open.ok(COUNCIL, "disclose 2")
    assert two_open.refused(MAINTAINER["dorado"], 'incident update "still looking"') == FULL


@pytest.mark.parametrize("text", ['incident update #1 "probe"', 'incident resolve #1 "done"'])
def test_a_confidential_incident_named_by_who_may_not_see_it_does_not_exist(
    two_open: World, text: str
) -> None:
    """A maintainer of another client may manage incidents, but not one they may not see:
    named by its id it is answered as a missing one, and nothing is changed."""
    assert two_open.refused(MAINTAINER["dorado"], text) == "error: There is no incident #1."
    assert "Several incidents are open (#1 (sev1" in two_open.refused(COUNCIL, "incident resolve")


def test_the_only_open_incident_is_not_picked_for_who_may_not_see_it(embargoed: World) -> None:  # noqa: F811
    embargoed.ok(COUNCIL, 'incident declare sev1 "exploit seen in the embargoed fix" for 2')
    said = embargoed.refused(MAINTAINER["dorado"], "incident resolve")
    assert said == "error: There is no open incident; name one with #<id>."
    assert embargoed.ok(MAINTAINER["aurora"], 'incident update "still looking"') == (
        "Update added to incident #1."
    )
