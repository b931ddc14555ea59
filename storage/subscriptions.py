"""Subscriptions, e-mail opt-ins and the digest queue, inside the caller's transaction.

Rules:
- Filters are stored as one JSON object; :func:`model` turns a row into the pure
  :class:`charter.subscriptions.Subscription` the rules read.
- An e-mail address is stored with its local part as typed and its domain lower-cased
  (:func:`charter.subscriptions.email_address`), and compares lower-cased whole: rows stored
  before kept no case at all (see :mod:`charter.subscriptions`). A subscription for an address
  is active only while the address is confirmed and not unsubscribed; unsubscribing removes
  every subscription of it.
- Removing a subscription cancels, in the same transaction, what was queued for it and not
  sent yet: its pending (or retrying) deliveries become ``failed`` with the error
  ``unsubscribed``, its undigested digest items are dropped, and a digest built for it but
  not yet fanned out is failed the same way. A delivery already ``sending`` is the relay's
  (it is on its way to the platform) and is left to it.
- One confirmation mail per address while its link is valid: ``request_optin`` with
  ``resend_after`` (the link's lifetime) says no while an earlier link still waits.
- The same target with the same filters is stored once (subscribing twice is a no-op).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from charter.subscriptions import Subscription, email_address
from storage import outbox
from storage.models.broadcast import DeliveryRow, DigestItemRow, EmailOptinRow, SubscriptionRow
from storage.models.core import OutboxRow
from storage.times import aware

UNSUBSCRIBED = "unsubscribed"  # the error a cancelled delivery or digest is failed with


@dataclass(frozen=True)
class NewSubscription:
    """What ``subscribe`` asks to store."""

    platform: str
    address: str
    owner: str
    filters: dict[str, Any] = field(default_factory=dict)
    lang: str | None = None
    zone: str | None = None
    digest_at: str | None = None
    secret: str | None = None


def _address(platform: str, address: str) -> str:
    return email_address(address) if platform == "email" else address


def _same_target(
    stmt: SelectOfScalar[SubscriptionRow], platform: str, address: str
) -> SelectOfScalar[SubscriptionRow]:
    """``stmt`` narrowed to the target (an e-mail address in any case: the module rules)."""
    stmt = stmt.where(SubscriptionRow.platform == platform)
    if platform == "email":
        return stmt.where(sa.func.lower(SubscriptionRow.address) == address.lower())
    return stmt.where(SubscriptionRow.address == address)


def add(session: Session, new: NewSubscription, now: datetime) -> tuple[SubscriptionRow, bool]:
    """Store ``new`` unless the same target already has the same filters; (row, created)."""
    address = _address(new.platform, new.address)
    filters = json.dumps(new.filters, sort_keys=True, separators=(",", ":"))
    existing = session.exec(
        _same_target(select(SubscriptionRow), new.platform, address)
        .where(SubscriptionRow.filters == filters)
        .where(SubscriptionRow.digest_at == new.digest_at)
        .where(SubscriptionRow.lang == new.lang)
    ).first()
    if existing is not None:
        return existing, False
    row = SubscriptionRow(
        platform=new.platform,
        address=address,
        owner=new.owner,
        filters=filters,
        lang=new.lang,
        zone=new.zone,
        digest_at=new.digest_at,
        secret=new.secret,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, True


def remove(session: Session, ids: Sequence[int]) -> int:
    """Delete the subscriptions and cancel what is queued for them; returns how many went."""
    rows = session.exec(select(SubscriptionRow).where(col(SubscriptionRow.id).in_(list(ids)))).all()
    gone = [row.id for row in rows if row.id is not None]
    if gone:
        _cancel_queued(session, gone)
    for row in rows:
        session.delete(row)
    return len(rows)


# A subscription whose destination refused this many deliveries in a row is removed: its target
# is gone (a deleted channel, a bounced address, a webhook answering 404), and every further
# announcement would fail again and tell the coordinators again.
FAILURES_TO_DROP = 3


def refused(session: Session, subscription_id: int) -> bool:
    """Count one delivery the subscription's destination refused for good; at
    :data:`FAILURES_TO_DROP` in a row the subscription is removed. True when it was."""
    session.execute(
        sa.update(SubscriptionRow)
        .where(col(SubscriptionRow.id) == subscription_id)
        .values(failures_in_a_row=col(SubscriptionRow.failures_in_a_row) + 1)
    )
    count = session.exec(
        select(SubscriptionRow.failures_in_a_row).where(SubscriptionRow.id == subscription_id)
    ).first()
    if count is None or count < FAILURES_TO_DROP:
        return False
    return remove(session, [subscription_id]) == 1


def _cancel_queued(session: Session, subscription_ids: list[int]) -> None:
    """Fail the subscriptions' unsent deliveries and digests; drop their undigested items."""
    session.execute(
        sa.update(DeliveryRow)
        .where(col(DeliveryRow.subscription_id).in_(subscription_ids))
        .where(col(DeliveryRow.status) == "pending")
        .values(status="failed", last_error=UNSUBSCRIBED, next_attempt_at=None)
    )
    built = session.exec(
        select(DigestItemRow.digest_outbox_id)
        .where(col(DigestItemRow.subscription_id).in_(subscription_ids))
        .where(col(DigestItemRow.digest_outbox_id).is_not(None))
        .distinct()
    ).all()
    digests = [d for d in built if d is not None]
    if digests:
        waiting = session.exec(
            select(OutboxRow)
            .where(col(OutboxRow.id).in_(digests))
            .where(OutboxRow.kind == "digest")
            .where(OutboxRow.status == "pending")
        ).all()
        for row in waiting:  # not fanned out yet: its delivery does not exist
            outbox.mark_failed(session, row, UNSUBSCRIBED, counted=True)
    session.execute(
        sa.delete(DigestItemRow)
        .where(col(DigestItemRow.subscription_id).in_(subscription_ids))
        .where(col(DigestItemRow.digest_outbox_id).is_(None))
    )


