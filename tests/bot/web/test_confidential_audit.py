"""Nothing about an undisclosed confidential proposal reaches an anonymous visitor: not its
rollout's audit entries, not the private calls about it, not the incidents that name it or hold
(or held) its rollout paused — on the audit log (filtered or not), the incident lists, the
overview, the rollouts and proposal pages' pause and gate reasons, /api/status and the Atom feed.

The scenario is the demo campaign plus, through the real command path: the undisclosed
security patch #9 accepted and rolling out; incident 3 naming #9; a private call about #9;
incident 4 (naming #9 and client aurora) pausing public #1 and #2 and secret #9; incident 5
(naming #9 only) pausing #9 and then resolved (its pause lifted: only the audit log remembers
it); a private go/no-go call for #9's production stage and its recorded no-go. (An incident
naming #9's clients only, or nothing, stays public:
tests/bot/rollouts/test_incident_client_embargo.py.)
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from unittest.mock import patch

import httpx
import pytest

from bot import rollouts as bot_rollouts
from bot.clock import FixedClock
from bot.messages import Actor, plain_text
from bot.runtime import Runtime
from bot.web.queries import Reader
from storage import dashboard_queries as q, meetings as meetings_store, rollouts as rollout_store
from storage.db import read_scope, session_scope
from tests.bot.web.conftest import NOW

PUBLIC_INCIDENT = "Eridanus canary RPC latency above SLO"  # the demo's incident 2
NAMES_IT = "Gossip-mesh flaw seen on testnet"  # incident 3: names #9
PAUSES_IT = "Embargoed build pause for aurora"  # incident 4: names #9, pauses #1, #2, #9
PAUSED_IT = "Borealis peering stall"  # incident 5: names #9, paused it, resolved since
CALL = "Embargo call on the flaw"  # the private call about #9
CALL_ID = "call-20261204-1500-k3m9"  # its id, with the random suffix fixed (build)
NOTE = "still reproducible on canary"  # the no-go's note
SECRET_TEXT = [NAMES_IT, PAUSES_IT, PAUSED_IT, CALL, NOTE, "patch ETA tomorrow"]


def run(rt: Runtime, login: str, text: str) -> str:
    actor = Actor(login=login, surface="console", surface_id=login, display=login)
    message = rt.gov.run_sync(text, actor, now=rt.clock.now())
    said = plain_text(message)
    assert message.ok, f"{login}: {text} -> {said}"
    return said


def build(rt: Runtime) -> None:
    for who in ("lena-sec", "alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado"):
        run(rt, who, "vote 9 approve")
    run(rt, "hana-eridanus", "vote 9 approve")
    assert isinstance(rt.clock, FixedClock)
    rt.clock.set(NOW + timedelta(days=2))
    rt.gov.tick(rt.clock.now())
    run(rt, "jonas-coord", "rollout 9")
    for client, who in (
        ("aurora", "alice-aurora"),
        ("borealis", "carmen-borealis"),
        ("cirrus", "emeka-cirrus"),
        ("dorado", "fatima-dorado"),
        ("eridanus", "hana-eridanus"),
    ):
        run(rt, who, f"ready 9 {client} staging 1.0.0 abcdef1234")
    assert "#3" in run(rt, "kofi-sec", f'incident declare sev2 "{NAMES_IT}" for 9')
    run(rt, "kofi-sec", 'incident update #3 "patch ETA tomorrow"')
    said = run(rt, "jonas-coord", f'meeting schedule "{CALL}" tomorrow 15:00 1h for 9')
    code = re.search(r"confirm (\S+)", said)
    assert code is not None
    with patch.object(meetings_store, "random_call_suffix", lambda: CALL_ID.rsplit("-")[-1]):
        assert CALL_ID in run(rt, "jonas-coord", f"confirm {code.group(1)}")
    paused = run(rt, "kofi-sec", f'incident declare sev1 "{PAUSES_IT}" for 9 clients aurora')
    assert "#4" in paused and "#1" in paused and "#9" in paused
    assert "#9" in run(rt, "kofi-sec", f'incident declare sev1 "{PAUSED_IT}" for 9')
    run(rt, "kofi-sec", 'incident resolve #5 "peering restored"')
    now = rt.clock.now()
    with session_scope(rt.engine) as session:  # #9 soaked in canary: production needs a go/no-go
        r = rollout_store.load_rollout(session, 9, rt.gov.charter)
        assert r is not None
        entered = {**r.stage_entered_at, "canary": now - timedelta(days=14)}
        moved = replace(
            r, stage_index=1, positions=dict.fromkeys(r.clients, 1), stage_entered_at=entered
        )
        rollout_store.save_rollout(session, moved, rt.gov.charter, now)
    rt.gov.tick(now)
    with session_scope(rt.engine) as session:
        bot_rollouts.record_go_no_go(
            rt.gov,
            session,
            proposal=9,
            stage="production",
            decision="no-go",
            by="kofi-sec",
            now=now,
            note=NOTE,
        )


async def _text(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, path
    return response.text


def _rows(html: str) -> list[list[str]]:
    """The audit table's rows, each as its first five cells' text."""
    out = []
    for row in re.findall(r'<tr id="entry-\d+"[^>]*>(.*?)</tr>', html, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        out.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells][:5])
    return out


# -- the predicate --------------------------------------------------------------------------------


def test_the_predicate_names_the_confidential_incidents_and_calls(secret_rt: Runtime) -> None:
    """3 names #9, 4 holds it paused, 5 held it paused; 2 is public. Disclosed, none is."""
    with read_scope(secret_rt.engine) as session:
        secret = q.secrets(session)
    assert secret.proposals == {9}
    assert secret.incidents == {"3", "4", "5"}
    assert {CALL_ID, "go-no-go-9-production"} <= secret.meetings
    assert "go-no-go-1-production" not in secret.meetings
    run(secret_rt, "kofi-sec", "disclose 9")
    with read_scope(secret_rt.engine) as session:
        assert replace(q.secrets(session), known=None) == q.Secrets()


