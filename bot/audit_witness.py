"""The audit witness: the audit head posted to GitHub, where the operator cannot rewrite it.

Anyone can check an export against a *published* head (``python -m storage.verify_export
FILE --head SEQ:HEX``); that is what catches a log truncated or rewritten after the fact. The
witness publishes it: a comment on one GitHub issue, which GitHub dates and mails to everyone
watching the issue, so each of them keeps a copy.

Rules:
- Periods of ``CHARTERBOT_AUDIT_WITNESS_EVERY`` (default 24h; 0 or ``off`` turns it off) are
  aligned to UTC: they start at 00:00Z and every period after it (:func:`period_start`;
  periods of whole weeks start on Mondays). The witness runs only with GitHub configured.
  A period's start is seen by the leader's first tick after it (``CHARTERBOT_TICK_SECONDS``).
- The first tick of a period looks at the head once: if it differs from the last head
  queued, one comment (:func:`comment_text`) is queued; if not, nothing (no noise). The look
  is a timer claimed in ``fired_timer`` (key ``audit-witness/<period>``, outcome ``fired`` or
  ``unchanged``) in the transaction that queues the post, like meeting timers: no timer lives
  in the scheduler, a restart or a second replica does not look twice, and only the leader
  ticks anyway.
- Downtime: only the current period is looked at, so periods missed while the bot was down
  give one catch-up post, not one each.
- The post goes through the outbox (``storage.audit_witness.queue``), durable before it is
  attempted; :mod:`bot.github.witness_relay` delivers it (retries, idempotency).
- Posting appends nothing to the audit log: that would change the head every period. Posts
  are rows of ``audit_witness`` instead.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from charter.meeting_timers import Reminder
from charter.model import format_duration
from storage import audit, audit_witness as store, meeting_timers as timers

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.service import Governance

log = logging.getLogger("charterbot.witness")

SERIES = "audit-witness"
ISSUE_TITLE = "charterbot audit heads"
# Periods count from a Monday at 00:00Z, so whole days start at 00:00Z and weeks on Mondays.
EPOCH = datetime(1970, 1, 5, tzinfo=UTC)


def period_start(now: datetime, every: timedelta) -> datetime:
    """The start of the period ``now`` falls in."""
    return now - (now - EPOCH) % every


def comment_text(seq: int, digest: str, at: datetime, public_url: str = "") -> str:
    """The comment that witnesses a head (the one place its wording lives). With the bot's
    ``public_url``, anyone can run the check: the dashboard serves the export and the verifier
    (bot.web.export); the operator's own check follows."""
    head = f"{seq}:{digest}"
    anyone = (
        (
            "Anyone can check that the log still holds this entry, unchanged, and everything"
            " before it (Python 3.7 or later, nothing to install):\n\n"
            "```sh\n"
            f"curl -o audit.jsonl {public_url}/audit/export.jsonl\n"
            f"curl -O {public_url}/audit/verify_export.py\n"
            f"python3 verify_export.py audit.jsonl --head {head}\n"
            "```\n\n"
            "It says `ok` (exit status 0) when every entry is verified; `partial` (exit status"
            " 3) while entries about a confidential proposal not yet disclosed leave the ones"
            " before them unverified: run it again once the proposal is disclosed.\n\n"
        )
        if public_url
        else ""
    )
    return (
        f"Audit log head at {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: entry **#{seq}**, hash\n\n"
        f"```\n{head}\n```\n\n{anyone}"
        "On the bot's own machine:\n\n"
        "```sh\n"
        "charterbot audit export --out audit.jsonl\n"
        f"python -m storage.verify_export audit.jsonl --head {head}\n"
        "```\n\n"
        f"or on its database, `charterbot audit verify --head {head}`. A log that fails this"
        " check was truncated or rewritten after GitHub dated this comment."
    )


def spoken(every: timedelta) -> str:
    """``day``, ``7 days``, ``hour``, ``6 hours``, ``90 minutes``."""
    minutes = int(every.total_seconds()) // 60
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            count = minutes // size
            return unit if count == 1 else f"{count} {unit}s"
    return format_duration(every)


def issue_text(every: timedelta) -> str:
    """The body of the issue the bot opens for its posts (when none is configured)."""
    return (
        "charterbot records every decision in a hash-chained audit log. Once every"
        f" {spoken(every)} (counted from 00:00 UTC), when the log has grown, it posts the"
        " newest entry's number and hash here. GitHub dates each comment and mails it to"
        " everyone watching this issue: watch it (Subscribe) to keep your own copy.\n\n"
        "A log that no longer holds a head posted here was truncated or rewritten; each comment"
        " says how to check. Please leave this issue open and unlocked."
    )


class Witness:
    """The tick hook (see the module rules)."""

    def __init__(self, every: timedelta, public_url: str = "") -> None:
        self.every = every
        self.public_url = public_url.rstrip("/")
        self._looked: datetime | None = None  # a period known to be looked at (a cache)

    def tick(self, gov: Governance, session: Session, now: datetime) -> int:
        """Queue the period's post if the head changed; returns 1 when it queued one. A console
        that only guesses the dashboard's address (``gov.links_guessed``) leaves the post to the
        server, so the public comment never names a wrong address for the check."""
        if gov.links_guessed:
            return 0
        start = period_start(now, self.every)
        if start == self._looked:
            return 0
        timer = Reminder(
            key=f"{SERIES}/{store.period_key(start)}", fires_at=start, series=SERIES, kind=SERIES
        )
        if store.timer_handled(session, timer.key):
            self._looked = start  # committed by an earlier tick (or another replica)
            return 0
        top = audit.head(session)
        last = store.last(session)
        changed = top is not None and top != last
        outcome = "fired" if changed else "unchanged"
        if not timers.claim_timer(session, timer, outcome, now) or top is None or not changed:
            return 0
        seq, digest = top
        body = comment_text(seq, digest, now, self.public_url)
        store.queue(session, period_start=start, seq=seq, digest=digest, body=body, now=now)
        log.info("audit head %s:%s queued for GitHub (period %s)", seq, digest, start)
        gov.on_change()  # wakes the relay
        return 1


def install(rt: Runtime) -> None:
    """Witness the audit head when GitHub is configured and the period is not zero."""
    every = rt.settings.audit_witness_period
    if every is None:
        log.info("the audit witness is off (CHARTERBOT_AUDIT_WITNESS_EVERY)")
        return
    if rt.gateway is None:
        if "audit_witness_every" in rt.settings.model_fields_set:
            log.warning("CHARTERBOT_AUDIT_WITNESS_EVERY is set, but GitHub is not: nothing posted")
        return
    from bot.github.witness_relay import WitnessRelay
    from bot.github_web import default_web_url

    relay = WitnessRelay(
        rt.engine,
        rt.loaded.charter,
        rt.gateway,
        issue=rt.settings.audit_witness_issue,
        title=ISSUE_TITLE,
        body=issue_text(every),
        web_url=default_web_url(rt.settings.github_api_url),
        clock=rt.clock,
    )
    rt.relays.append(relay.run_once)
    rt.gov.add_tick_hook(Witness(every, rt.settings.public_url).tick)
