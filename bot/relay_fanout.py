"""The relay's database steps: fan-out, digests, claiming with what a send needs, failures.

Rules:
- The relay owns outbox kinds ``announce``, ``digest`` and ``confirm-email`` (the latter two
  carry their one destination) and leaves every other kind alone
  (GitHub syncs, comments and notifications belong to the GitHub relay).
- Fan-out is one transaction per batch: an announcement's deliveries (and digest queue items)
  are inserted and the outbox item is marked ``sent`` (fanned out) together, so a crash either
  leaves the item pending (fan-out re-runs, inserts are idempotent) or fully fanned out.
- Confidential announcements are checked against the proposal's ``disclosed`` flag at fan-out.
- A delivery whose subscription was removed after fan-out (unsubscribed while it waited) is
  not sent: the claim marks it ``failed`` with ``unsubscribed before delivery`` instead, and
  nobody is notified (nothing went wrong).
- A permanent failure is recorded and a ``notify`` outbox item for the coordinators is written
  in the same transaction, once per delivery. The notice never quotes a subscriber's address
  or a webhook's URL (its path often carries a token): see :func:`describe`.
- A delivery to a platform this deployment has no sender for (not configured) is not a
  failure: it is marked ``skipped`` with the reason (:func:`skip`), nobody is notified, and
  ``outbox list`` shows it as such. ``outbox retry d<id>`` sends it once the platform is set up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.github_web import GITHUB_WEB
from bot.i18n import translator
from bot.render.model import Notice, build_digest, build_notice
from bot.senders.base import Envelope
from bot.subscribe_tokens import confirm_url_at, secret_key, unsubscribe_url
from charter.effects import Announce
from charter.model import ANNOUNCE_KINDS, Charter
from charter.subscriptions import Destination, digest_batches, recipients
from storage import deliveries, outbox, subscriptions
from storage.db import session_scope
from storage.deliveries import Job
from storage.models.broadcast import DeliveryRow, SubscriptionRow
from storage.models.core import OutboxRow, ProposalRow
from storage.times import aware

OWNED_KINDS = ("announce", "digest", "confirm-email")
UNSUBSCRIBED = subscriptions.UNSUBSCRIBED
SKIPPED = "skipped"  # a delivery's status: its platform is not configured here (see the rules)


def announcement(payload: dict[str, Any]) -> Announce:
    kind = payload.get("kind")
    if kind not in ANNOUNCE_KINDS:
        raise ValueError(f"announcement kind {kind!r} is not one of {', '.join(ANNOUNCE_KINDS)}")
    return Announce(
        kind=kind,
        title=str(payload.get("title", "")),
        text=str(payload.get("text", "")),
        proposal=payload.get("proposal"),
        track=payload.get("track"),
        clients=tuple(payload.get("clients") or ()),
        severity=payload.get("severity"),
        confidential=bool(payload.get("confidential")),
        data=dict(payload.get("data") or {}),
    )


def _disclosed(session: Session, number: int | None) -> bool:
    row = session.get(ProposalRow, number) if number is not None else None
    return bool(row is not None and row.disclosed)


def fan_out(engine: Engine, charter: Charter, now: datetime, batch: int = 200) -> int:
    """Fan pending announce/digest items out into deliveries; returns items fanned out."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxRow)
            .where(col(OutboxRow.kind).in_(OWNED_KINDS))
            .where(OutboxRow.status == "pending")
            .order_by(col(OutboxRow.id))
            .limit(batch)
        ).all()
        subs = subscriptions.active(session) if rows else []
        for row in rows:
            payload = json.loads(row.payload)
            if "destination" in payload:
                dests = [Destination(**payload["destination"])]
            else:
                ann = announcement(payload)
                disclosed = _disclosed(session, ann.proposal)
                dests = recipients(ann, charter, subs, disclosed=disclosed)
                for d in dests:
                    if d.digest_at and d.subscription is not None:
                        subscriptions.queue_digest(session, d.subscription, row.id or 0, now)
                dests = [d for d in dests if not d.digest_at]
            deliveries.fan_out(session, row.id or 0, dests, now)
            outbox.mark_sent(session, row, now, None)
        return len(rows)


def queue_digests(engine: Engine, charter: Charter, now: datetime) -> int:
    """Turn each due digest subscription's queue into one ``digest`` outbox item."""
    made = 0
    with session_scope(engine) as session:
        for sub in subscriptions.digest_subscriptions(session):
            made += _digest_one(session, sub, charter, now)
    return made


