"""Releases read from GitHub for rollout readiness (poll mode, and webhook mode's reconcile).

A published release whose body says ``charterbot: ready <n> <stage>`` reports its client ready
(``bot.rollout_watch.on_release``), but only a ``release`` webhook brings it: in poll mode
nothing would, and a webhook GitHub failed to deliver is never recovered. So the leader also
lists the recent releases of the clients' repositories: on each poll in poll mode, and every
``CHARTERBOT_GITHUB_RECONCILE_SECONDS`` in webhook mode (``bot.bootstrap``).

Rules:
- Wanted: the repository (the charter's ``clients[].repository``) of every client of a rollout
  under way (``storage.rollouts.rollouts(active_only=True)``: not completed, not ended), each
  once. Such a client may always report (its next stage, or its current one again: a fixed
  release restarts a soak). Nothing at all is asked while no rollout is under way.
- Bound: a pass reads at most ``MAX_REPOS_PER_PASS`` repositories, one request each, for the
  newest ``RELEASES_PER_REPO`` releases (GitHub lists newest first). Repositories read longest
  ago (never read: first) go first, so every wanted one is read within
  ceil(wanted / ``MAX_REPOS_PER_PASS``) passes. More releases than that published between two
  reads of a repository: the older ones are not seen.
- What counts: a release that is published (a draft is not; a prerelease is, as its webhook
  is ``published`` too), and of its ``charterbot: ready <n> <stage>`` lines
  (``bot.github.events.RELEASE_LINE``, the pattern ``on_release`` reads; the body is cut into
  lines at ``\n`` only, as that pattern's ``^``/``$`` cut it, so both take the same lines and
  a ready line broken over two lines counts in neither) those that could not have been
  reported already (``counting_body``):
  * ``#n``'s rollout is under way, else the line is dropped, no refusal audited (unknown,
    not yet accepted, done: what its webhook met then cannot be told now);
  * the release was published at or after that rollout started: one published before (say
    while ``#n`` was in review) was refused then by its webhook ("a rollout starts once it is
    accepted") and is not taken up later; the maintainer reports that release with ``ready``;
  * the client has no report for that stage of the same tag, nor one made at or after the
    release's publication: the release was reported already (its webhook, a ``ready``
    command), or a newer report replaced it, which an older release must not override.
  A line naming a client, stage or order the rollout refuses is kept: the worker refuses it
  and audits ``release-report-refused`` as it does a webhook's. A stage is judged when the
  worker handles the delivery, as a late webhook would be: a release that named the stage
  after the rollout's next one counts if the rollout got there before the worker handled it.
  The other lines of the body are kept as they are; a release with no line left is not stored.
- A release whose ``published`` webhook delivery is in the inbox already (same repository and
  release id) is not stored again. Only that action is acted on (``events._release_event``):
  a release's other deliveries (``created``, ``edited``, ``released``, ``prereleased``…) carry
  nothing, so with its ``published`` one lost the release is still read back. In webhook mode
  a release published less than ``settle`` ago (``WEBHOOK_SETTLE``) waits for a later pass, so
  its own webhook, which comes within seconds, is stored and handled first.
- Each release stored goes to the inbox as the ``release`` delivery a webhook would carry
  (source ``github``, action ``published``, a webhook-shaped payload), so the worker parses it
  (``bot.github.events.parse_event``) and records it through ``on_release``: one path for
  both modes. Its key is ``poll:release:<repo>:<release id>``: a release is stored at most
  once, whatever later passes read (a webhook's later ``edited`` is not acted on either).
- GitHub's rate limit: every request goes through the throttle the relays, poller,
  reconciler and check reader share (the gateway). A refusal that outlasts the throttle's
  retries, or a hold from an earlier one (``RateLimitHeld``: nothing is called), ends the
  pass; the repositories not read keep their turn. Any other failure on one repository (gone,
  not readable by the token, a malformed answer) is logged and it goes to the back of the line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.github.events import RELEASE_LINE
from bot.github.wire import format_time
from bot.ports import GitHubError, GitHubGateway, GitHubRateLimited, ReleaseSnapshot
from charter.model import Charter
from charter.rollout import Rollout
from charter.rollout_facts import tag_name
from storage import rollouts as store
from storage.db import read_scope
from storage.models.core import InboxRow

log = logging.getLogger("charterbot.github.releases")

MAX_REPOS_PER_PASS = 10
RELEASES_PER_REPO = 20
WEBHOOK_SETTLE = timedelta(minutes=10)
SOURCE = "github"  # parsed as the webhook payload it is shaped as (bot.github.handler.processor)
EVENT = "release"
_NEVER = datetime.min.replace(tzinfo=UTC)
# How much earlier than a release's publication its webhook may have been stored (clocks).
_CLOCK_SLACK = timedelta(hours=1)


Store = Callable[[str, str, str, bytes], Awaitable[bool]]


@dataclass(frozen=True)
class Wanted:
    """A client's repository whose releases may report readiness."""

    repo: str
    client: str


