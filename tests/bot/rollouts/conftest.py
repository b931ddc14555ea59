"""A governed world for the rollout tests: the reference charter, a migrated database, the real
service with the rollout area installed, and a clock moved by hand.

Proposals are accepted through the real path: a GitHub ``issues`` delivery (the public fixture,
re-pointed at the charter's repository, carrying the example form body) → review → the review
deadline fires on ``tick`` → every client maintainer approves with ``/charter approve`` → the
confirmation window passes → ``tick`` closes voting. Check runs and workflow runs are the public
webhook fixtures with repo, head_sha, name and conclusion adapted, parsed by ``parse_event`` and
fed through ``bot.github.handler.handle_event``.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot import rollouts
from bot.clock import FixedClock
from bot.github.events import parse_event
from bot.github.handler import handle_event
from bot.messages import Actor, Message, plain_text
from bot.service import Governance
from charter.lifecycle import State
from charter.load import load_charter
from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from tests.paths import FIXTURES, reference_charter_text, shared_path

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
CLIENTS = ("aurora", "borealis", "cirrus", "dorado", "eridanus")
MAINTAINER = {
    "aurora": "alice-aurora",
    "borealis": "carmen-borealis",
    "cirrus": "emeka-cirrus",
    "dorado": "fatima-dorado",
    "eridanus": "hana-eridanus",
}
COORDINATOR = "ines-coord"
EXAMPLE_PREREQUISITES = (
    "aurora >= 4.2, borealis >= 1.19, cirrus >= 25.1, dorado >= 3.0, eridanus >= 0.9"
)
COUNCIL = "kofi-sec"
EXAMPLE_BODY = shared_path("github", "example-proposal-body.md").read_text(encoding="utf-8")


def person(login: str | None) -> Actor:
    return Actor(login=login, surface="console")


def webhook(event: str, action: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / "github" / "webhooks" / event / f"{action}.payload.json").read_text()
    )
    return data


def form(
    *,
    track: str = "protocol-change",
    clients: tuple[str, ...] = CLIENTS,
    flag: str | None = None,
    likelihood: int = 2,
    impact: int = 4,
    activation: str | None = None,
    prerequisites: str = "libp2p >= 0.53",
) -> str:
    """The example proposal body with the track, clients, flag, risk and prerequisites
    replaced (by default a library, so no client has a minimum release; the example asks
    aurora >= 4.2, borealis >= 1.19, …: ``EXAMPLE_PREREQUISITES``)."""
    body = EXAMPLE_BODY.replace("protocol-change", track, 1)
    ticks = "\n".join(f"- [{'X' if c in clients else ' '}] {c}" for c in CLIENTS)
    body = re.sub(r"(### Affected clients\n\n)(?:- \[.\] \w+\n)+", rf"\g<1>{ticks}\n", body)
    body = body.replace(
        "### Feature flag\n\n_No response_", f"### Feature flag\n\n{flag or '_No response_'}"
    )
    if activation is not None:
        body = body.replace("2027-03-04T14:00Z", activation)
    body = re.sub(
        r"(### Prerequisites and dependency versions\n\n).*", rf"\g<1>{prerequisites}", body
    )
    body = re.sub(r"(### Risk likelihood\n\n)\d", rf"\g<1>{likelihood}", body)
    return re.sub(r"(### Risk impact\n\n)\d", rf"\g<1>{impact}", body)


class World:
    def __init__(self, engine: Engine, charter_text: str | None = None) -> None:
        self.engine = engine
        self.clock = FixedClock(START)
        loaded = load_charter(charter_text or reference_charter_text(), "reference")
        self.gov = Governance(engine, loaded, self.clock)
        rollouts.install_on(self.gov)

    # -- time and commands ----------------------------------------------------------------

    def later(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def tick(self) -> int:
        return self.gov.tick(self.clock.now())

    def run(self, login: str | None, text: str) -> Message:
        return self.gov.run_sync(text, person(login))

    def ok(self, login: str | None, text: str) -> str:
        message = self.run(login, text)
        rendered = plain_text(message)
        assert message.ok, f"{text!r} was refused: {rendered}"
        return rendered

    def refused(self, login: str | None, text: str) -> str:
        message = self.run(login, text)
        rendered = plain_text(message)
        assert not message.ok, f"{text!r} should have been refused: {rendered}"
        return rendered

    # -- GitHub ------------------------------------------------------------------------------

    def deliver(self, event: str, payload: dict[str, Any]) -> None:
        parsed = parse_event(event, payload)
        assert parsed is not None
        with session_scope(self.engine) as session:
            handle_event(self.gov, session, parsed, self.clock.now())

    def open_issue(self, number: int, body: str, title: str = "Raise the gas target") -> None:
        payload = copy.deepcopy(webhook("issues", "opened"))
        payload["repository"]["full_name"] = self.gov.charter.github.repository
        issue = payload["issue"]
        issue.update(number=number, title=title, body=body)
        issue["user"]["login"] = MAINTAINER["aurora"]
        issue["labels"] = [{"name": self.gov.charter.github.proposal_label}]
        issue["updated_at"] = self.clock.now().isoformat().replace("+00:00", "Z")
        self.deliver("issues", payload)

    def check(
        self,
        client: str,
        sha: str,
        name: str,
        conclusion: str | None = "success",
        *,
        kind: str = "check_run",
        head_branch: str | None = None,
    ) -> None:
        """A real check_run or workflow_run payload, adapted to one client's commit (and, for a
        workflow run, the branch or tag it ran for)."""
        payload = copy.deepcopy(webhook(kind, "completed"))
        payload["repository"]["full_name"] = self.gov.charter.client(client).repository  # type: ignore[union-attr]
        run = payload[kind]
        run.update(head_sha=sha, name=name, conclusion=conclusion)
        if head_branch is not None:
            run["head_branch"] = head_branch
        run["status"] = "completed" if conclusion else "in_progress"
        # Stamped with the world's clock, as GitHub stamps a run's start, end or last update
        # (the newest of two events is the one that counts: storage.check_results.record_check).
        stamp = self.clock.now().isoformat().replace("+00:00", "Z")
        if kind == "check_run":
            run.update(started_at=stamp, completed_at=stamp if conclusion else None)
        else:
            run["updated_at"] = stamp
        self.deliver(kind, payload)

    def release(self, client: str, tag: str, body: str, author: str) -> None:
        payload = copy.deepcopy(webhook("release", "published"))
        payload["repository"]["full_name"] = self.gov.charter.client(client).repository  # type: ignore[union-attr]
        stamp = self.clock.now().isoformat().replace("+00:00", "Z")  # published as delivered
        payload["release"].update(tag_name=tag, body=body, published_at=stamp)
        payload["release"]["author"]["login"] = author
        self.deliver("release", payload)

    # -- proposals -------------------------------------------------------------------------------

    def state(self, n: int) -> State:
        stored = self.gov.load(n)
        assert stored is not None
        return stored.proposal.state

    def accept(self, n: int, body: str, *, title: str = "Raise the gas target") -> None:
        """Open, review, vote (every client approves) and close: the real path."""
        self.open_issue(n, body, title)
        assert self.state(n) is State.REVIEW
        track = self.gov.charter.tracks[self.gov.load(n).proposal.track]  # type: ignore[union-attr]
        self.later(track.review + H)
        self.tick()
        assert self.state(n) is State.VOTING
        for login in MAINTAINER.values():
            if self.state(n) is State.VOTING:
                self.ok(login, f"approve {n} ship it")
        self.later((track.confirm or timedelta(0)) + H)
        self.tick()
        assert self.state(n) is State.ACCEPTED

    # -- the outbox ---------------------------------------------------------------------------

    def outbox(self, kind: str) -> list[dict[str, Any]]:
        with session_scope(self.engine) as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.kind == kind)).all()
            return [outbox.payload(row) for row in rows]

    def announced(self, needle: str) -> list[dict[str, Any]]:
        return [a for a in self.outbox("announce") if needle in a["title"] + a["text"]]


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    return World(sqlite_engine)