def _digest_one(session: Session, sub: SubscriptionRow, charter: Charter, now: datetime) -> int:
    zone = sub.zone or charter.charter.timezone
    since = aware(sub.last_digest_at or sub.created_at)
    queued = subscriptions.queued(session, sub.id or 0)
    pairs = [(item_id, at) for item_id, at, _ in queued]
    ids = digest_batches(pairs, sub.digest_at or "00:00", zone, since, now)
    if not ids and not digest_batches([(0, since)], sub.digest_at or "00:00", zone, since, now):
        return 0  # no slot has passed yet
    sub.last_digest_at = now
    session.add(sub)
    if not ids:
        return 0
    wanted = {item_id for item_id in ids}
    sources = [outbox_id for item_id, _, outbox_id in queued if item_id in wanted]
    items = session.exec(select(OutboxRow).where(col(OutboxRow.id).in_(sources))).all()
    dest = Destination(sub.platform, sub.address, sub.lang or "en", zone, subscription=sub.id)
    key = f"digest:{sub.id}:{now.isoformat()}"
    payload = {
        "kind": "digest",
        "at": now.isoformat(),
        "destination": dest.__dict__,
        "items": [json.loads(r.payload) for r in sorted(items, key=lambda r: r.id or 0)],
    }
    outbox.enqueue(session, kind="digest", payload=payload, now=now, key=key)
    created = session.exec(select(OutboxRow).where(OutboxRow.key == key)).one()
    subscriptions.mark_digested(session, ids, created.id or 0)
    return 1


@dataclass
class Prepared:
    job: Job
    envelope: Envelope


@dataclass
class ClaimContext:
    charter: Charter
    public_url: str
    list_id: str | None = None
    github_web: str = GITHUB_WEB  # where the notices' issue links point (bot.github_web)


def _notice(job: Job, payload: dict[str, Any], ctx: ClaimContext, unsub: str | None) -> Notice:
    repo = ctx.charter.github.repository
    if job.kind == "confirm-email":
        _ = translator(job.lang)
        base = build_notice({**payload, "kind": "confirm"}, lang=job.lang, zone=job.zone)
        return replace(
            base,
            label=str(payload["title"]),
            title="",
            facts=(),
            link=confirm_url_at(str(payload["link"]), ctx.public_url),
            link_text=_("Confirm"),
        )
    if job.kind == "digest":
        at = datetime.fromisoformat(payload["at"])
        return build_digest(
            payload["items"],
            at=at,
            lang=job.lang,
            zone=job.zone,
            repo=repo,
            unsubscribe_url=unsub,
            github_web=ctx.github_web,
        )
    return build_notice(
        payload,
        lang=job.lang,
        zone=job.zone,
        repo=repo,
        unsubscribe_url=unsub,
        github_web=ctx.github_web,
    )


def claim(
    engine: Engine, ctx: ClaimContext, now: datetime, limit: int, per_destination: int
) -> list[Prepared]:
    """Claim due deliveries and build each one's envelope (secrets, unsubscribe links)."""
    with session_scope(engine) as session:
        jobs = deliveries.claim(session, now, limit, per_destination)
        ids = {j.subscription_id for j in jobs if j.subscription_id is not None}
        found = session.exec(select(SubscriptionRow).where(col(SubscriptionRow.id).in_(ids)))
        secrets = {s.id or 0: s.secret for s in found}  # read inside: rows expire on commit
        jobs = _drop_unsubscribed(session, jobs, secrets)
        key = secret_key(session, now) if any(j.platform == "email" for j in jobs) else b""
    out = []
    for job in jobs:
        subscribed = job.subscription_id in secrets
        unsub = None
        if job.platform == "email" and subscribed:
            unsub = unsubscribe_url(ctx.public_url, key, job.address)
        payload = json.loads(job.payload)
        envelope = Envelope(
            delivery_id=job.id,
            key=f"{job.outbox_id}.{job.id}",
            address=job.address,
            notice=_notice(job, payload, ctx, unsub),
            payload=payload,
            secret=secrets.get(job.subscription_id or -1),
            list_id=ctx.list_id,
        )
        out.append(Prepared(job, envelope))
    return out


def _drop_unsubscribed(session: Session, jobs: list[Job], subscribed: Collection[int]) -> list[Job]:
    """The jobs still wanted. One whose subscription is gone (removed after fan-out) is failed
    as ``UNSUBSCRIBED`` in the claiming transaction, so it is never sent."""
    keep = []
    for job in jobs:
        if job.subscription_id is not None and job.subscription_id not in subscribed:
            deliveries.mark_failed(session, job.id, UNSUBSCRIBED)
        else:
            keep.append(job)
    return keep