def client_of(charter: Charter, repo: str) -> str | None:
    """The client whose repository ``repo`` is (case aside), as ``on_release`` finds it."""
    low = repo.lower()
    return next((cl.id for cl in charter.clients if (cl.repository or "").lower() == low), None)


def wanted(rollouts: Iterable[Rollout], charter: Charter) -> list[Wanted]:
    """The repositories of the clients of ``rollouts`` (those under way), each once, in
    rollout order; a client without a repository has none to read."""
    repos = {cl.id: cl.repository for cl in charter.clients if cl.repository}
    found: dict[str, Wanted] = {}
    for rollout in rollouts:
        for client in rollout.clients:
            repo = repos.get(client)
            if repo is not None:  # its releases stand for the client on_release names
                found.setdefault(repo.lower(), Wanted(repo, client_of(charter, repo) or client))
    return list(found.values())


def _reported(rollout: Rollout, client: str, stage: str, tag: str, published: datetime) -> bool:
    """Whether ``client`` reported ``stage`` with this tag, or at all since ``published``."""
    return any(
        r.client == client
        and r.stage == stage
        and ((r.ref is not None and tag_name(r.ref) == tag) or r.at >= published)
        for r in rollout.reports
    )


def counts(
    n: int, stage: str, client: str, release: ReleaseSnapshot, live: Mapping[int, Rollout]
) -> bool:
    """Whether the line ``charterbot: ready <n> <stage>`` of ``client``'s ``release`` is
    stored (see the module rules); ``live``: the rollouts under way, by proposal."""
    rollout = live.get(n)
    published = release.published_at
    if rollout is None or published is None or rollout.started_at > published:
        return False
    return not _reported(rollout, client, stage.lower(), release.tag, published)


def counting_body(client: str, release: ReleaseSnapshot, live: Mapping[int, Rollout]) -> str | None:
    """The release's body without the ready lines that do not count, or None when none does
    (a draft: none; one unpublished back to a draft keeps its ``published_at``)."""
    if release.draft:
        return None
    kept, any_line = [], False
    # The lines on_release's findall sees: its ^ and $ cut at "\n" only, where splitlines()
    # also cuts at "\r", "\x85", "\u2028"... (a ready line split there is no line for it).
    for line in release.body.split("\n"):
        match = RELEASE_LINE.fullmatch(line)
        if match is None:
            kept.append(line)
        elif counts(int(match.group(1)), match.group(2), client, release, live):
            kept.append(line)
            any_line = True
    return "\n".join(kept) if any_line else None


def webhook_payload(repo: str, release: ReleaseSnapshot, body: str) -> dict[str, Any]:
    """The ``release`` webhook payload (action ``published``) GitHub would send for
    ``release``, with ``body``, and what the parser reads of it (``events._release_event``)."""
    published = release.published_at
    return {
        "action": "published",
        "release": {
            "id": int(release.release_id) if release.release_id.isdigit() else release.release_id,
            "tag_name": release.tag,
            "name": release.name,
            "body": body,
            "draft": release.draft,
            "prerelease": release.prerelease,
            "html_url": release.html_url,
            "published_at": None if published is None else format_time(published),
            "author": {"login": release.author},
        },
        "repository": {"full_name": repo},
    }