def get(session: Session, sub_id: int) -> SubscriptionRow | None:
    return session.get(SubscriptionRow, sub_id)


def of_owner(session: Session, owner: str) -> Sequence[SubscriptionRow]:
    stmt = select(SubscriptionRow).where(SubscriptionRow.owner == owner)
    return session.exec(stmt.order_by(col(SubscriptionRow.id))).all()


def of_target(session: Session, platform: str, address: str) -> Sequence[SubscriptionRow]:
    stmt = _same_target(select(SubscriptionRow), platform, address)
    return session.exec(stmt.order_by(col(SubscriptionRow.id))).all()


def model(row: SubscriptionRow, confirmed: bool = True) -> Subscription:
    f: dict[str, Any] = json.loads(row.filters)
    return Subscription(
        id=row.id or 0,
        platform=row.platform,
        address=row.address,
        kinds=tuple(f.get("kinds", ())),
        tracks=tuple(f.get("tracks", ())),
        clients=tuple(f.get("clients", ())),
        proposal=f.get("proposal"),
        min_severity=f.get("min_severity"),
        labels=tuple(f.get("labels", ())),
        not_labels=tuple(f.get("not_labels", ())),
        lang=row.lang,
        zone=row.zone,
        digest_at=row.digest_at,
        confirmed=confirmed,
    )


def active(session: Session) -> list[Subscription]:
    """Every subscription as the rules see it (e-mail ones carry their opt-in state)."""
    confirmed = {
        r.address
        for r in session.exec(select(EmailOptinRow)).all()
        if r.confirmed_at is not None and r.unsubscribed_at is None
    }
    rows = session.exec(select(SubscriptionRow).order_by(col(SubscriptionRow.id))).all()
    return [model(r, r.platform != "email" or r.address.lower() in confirmed) for r in rows]


# -- e-mail opt-in ---------------------------------------------------------------------------


def request_optin(
    session: Session, address: str, now: datetime, *, resend_after: timedelta | None = None
) -> bool:
    """Ask for a confirmation; True when a link should be mailed now.

    False when the address is confirmed, and (given ``resend_after``, the lifetime of a
    confirmation link) while a link asked for less than ``resend_after`` ago still waits to be
    confirmed: that link is still good, so no second mail goes to the address.
    """
    row = session.get(EmailOptinRow, address.lower(), with_for_update=True)
    if row is None:
        session.add(EmailOptinRow(address=address.lower(), requested_at=now))
        return True
    if row.confirmed_at is not None and row.unsubscribed_at is None:
        return False
    asked = awaiting_since(session, address)
    if resend_after is not None and asked is not None and now < asked + resend_after:
        return False
    row.requested_at, row.confirmed_at, row.unsubscribed_at = now, None, None
    session.add(row)
    return True


def confirm_optin(session: Session, address: str, now: datetime) -> bool:
    row = session.get(EmailOptinRow, address.lower())
    if row is None:
        return False
    row.confirmed_at, row.unsubscribed_at = now, None
    session.add(row)
    return True


def unsubscribe_address(session: Session, address: str, now: datetime) -> int:
    """One-click unsubscribe: mark the address and remove its subscriptions."""
    row = session.get(EmailOptinRow, address.lower())
    if row is not None:
        row.unsubscribed_at = now
        session.add(row)
    subs = of_target(session, "email", address)
    return remove(session, [s.id for s in subs if s.id is not None])


def awaiting_since(session: Session, address: str) -> datetime | None:
    """When the confirmation link the address waits on was asked for (None: not waiting)."""
    row = session.get(EmailOptinRow, address.lower())
    if row is None or row.confirmed_at is not None or row.unsubscribed_at is not None:
        return None
    return aware(row.requested_at)


def is_confirmed(session: Session, address: str) -> bool:
    row = session.get(EmailOptinRow, address.lower())
    return row is not None and row.confirmed_at is not None and row.unsubscribed_at is None


# -- digest queue ----------------------------------------------------------------------------


def queue_digest(session: Session, subscription_id: int, outbox_id: int, now: datetime) -> None:
    exists = session.exec(
        select(DigestItemRow)
        .where(DigestItemRow.subscription_id == subscription_id)
        .where(DigestItemRow.outbox_id == outbox_id)
    ).first()
    if exists is None:
        item = DigestItemRow(subscription_id=subscription_id, outbox_id=outbox_id, queued_at=now)
        session.add(item)


def queued(session: Session, subscription_id: int) -> list[tuple[int, datetime, int]]:
    """(item id, queued at, outbox id) of items not yet carried by a digest."""
    rows = session.exec(
        select(DigestItemRow)
        .where(DigestItemRow.subscription_id == subscription_id)
        .where(col(DigestItemRow.digest_outbox_id).is_(None))
        .order_by(col(DigestItemRow.id))
    ).all()
    return [(r.id or 0, aware(r.queued_at), r.outbox_id) for r in rows]


def mark_digested(session: Session, item_ids: Sequence[int], digest_outbox_id: int) -> None:
    for row in session.exec(select(DigestItemRow).where(col(DigestItemRow.id).in_(list(item_ids)))):
        row.digest_outbox_id = digest_outbox_id
        session.add(row)


def digest_subscriptions(session: Session) -> Sequence[SubscriptionRow]:
    stmt = select(SubscriptionRow).where(col(SubscriptionRow.digest_at).is_not(None))
    return session.exec(stmt.order_by(col(SubscriptionRow.id))).all()