def credentials_refused(
    engine: Engine,
    platform: str,
    error: str,
    roles: Sequence[str],
    now: datetime,
    until: datetime,
) -> None:
    """Tell the coordinators that ``platform`` refused our credentials or settings (once per
    pause)."""
    text = (
        f"{platform} refused charterbot's credentials or settings ({error}). Deliveries to"
        f" {platform} are held, not dropped, and tried again from {until:%Y-%m-%d %H:%M} UTC;"
        " fix them (the token, or the SMTP login and sender address) in the deployment's"
        " settings and restart."
    )
    key = f"notify:credentials-refused:{platform}:{until:%Y%m%dT%H%M}"
    with session_scope(engine) as session:
        payload = {"roles": list(roles), "text": text}
        outbox.enqueue(session, kind="notify", payload=payload, now=now, key=key)


def describe(row: DeliveryRow, kind: str) -> str:
    """How a failure notice names a destination: a subscriber's by subscription id and
    platform (their address is personal data), a webhook by its host only (its URL often
    embeds a token), a charter channel by its platform and id."""
    where = row.platform
    if row.platform == "webhook":
        where = f"webhook at {urlsplit(row.address).hostname or 'an unreadable URL'}"
    if row.subscription_id is not None:
        return f"subscription #{row.subscription_id} ({where})"
    if kind == "confirm-email":
        return "a confirmation e-mail (to an address not yet confirmed)"
    return where if row.platform == "webhook" else row.destination


def _scrub(error: str, address: str, name: str) -> str:
    """``error`` with the address replaced by ``name`` (SMTP answers often quote it)."""
    if not address:
        return error
    return re.sub(re.escape(address), lambda _match: name, error, flags=re.IGNORECASE)


def skip(engine: Engine, delivery_id: int, reason: str) -> None:
    """Mark a delivery ``skipped``: its platform is not configured in this deployment. Not a
    failure: nobody is told, and it does not count against its subscription."""
    with session_scope(engine) as session:
        row = session.get(DeliveryRow, delivery_id)
        if row is None:
            return
        row.status, row.last_error, row.next_attempt_at = SKIPPED, reason[:2000], None
        session.add(row)


def fail(
    engine: Engine,
    delivery_id: int,
    error: str,
    roles: Sequence[str],
    now: datetime,
    *,
    refused: bool = False,
) -> None:
    """Record a permanent failure and tell the coordinators, in one transaction; a subscription
    whose destination ``refused`` it (the platform's answer, not a platform this bot cannot
    reach) is counted, and removed after several in a row (storage.subscriptions.refused);
    they are told so in the same notice."""
    with session_scope(engine) as session:
        row = deliveries.mark_failed(session, delivery_id, error)
        _tell_failed(session, row, error, roles, now, refused=refused)


def _tell_failed(
    session: Session,
    row: DeliveryRow,
    error: str,
    roles: Sequence[str],
    now: datetime,
    *,
    refused: bool = False,
) -> None:
    """Queue the coordinators' notice that delivery ``row`` failed for good (once per
    delivery: the notice's key holds for good)."""
    _ = translator("en")
    item = session.get(OutboxRow, row.outbox_id)
    name = describe(row, item.kind if item is not None else "")
    text = _("Delivery to %(destination)s failed and will not be retried: %(error)s") % {
        "destination": name,
        "error": _scrub(error, row.address, name),
    }
    if (
        refused
        and row.subscription_id is not None
        and subscriptions.refused(session, row.subscription_id)
    ):
        text += " " + _(
            "Subscription #%(id)d was removed after %(count)d deliveries in a row failed;"
            " it can be subscribed again once its destination works."
        ) % {"id": row.subscription_id, "count": subscriptions.FAILURES_TO_DROP}
    payload = {"roles": list(roles), "text": text}
    key = f"notify:delivery-failed:{row.id}"
    outbox.enqueue(session, kind="notify", payload=payload, now=now, key=key)


def retry(
    engine: Engine,
    delivery_id: int,
    error: str,
    retry_after: float | None,
    rate_limited: bool,
    roles: Sequence[str],
    now: datetime,
) -> bool:
    """Put a delivery back to pending after a transient failure; once its attempts ran out
    (storage.outbox's policy) it is given up instead: failed, and the coordinators are told as
    for a permanent failure, in the same transaction. Returns False when given up."""
    with session_scope(engine) as session:
        retrying = deliveries.mark_retry(
            session, delivery_id, now, error, retry_after, rate_limited=rate_limited
        )
        if not retrying:
            row = session.get(DeliveryRow, delivery_id)
            if row is not None:
                _tell_failed(session, row, error, roles, now)
        return retrying
