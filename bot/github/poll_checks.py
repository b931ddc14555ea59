"""Check runs read from GitHub for rollout gates (poll mode, and webhook mode's reconcile).

Without webhooks nothing tells the bot that a check run on a client's release finished, and a
``check_run`` delivery GitHub failed to make while the bot was down is never recovered (the
reconciler reads only the charter repository's webhook). So the leader also asks GitHub for the
check runs a ``require_checks`` gate waits on: on each poll in poll mode, and every
``CHARTERBOT_GITHUB_RECONCILE_SECONDS`` in webhook mode (``bot.runtime``).

Rules:
- Wanted: for each rollout under way (``storage.rollouts.rollouts(active_only=True)``: not
  completed, not ended), the stage it enters next — the only one whose gates are evaluated —
  when that stage requires checks: each client's latest report for it that names a ref, in the
  client's repository (the charter's ``clients[].repository``). A ref on which every required
  check has concluded ``success`` is not read again (its gate is settled); one whose check
  failed still is, since GitHub lets a check be re-run and a webhook would bring the result.
- Bound: a pass reads at most ``MAX_REFS_PER_PASS`` refs, one request each (plus one for each
  further 100 runs on the same commit, GitHub's page size). Refs read longest ago (never read:
  first) go first, so every wanted ref is read within ceil(wanted / ``MAX_REFS_PER_PASS``)
  passes. Nothing at all is asked while no rollout waits on a check.
- Each run listed whose name a wanted stage requires is stored in the inbox as the ``check_run``
  delivery a webhook would carry (source ``github``, a webhook-shaped payload), so the worker
  parses it (``bot.github.events.parse_event``) and records it through the check-run handler
  (``bot.rollout_watch.on_check``): one path for both. GitHub's listing names no tag or branch
  for a run (its ``check_suite`` is ``{"id": N}`` only), and a gate finds a tag's runs by the
  tag (``storage.check_results.with_checks``): for a ref that is a tag, not a prefix of the run's
  commit, the payload's ``check_suite.head_branch`` is that tag, since GitHub listed the runs
  of the commit it names (``run_tag``). Its key is ``poll:check_run:<digest>`` of
  the run's repository, id, commit, name, state and times, so a run unchanged since the last
  pass is a duplicate the inbox drops.
- GitHub's rate limit: every request goes through the throttle the relays, poller and
  reconciler share (the gateway). A refusal that outlasts the throttle's retries, or a hold
  from an earlier one (``RateLimitHeld``: nothing is called), ends the pass; the refs not read
  keep their turn. Any other failure on one ref (a repository gone or not readable by the
  token, a ref GitHub does not know) is logged and that ref goes to the back of the line.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from bot.github.wire import format_time
from bot.ports import CheckSnapshot, GitHubError, GitHubGateway, GitHubRateLimited
from charter.model import Charter
from charter.rollout import Rollout
from charter.rollout_facts import tag_name
from storage import check_results as check_store, rollouts as store
from storage.db import read_scope

log = logging.getLogger("charterbot.github.checks")

MAX_REFS_PER_PASS = 10
SOURCE = "github"  # parsed as the webhook payload it is shaped as (bot.github.handler.processor)
EVENT = "check_run"
_NEVER = datetime.min.replace(tzinfo=UTC)

Store = Callable[[str, str, str, bytes], Awaitable[bool]]


@dataclass(frozen=True)
class Wanted:
    """A ref of a client's repository and the check names a gate waits for on it."""

    repo: str
    ref: str
    names: frozenset[str]


def wanted(rollouts: Iterable[Rollout], charter: Charter) -> list[Wanted]:
    """The refs a gate still waits on (see the module rules), each once, in rollout order;
    ``rollouts`` carry their check results (``storage.check_results.with_checks``)."""
    repos = {cl.id: cl.repository for cl in charter.clients if cl.repository}
    stages = charter.rollout.stages
    found: dict[tuple[str, str], set[str]] = {}
    for rollout in rollouts:
        if not 0 <= rollout.stage_index + 1 < len(stages):
            continue
        stage = stages[rollout.stage_index + 1]
        for client in rollout.clients:
            report = rollout.latest_report(client, stage.id)
            repo = repos.get(client)
            if report is None or report.ref is None or repo is None:
                continue
            if not _settled(rollout, client, report.ref, stage.require_checks):
                found.setdefault((repo, report.ref), set()).update(stage.require_checks)
    return [Wanted(repo, ref, frozenset(names)) for (repo, ref), names in found.items()]