def delivery_key(repo: str, release: ReleaseSnapshot) -> str:
    """The inbox key of a polled release: one per release, whatever its later state."""
    return f"poll:{EVENT}:{repo.lower()}:{release.release_id}"


def webhook_carried(session: Session, since: datetime) -> set[tuple[str, str]]:
    """(repository, release id) of each ``release`` webhook delivery stored since ``since``
    whose action is ``published``: the only one the worker acts on."""
    rows = session.exec(
        select(InboxRow.body)
        .where(InboxRow.source == SOURCE, InboxRow.event == EVENT)
        .where(col(InboxRow.received_at) >= since)
        .where(col(InboxRow.key).not_like("poll:%"))
    ).all()
    found = set()
    for body in rows:
        try:
            payload = json.loads(body)
            action = payload["action"]
            repo, release = payload["repository"]["full_name"], payload["release"]["id"]
        except (ValueError, TypeError, KeyError):  # a malformed delivery carried nothing
            continue
        if action == "published":  # created, edited, released...: parsed to nothing
            found.add((str(repo).lower(), str(release)))
    return found


class ReleaseReader:
    """Reads the clients' recent releases and stores those that report as webhook deliveries."""

    def __init__(
        self,
        engine: Engine,
        gateway: GitHubGateway,
        charter: Callable[[], Charter],
        store: Store,
        *,
        limit: int = MAX_REPOS_PER_PASS,
        per_repo: int = RELEASES_PER_REPO,
        settle: timedelta = timedelta(0),
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._charter = charter
        self._store = store
        self._limit = limit
        self._per_repo = per_repo
        self._settle = settle
        self._read_at: dict[str, datetime] = {}  # repository (lowercase) -> last read

    def due(self) -> tuple[list[Wanted], dict[int, Rollout]]:
        """This pass's repositories (the wanted ones read longest ago, at most ``limit``) and
        the rollouts under way, by proposal."""
        charter = self._charter()
        with read_scope(self._engine) as session:
            live = {r.proposal: r for r in store.rollouts(session, charter, active_only=True)}
        repos = wanted(live.values(), charter)
        keys = {w.repo.lower() for w in repos}
        self._read_at = {k: t for k, t in self._read_at.items() if k in keys}
        repos.sort(key=lambda w: self._read_at.get(w.repo.lower(), _NEVER))  # stable
        return repos[: self._limit], live

    async def run_once(self, now: datetime) -> int:
        """One pass; returns how many new release deliveries were stored."""
        stored = 0
        repos, live = self.due()
        for want in repos:
            try:
                releases = await self._gateway.list_releases(want.repo, self._per_repo)
            except GitHubRateLimited as waiting:  # held or refused: the next pass goes on
                log.info("releases not read: %s", waiting)
                break
            except (GitHubError, ValueError) as error:  # ValueError: WireFormatError too
                log.warning("releases of %s not read: %s", want.repo, error)
                self._read_at[want.repo.lower()] = now
                continue
            self._read_at[want.repo.lower()] = now
            stored += await self._deliver(want, releases, live, now)
        return stored

    async def _deliver(
        self,
        want: Wanted,
        releases: list[ReleaseSnapshot],
        live: Mapping[int, Rollout],
        now: datetime,
    ) -> int:
        found: list[tuple[datetime, ReleaseSnapshot, str]] = []
        for release in releases:
            at = release.published_at
            if at is None or at > now - self._settle:
                continue
            body = counting_body(want.client, release, live)
            if body is not None:
                found.append((at, release, body))
        if not found:
            return 0
        found.sort(key=lambda f: f[0])  # stored, so handled, as published: the newest wins
        with read_scope(self._engine) as session:
            carried = webhook_carried(session, found[0][0] - _CLOCK_SLACK)
        stored = 0
        for _, release, body in found:
            if (want.repo.lower(), release.release_id) in carried:
                continue
            payload = webhook_payload(want.repo, release, body)
            raw = json.dumps(payload, separators=(",", ":")).encode()
            stored += await self._store(SOURCE, delivery_key(want.repo, release), EVENT, raw)
        return stored