# -- 1: the audit log -----------------------------------------------------------------------------

AUDIT_LEAKS = [
    # (page, what it must not show)
    ("/audit", "rollout:9"),  # rollout-started … go-no-go-recorded of the hidden rollout
    ("/audit", f"meeting:{CALL_ID}"),  # the private call's meeting-scheduled
    ("/audit", "meeting:go-no-go-9-production"),  # the private go/no-go call
    ("/audit", "incident:3"),  # names #9
    ("/audit", "incident:4"),  # holds #9 paused
    ("/audit", "incident:5"),  # held #9 paused
    ("/audit", NAMES_IT),
    ("/audit", NOTE),
    ("/audit?kind=rollout-started", "rollout:9"),
    ("/audit?kind=go-no-go-recorded", NOTE),
    ("/audit?kind=meeting-scheduled", CALL),
    ("/audit?kind=incident-declared", PAUSES_IT),
    ("/audit?kind=rollout-paused", PAUSES_IT),  # #1's pause quotes incident 4
    ("/audit?subject=rollout:1", PAUSES_IT),
    ("/audit?subject=incident:3", "patch ETA tomorrow"),
    ("/proposals/1", PAUSES_IT),  # the timeline's rollout-paused entry
]


@pytest.mark.parametrize(("path", "secret"), AUDIT_LEAKS)
async def test_audit_entries_about_the_secret_are_withheld(
    anon: httpx.AsyncClient, path: str, secret: str
) -> None:
    assert secret not in await _text(anon, path)


async def test_withheld_rows_keep_only_their_place_and_hashes(anon: httpx.AsyncClient) -> None:
    """Unfiltered, a withheld entry shows its seq and hash, no time, actor, kind, subject or
    charter version: with its hash, its time to the microsecond would let a guess of the rest be
    confirmed (a vote's few choices, seats and voters). A public row shows them all."""
    html = await _text(anon, "/audit")
    withheld = re.findall(r'<tr id="entry-\d+" class="withheld">(.*?)</tr>', html, re.S)
    public = re.findall(r'<tr id="entry-\d+">(.*?)</tr>', html, re.S)
    assert len(withheld) >= 10 and public
    for row in withheld:
        assert "<time" not in row and "charter v" not in row, row
        assert re.search(r'<code title="[0-9a-f]{64}">', row), row
    for row in public:
        assert "<time" in row and "charter v" in row, row
    for seq, at, actor, kind, subject in _rows(html):
        if subject == "withheld":
            assert (at, actor, kind) == ("—", "—", "—"), seq
    assert "withheld: a confidential proposal" in html


def test_the_audit_page_reads_no_time_or_version_of_a_withheld_entry(secret_rt: Runtime) -> None:
    """What the page is built from (and anything else that shows ``Reader.audit_page``) holds
    neither for a withheld entry; its seq and hashes stay (the chain stays checkable)."""
    reader, before, seen = Reader(secret_rt.gov, secret_rt.clock.now()), None, []
    while True:
        page, before = reader.audit_page(before=before, subject=None, kind=None)
        seen += page
        if before is None:
            break
    hidden = [e for e in seen if e["withheld"]]
    assert hidden and len(hidden) < len(seen)
    for e in seen:
        shown = (e["at"] is not None, e["charter_version"] is not None)
        assert shown == (not e["withheld"],) * 2, e
        assert len(e["hash"]) == len(e["prev_hash"]) == 64


