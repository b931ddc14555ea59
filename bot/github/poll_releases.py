"""Releases read from GitHub for rollout readiness (poll mode, and webhook mode's reconcile).

A published release whose body says ``charterbot: ready <n> <stage>`` reports its client ready
(``bot.rollout_watch.on_release``), but only a ``release`` webhook brings it: in poll mode
nothing would, and a webhook GitHub failed to deliver is never recovered. So the leader also
lists the recent releases of the clients' repositories: on each poll in poll mode, and every
``CHARTERBOT_GITHUB_RECONCILE_SECONDS`` in webhook mode (``bot.runtime``).

Rules:
- Wanted: the repository (the charter's ``clients[].repository``) of every client of a rollout
  under way (``storage.rollouts.rollouts(active_only=True)``: not completed, not ended), each
  once. Such a client may always report (its next stage, or its current one again: a fixed
  release restarts a soak). Nothing at all is asked while no rollout is under way.
- Bound: a pass reads at most ``MAX_REPOS_PER_PASS`` repositories. Repositories read longest
  ago (never read: first) go first, so every wanted one is read within
  ceil(wanted / ``MAX_REPOS_PER_PASS``) passes. GitHub lists releases newest first *by
  creation*, so a draft created long before it is published sits deep in the list: a
  repository is read ``RELEASES_PER_PAGE`` (100, GitHub's largest page) a request, and the
  next page is read only while the page was full and its oldest release was created at or
  after the horizon (the earliest start of the rollouts under way less ``DRAFT_LEAD``, 30
  days: an older one cannot be a draft prepared for them), and at most ``MAX_PAGES`` (3)
  pages: at most 300 releases and 3 requests a repository, 30 a pass, each through the shared
  throttle (one point of GitHub's 900 a minute per endpoint; a repository with fewer than
  100 releases costs one request, as before). Not seen: a release created before the horizon,
  or more than 300 releases created since it.
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
- What the inbox holds of a release already (``bot.github.release_seen``: every ``release``
  delivery of it, webhook or poll, that the worker acts on, as ``parse_event`` reads it:
  ``published``, and ``edited`` with a changed body) says what is new. A release none holds
  is stored as the ``release`` delivery its webhook would carry (action ``published``, a
  webhook-shaped payload, key ``poll:release:<repo>:<release id>``), dated by its
  ``published_at`` (``charter.release_time``). A release some delivery holds is stored only
  when its counting lines include one no delivery held: a ready line added by a later edit
  (GitHub does not list edits, so a changed body is how a poll sees one). It goes as the
  ``edited`` delivery GitHub sends (``changes.body.from``: the body the latest delivery
  held). A release no delivery holds whose counting lines were not all in its body when this
  reader last read it (kept in memory: the ready lines of each release read) was edited too,
  and goes the same way (``from``: the ready lines read then); one first read after a restart
  goes as published, dated by ``published_at``. The worker reports only the added lines, once
  (``charter.release_time.reported_already``), dated when handled; its key
  ``poll:release:<repo>:<release id>:<digest of the added lines>`` stores each edit once,
  whatever later passes read and across restarts (the inbox is durable). An edit for another
  reason adds no line and stores nothing. A ``created``, ``released``, name-only ``edited``
  delivery carries nothing, so with the ``published`` one lost the release is still read
  back. In webhook mode a release published less than ``settle`` ago (``WEBHOOK_SETTLE``)
  waits for a later pass, so its own webhook, which comes within seconds, is stored and
  handled first; an edit's own ``edited`` webhook and a pass may both store it: the worker
  reports the line once all the same.
- The worker parses every stored delivery (``bot.github.events.parse_event``) and records it
  through ``on_release``: one path for both modes.
- GitHub's rate limit: every request goes through the throttle the relays, poller,
  reconciler and check reader share (the gateway). A refusal that outlasts the throttle's
  retries, or a hold from an earlier one (``RateLimitHeld``: nothing is called), ends the
  pass; the repositories not read keep their turn. Any other failure on one repository (gone,
  not readable by the token, a malformed answer) is logged and it goes to the back of the line.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.github.events import RELEASE_LINE
from bot.github.release_seen import Held, held, ready_lines
from bot.github.wire import format_time
from bot.ports import GitHubError, GitHubGateway, GitHubRateLimited, ReleaseSnapshot
from charter.model import Charter
from charter.rollout import Rollout
from charter.rollout_facts import tag_name
from storage import rollouts as store
from storage.db import read_scope

log = logging.getLogger("charterbot.github.releases")

MAX_REPOS_PER_PASS = 10
RELEASES_PER_PAGE = 100  # GitHub's largest page
MAX_PAGES = 3
DRAFT_LEAD = timedelta(days=30)  # how long before a rollout starts a draft for it may be made
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


def webhook_payload(
    repo: str, release: ReleaseSnapshot, body: str, before: str | None = None
) -> dict[str, Any]:
    """The ``release`` webhook payload GitHub would send for ``release``, with ``body``, and
    what the parser reads of it (``events._release_event``): ``published``, or ``edited`` from
    the body ``before`` when given."""
    published = release.published_at
    edit = {} if before is None else {"changes": {"body": {"from": before}}}
    return {
        "action": "published" if before is None else "edited",
        **edit,
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


def delivery_key(
    repo: str, release: ReleaseSnapshot, added: set[tuple[int, str]] | None = None
) -> str:
    """The inbox key of a polled release: one for its first delivery, one per set of ready
    lines an edit ``added`` (so each edit is stored once, whatever later passes read)."""
    base = f"poll:{EVENT}:{repo.lower()}:{release.release_id}"
    if not added:
        return base
    text = "\n".join(f"{n} {stage}" for n, stage in sorted(added))
    return f"{base}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def horizon(live: Mapping[int, Rollout]) -> datetime:
    """Releases created before this cannot report for the rollouts under way (see the rules)."""
    return min((r.started_at for r in live.values()), default=_NEVER + DRAFT_LEAD) - DRAFT_LEAD


def _lines_body(lines: set[tuple[int, str]]) -> str:
    """A body of just these ready lines: what an edit's ``changes.body.from`` needs to say."""
    return "".join(f"charterbot: ready {n} {stage}\n" for n, stage in sorted(lines))


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
        per_page: int = RELEASES_PER_PAGE,
        pages: int = MAX_PAGES,
        settle: timedelta = timedelta(0),
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._charter = charter
        self._store = store
        self._limit = limit
        self._per_page = per_page
        self._pages = pages
        self._settle = settle
        self._read_at: dict[str, datetime] = {}  # repository (lowercase) -> last read
        # (repository lowercase, release id) -> its ready lines when last read (this process)
        self._lines: dict[tuple[str, str], set[tuple[int, str]]] = {}

    def due(self) -> tuple[list[Wanted], dict[int, Rollout]]:
        """This pass's repositories (the wanted ones read longest ago, at most ``limit``) and
        the rollouts under way, by proposal."""
        charter = self._charter()
        with read_scope(self._engine) as session:
            live = {r.proposal: r for r in store.rollouts(session, charter, active_only=True)}
        repos = wanted(live.values(), charter)
        keys = {w.repo.lower() for w in repos}
        self._read_at = {k: t for k, t in self._read_at.items() if k in keys}
        self._lines = {k: v for k, v in self._lines.items() if k[0] in keys}
        repos.sort(key=lambda w: self._read_at.get(w.repo.lower(), _NEVER))  # stable
        return repos[: self._limit], live

    async def run_once(self, now: datetime) -> int:
        """One pass; returns how many new release deliveries were stored."""
        stored = 0
        repos, live = self.due()
        for want in repos:
            try:
                releases = await self._list(want.repo, horizon(live))
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

    async def _list(self, repo: str, since: datetime) -> list[ReleaseSnapshot]:
        """The repository's releases, page after page while one may hold a release created
        since ``since`` (see the rules' bound)."""
        found: list[ReleaseSnapshot] = []
        for page in range(1, self._pages + 1):
            chunk = await self._gateway.list_releases(repo, self._per_page, page)
            found += chunk
            created = [r.created_at for r in chunk if r.created_at is not None]
            if len(chunk) < self._per_page or (created and min(created) < since):
                break
        return found

    async def _deliver(
        self,
        want: Wanted,
        releases: list[ReleaseSnapshot],
        live: Mapping[int, Rollout],
        now: datetime,
    ) -> int:
        found: list[tuple[datetime, ReleaseSnapshot, str, set[tuple[int, str]] | None]] = []
        for release in releases:
            at = release.published_at
            if at is None or at > now - self._settle:
                continue
            where = (want.repo.lower(), release.release_id)
            before, self._lines[where] = self._lines.get(where), ready_lines(release.body)
            body = counting_body(want.client, release, live)
            if body is not None:
                found.append((at, release, body, before))
        if not found:
            return 0
        found.sort(key=lambda f: f[0])  # stored, so handled, as published: the newest wins
        with read_scope(self._engine) as session:
            holds = held(session, found[0][0] - _CLOCK_SLACK)
        stored = 0
        for _, release, body, before in found:
            had = holds.get((want.repo.lower(), release.release_id))
            if had is None and before is not None and ready_lines(body) - before:
                had = Held(before, _lines_body(before))  # read before without them: an edit
            stored += await self._put(want.repo, release, body, had)
        return stored

    async def _put(self, repo: str, release: ReleaseSnapshot, body: str, had: Held | None) -> int:
        """Store the release's delivery: its first, or an edit that added ready lines."""
        if had is None:
            payload, key = webhook_payload(repo, release, body), delivery_key(repo, release)
        else:
            added = ready_lines(body) - had.lines
            if not added:  # nothing new: held already (reported, refused or on its way)
                return 0
            payload = webhook_payload(repo, release, body, had.body)
            key = delivery_key(repo, release, added)
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return int(await self._store(SOURCE, key, EVENT, raw))
