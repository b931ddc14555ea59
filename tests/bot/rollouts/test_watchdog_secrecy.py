"""The stuck-rollout watchdog tells no secret in public, nor to anyone who may not see it.

Its alert goes two ways: to the roles it notifies (private messages, and fallback only on
channels marked private, :mod:`bot.notify_plan`) and to the audit log as ``escalation-fired``,
which the public dashboard shows. A confidential rollout's alert is filed under ``rollout:<n>``,
so the public log withholds it while the proposal is undisclosed, and it reaches only the members
of its roles who may see that rollout, each by a direct message; a public rollout's alert words a
confidential incident as every public notice of its gates does ("a confidential incident
(<severity>) is open": no number, no summary); and the go/no-go reason it quotes is the plain
one, which never names a call (a private call's id stays out of it)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from bot.rollout_watch import snapshot
from bot.web.queries import WITHHELD, Reader
from storage.db import session_scope
from tests.bot.rollouts.conftest import MAINTAINER, H, World
from tests.bot.rollouts.test_confidential_incident_gates import SAID, SECRET, blocked
from tests.paths import reference_charter_text

STUCK_RULE = """
  - when: stage-stuck
    after: 1h
    notify: [coordinators]
"""


@pytest.fixture
def stuck(sqlite_engine: Engine) -> World:
    """Public #1 and the embargoed patch #2 (aurora) on staging, both kept from canary by a
    confidential sev2 incident about aurora that names #2, past canary's 72h soak."""
    world = World(sqlite_engine, reference_charter_text() + STUCK_RULE)
    blocked(world, SECRET, about_the_patch=True)
    world.ok(MAINTAINER["aurora"], "ready 2 aurora staging 1.0.1")
    world.later(72 * H + 2 * H)
    world.tick()
    return world


def _texts(items: list[dict[str, object]]) -> list[str]:
    return [str(item.get("text", "")) for item in items]


def test_both_alerts_reach_their_roles_privately(stuck: World) -> None:
    """#1's as a role notification, #2's as a direct message to each coordinator (who may all
    see it); neither is announced nor commented, and neither quotes the incident."""
    alerts = [i for i in stuck.outbox("notify") if "past its soak" in str(i["text"])]
    assert [(str(a["text"])[:3], a["roles"]) for a in alerts] == [("#1 ", ["coordinators"])]
    told = [i for i in stuck.outbox("direct-message") if "past its soak" in str(i["text"])]
    assert sorted((str(i["text"])[:3], i["login"]) for i in told) == [
        ("#2 ", "ines-coord"),
        ("#2 ", "jonas-coord"),
    ]
    said = [str(i["text"]) for i in alerts + told]
    assert all(SECRET not in text and SAID in text for text in said)
    public = _texts(stuck.outbox("announce")) + [str(c["body"]) for c in stuck.outbox("comment")]
    assert not [t for t in public if "past its soak" in t]  # never announced nor commented


def test_the_public_log_withholds_the_confidential_rollouts_alert(stuck: World) -> None:
    reader = Reader(stuck.gov, stuck.clock.now())
    fired, _ = reader.audit_page(before=None, subject=None, kind="escalation-fired")
    stuck_alerts = [e for e in fired if "past its soak" in e["payload"]]
    assert [e["subject"] for e in stuck_alerts] == ["rollout:1"]  # #2's is left out
    (alert,) = stuck_alerts
    text = json.loads(alert["payload"])["text"]
    assert f"- {SAID}" in text.splitlines()
    assert SECRET not in text and "incident 1" not in text
    assert reader.audit_page(before=None, subject="rollout:2", kind=None) == ([], None)
    everything, _ = reader.audit_page(before=None, subject=None, kind=None)
    assert not [e for e in everything if "#2 " in e["payload"] or SECRET in e["payload"]]
    assert any(e["payload"] == WITHHELD for e in everything)


def test_the_watchdog_never_names_a_call(stuck: World) -> None:
    """The gate facts the watchdog judges by carry no cancelled call, so its go/no-go reason is
    the plain one (the dashboard names a hand-cancelled call only when it is not private)."""
    with session_scope(stuck.engine) as session:
        facts = snapshot(stuck.gov, session).facts
    assert facts and all(f.cancelled_call is None for f in facts.values())


COUNCIL_LINE = "  security-council: [kofi-sec, lena-sec, mateo-sec]"
# A role of the charter's own that neither coordinates nor sits on the council: rita may not
# see an embargoed rollout, alice may (aurora ships it).
RELEASE_MANAGERS = f"{COUNCIL_LINE}\n  release-managers: [rita-release, alice-aurora]"


def test_a_confidential_rollouts_alert_reaches_only_those_who_may_see_it(
    sqlite_engine: Engine,
) -> None:
    """The embargoed #2 does not exist to a member of its roles who is neither a coordinator,
    on the council nor a maintainer of a client that ships it (:func:`bot.rollout_steps.visible`):
    its alert goes as a direct message to each member of its roles who may see it, not as a
    role notification; public #1's alert still notifies the roles."""
    text = reference_charter_text().replace(COUNCIL_LINE, RELEASE_MANAGERS)
    assert RELEASE_MANAGERS in text
    rule = STUCK_RULE.replace("[coordinators]", "[release-managers, security-council]")
    world = World(sqlite_engine, text + rule)
    blocked(world, SECRET, about_the_patch=True)
    world.ok(MAINTAINER["aurora"], "ready 2 aurora staging 1.0.1")
    world.later(72 * H + 2 * H)
    world.tick()
    notified = [i for i in world.outbox("notify") if "past its soak" in str(i["text"])]
    assert [str(i["text"]).split(" ", 1)[0] for i in notified] == ["#1"]
    assert notified[0]["roles"] == ["release-managers", "security-council"]
    told = [i for i in world.outbox("direct-message") if "past its soak" in str(i["text"])]
    assert {str(i["text"]).split(" ", 1)[0] for i in told} == {"#2"}
    assert sorted(str(i["login"]) for i in told) == [
        "alice-aurora",
        "kofi-sec",
        "lena-sec",
        "mateo-sec",
    ]
    world.later(H)
    world.tick()  # once per condition, as before
    assert len([i for i in world.outbox("direct-message") if "past its soak" in i["text"]]) == 4