FILTERS = [
    # (a filter on a hidden thing, the same filter on a thing that does not exist)
    ("subject=proposal:9", "subject=proposal:99999"),
    ("subject=rollout:9", "subject=rollout:99999"),
    ("subject=incident:3", "subject=incident:99999"),
    ("subject=incident:5", "subject=incident:99998"),
    (f"subject=meeting:{CALL_ID}", "subject=meeting:call-20991204-1500-k3m9"),
    ("subject=meeting:go-no-go-9-production", "subject=meeting:go-no-go-99999-production"),
    ("kind=go-no-go-recorded", "kind=no-such-kind"),  # only #9 has one
]


@pytest.mark.parametrize(("hidden", "absent"), FILTERS)
async def test_a_filter_on_a_hidden_thing_answers_as_for_nothing(
    anon: httpx.AsyncClient, hidden: str, absent: str
) -> None:
    """The page differs only by the echoed filter: "No entries match", no withheld row."""
    seen = await _text(anon, f"/audit?{hidden}")
    nothing = await _text(anon, f"/audit?{absent}")
    value, other = hidden.partition("=")[2], absent.partition("=")[2]
    assert "No entries match" in nothing
    assert seen.replace(value, "X") == nothing.replace(other, "X")


@pytest.mark.parametrize(
    "kind",
    ["vote-cast", "rollout-started", "stage-entered", "meeting-scheduled", "incident-declared"],
)
async def test_a_kind_filter_shows_no_withheld_row(anon: httpx.AsyncClient, kind: str) -> None:
    """Filtered by kind, the public entries of that kind are shown and withheld ones left out
    (a withheld row under ``kind=`` would say what the secret did)."""
    html = await _text(anon, f"/audit?kind={kind}")
    rows = _rows(html)
    assert rows and 'class="withheld"' not in html
    assert {kind_ for _, _, _, kind_, _ in rows} == {kind}


# -- 2: confidential incidents --------------------------------------------------------------------

INCIDENT_PAGES = [
    "/",
    "/incidents",
    "/rollouts",
    "/proposals/1",
    "/proposals/2",
    "/api/status",
    "/feeds/announcements.atom",
]


@pytest.mark.parametrize("path", INCIDENT_PAGES)
@pytest.mark.parametrize("summary", [NAMES_IT, PAUSES_IT, PAUSED_IT])
async def test_confidential_incidents_are_not_public(
    anon: httpx.AsyncClient, path: str, summary: str
) -> None:
    html = await _text(anon, path)
    assert summary not in html
    assert "incident 4 (" not in html and "incident-4" not in html and '"id":4' not in html


@pytest.mark.parametrize(("path", "shown"), [("/incidents", 1), ("/", 1), ("/api/status", 1)])
async def test_public_incidents_stay_listed(anon: httpx.AsyncClient, path: str, shown: int) -> None:
    html = await _text(anon, path)
    assert html.count(PUBLIC_INCIDENT) >= shown


PAUSED_BY_SECRET = [
    # (page, what it says of #1's or #2's pause or gates instead)
    ("/proposals/1", "<strong>paused</strong>: a confidential incident</caption>"),
    ("/proposals/1", "a confidential incident is open"),
    ("/rollouts", "<strong>paused</strong>: a confidential incident</caption>"),
    ("/", "a confidential incident is open"),
    ("/feeds/announcements.atom", '<content type="text">a confidential incident'),
]


@pytest.mark.parametrize(("path", "said"), PAUSED_BY_SECRET)
async def test_a_public_rollout_held_by_one_says_a_confidential_incident(
    anon: httpx.AsyncClient, path: str, said: str
) -> None:
    assert said in await _text(anon, path)


async def test_disclosure_makes_it_all_public(anon: httpx.AsyncClient, secret_rt: Runtime) -> None:
    """Once #9 is disclosed, its incidents and audit entries are public again."""
    run(secret_rt, "kofi-sec", "disclose 9")
    incidents = await _text(anon, "/incidents")
    assert NAMES_IT in incidents and PAUSES_IT in incidents and PAUSED_IT in incidents
    assert '<a href="/proposals/9">rollout:9</a>' in await _text(anon, "/audit?subject=rollout:9")