def _settled(rollout: Rollout, client: str, ref: str, names: Sequence[str]) -> bool:
    """Every check in ``names`` concluded ``success`` on ``ref`` (true when none is required)."""
    return all(
        (run := rollout.latest_check(client, name, ref)) is not None and run.conclusion == "success"
        for name in names
    )


def api_ref(ref: str) -> str:
    """A reported ref as GitHub's check-runs endpoint takes it: ``refs/tags/v1`` is
    ``tags/v1`` (its documented form), anything else as is."""
    return ref.removeprefix("refs/")


def run_tag(ref: str | None, run: CheckSnapshot) -> str | None:
    """The tag or branch a run listed for ``ref`` is recorded under: the tag ``ref`` names when
    it is one (``charter.rollout_facts.tag_name``) and not a prefix of the run's commit, since
    GitHub resolved the tag to that commit; otherwise what GitHub said (``run.head_branch``)."""
    tag = None if ref is None else tag_name(ref)
    if ref is None or tag is None or run.head_sha.lower().startswith(ref.lower()):
        return run.head_branch
    return tag


def webhook_payload(repo: str, run: CheckSnapshot, ref: str | None = None) -> dict[str, Any]:
    """The ``check_run`` webhook payload GitHub would send for ``run`` listed for ``ref``, with
    what the parser reads of it (``bot.github.events._check_event``)."""
    return {
        "action": "completed" if run.status == "completed" else "created",
        "check_run": {
            "id": run.run_id,
            "name": run.name,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "html_url": run.html_url,
            "started_at": None if run.started_at is None else format_time(run.started_at),
            "completed_at": None if run.completed_at is None else format_time(run.completed_at),
            "check_suite": {"head_branch": run_tag(ref, run)},
        },
        "repository": {"full_name": repo},
    }


def delivery_key(payload: dict[str, Any]) -> str:
    """The inbox key of a polled run: the same run in the same state gives the same key."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"poll:{EVENT}:{digest[:32]}"


class CheckReader:
    """Reads the check runs rollout gates wait on and stores them as webhook deliveries."""

    def __init__(
        self,
        engine: Engine,
        gateway: GitHubGateway,
        charter: Callable[[], Charter],
        store: Store,
        *,
        limit: int = MAX_REFS_PER_PASS,
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._charter = charter
        self._store = store
        self._limit = limit
        self._read_at: dict[tuple[str, str], datetime] = {}  # (repo, ref) -> last read

    def due(self) -> list[Wanted]:
        """This pass's refs: the wanted ones read longest ago, at most ``limit``."""
        charter = self._charter()
        repos = {cl.id: cl.repository for cl in charter.clients if cl.repository}
        with read_scope(self._engine) as session:
            live = [
                check_store.with_checks(session, r, repos)
                for r in store.rollouts(session, charter, active_only=True)
            ]
        refs = wanted(live, charter)
        keys = {(w.repo, w.ref) for w in refs}
        self._read_at = {k: t for k, t in self._read_at.items() if k in keys}
        refs.sort(key=lambda w: self._read_at.get((w.repo, w.ref), _NEVER))  # stable
        return refs[: self._limit]

    async def run_once(self, now: datetime) -> int:
        """One pass; returns how many new check-run deliveries were stored."""
        stored = 0
        for want in self.due():
            try:
                runs = await self._gateway.list_check_runs(want.repo, api_ref(want.ref))
            except GitHubRateLimited as waiting:  # held or refused: the next pass goes on
                log.info("check runs not read: %s", waiting)
                break
            except (GitHubError, ValueError) as error:  # ValueError: WireFormatError too
                log.warning("check runs of %s@%s not read: %s", want.repo, want.ref, error)
                self._read_at[(want.repo, want.ref)] = now
                continue
            self._read_at[(want.repo, want.ref)] = now
            for run in runs:
                if run.name in want.names:
                    stored += await self._deliver(want.repo, want.ref, run)
        return stored

    async def _deliver(self, repo: str, ref: str, run: CheckSnapshot) -> int:
        payload = webhook_payload(repo, run, ref)
        body = json.dumps(payload, separators=(",", ":")).encode()
        return int(await self._store(SOURCE, delivery_key(payload), EVENT, body))
