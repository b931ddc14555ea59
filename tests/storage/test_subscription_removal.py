"""Removing a subscription cancels what was queued for it; one confirmation mail per link.

On both databases: ``remove`` (chat ``unsubscribe``) and ``unsubscribe_address`` (one-click)
fail the subscription's unsent deliveries with ``unsubscribed`` and drop its undigested
digest items in the same transaction; other subscriptions' work and what was already sent or
is on its way are left alone. ``request_optin`` with ``resend_after`` mails one link per
address while that link is valid.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from charter.subscriptions import Destination
from storage import deliveries, outbox, subscriptions as repo
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow, DigestItemRow
from storage.models.core import OutboxRow
from tests.bot.broadcast.support import NOW, announce, enqueue

LATER = NOW + timedelta(hours=1)


def _sub(engine: Engine, platform: str, address: str, digest_at: str | None = None) -> int:
    new = repo.NewSubscription(platform, address, "slack:U1", digest_at=digest_at)
    with session_scope(engine) as session:
        row, _ = repo.add(session, new, NOW)
        return row.id or 0


def _statuses(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(DeliveryRow)).all()
        return {f"{r.outbox_id}/{r.destination}": (r.status, r.last_error) for r in rows}


def test_remove_cancels_unsent_deliveries_and_digest_items(engine: Engine) -> None:
    """Pending and retrying deliveries of the removed subscription fail as `unsubscribed`;
    sent and in-flight ones, and other subscriptions' deliveries, stay as they were; its
    undigested digest items go, and a digest built for it but not fanned out is failed."""
    gone = _sub(engine, "slack", "CGONE")
    kept = _sub(engine, "slack", "CKEPT")
    digest = _sub(engine, "slack", "CDIG", digest_at="08:00")
    enqueue(engine, *(announce("decision", title=f"a{n}") for n in range(4)))
    with session_scope(engine) as session:
        for outbox_id in (1, 2, 3, 4):
            dests = [
                Destination("slack", "CGONE", subscription=gone),
                Destination("slack", "CKEPT", subscription=kept),
            ]
            deliveries.fan_out(session, outbox_id, dests, NOW)
        for outbox_id in (1, 2, 3):
            repo.queue_digest(session, digest, outbox_id, NOW)
    with session_scope(engine) as session:
        jobs = {(j.outbox_id, j.address): j.id for j in deliveries.claim(session, NOW)}
        assert len(jobs) == 8
        for address in ("CGONE", "CKEPT"):  # 1 sent, 2 retrying, 3 in flight, 4 pending
            deliveries.record_id(session, jobs[1, address], "m1")
            deliveries.mark_sent(session, jobs[1, address], NOW)
            deliveries.mark_retry(session, jobs[2, address], NOW, "HTTP 500")
            deliveries.requeue(session, ids=[jobs[4, address]], now=NOW)
    with session_scope(engine) as session:
        # a digest was built from item 1 (not fanned out yet); items 2 and 3 still wait
        outbox.enqueue(session, kind="digest", payload={"kind": "digest"}, now=NOW, key="d")
        built = session.exec(select(OutboxRow).where(OutboxRow.key == "d")).one()
        first = session.exec(select(DigestItemRow).where(DigestItemRow.outbox_id == 1)).one()
        repo.mark_digested(session, [first.id or 0], built.id or 0)

    before = _statuses(engine)
    assert before["2/slack:CGONE"][0] == "pending" and before["3/slack:CGONE"][0] == "sending"
    with session_scope(engine) as session:
        assert repo.remove(session, [gone, digest]) == 2

    after = _statuses(engine)
    unsubscribed = ("failed", repo.UNSUBSCRIBED)
    assert after == before | {"2/slack:CGONE": unsubscribed, "4/slack:CGONE": unsubscribed}
    assert after["1/slack:CGONE"] == ("sent", None)
    assert after["3/slack:CGONE"] == ("sending", None)  # the relay's: on its way to Slack
    with session_scope(engine) as session:
        items = session.exec(select(DigestItemRow)).all()
        assert [(i.outbox_id, i.digest_outbox_id is not None) for i in items] == [(1, True)]
        row = session.exec(select(OutboxRow).where(OutboxRow.key == "d")).one()
        assert (row.status, row.last_error) == ("failed", "unsubscribed")
        due = deliveries.claim(session, NOW + timedelta(days=1))
        assert sorted((j.outbox_id, j.address) for j in due) == [(2, "CKEPT"), (4, "CKEPT")]


def test_one_click_unsubscribe_cancels_pending_mail(engine: Engine) -> None:
    """`unsubscribe_address` goes through the same cancellation."""
    sub = _sub(engine, "email", "ann@example.org")
    enqueue(engine, announce("decision"))
    with session_scope(engine) as session:
        repo.request_optin(session, "ann@example.org", NOW)
        repo.confirm_optin(session, "ann@example.org", NOW)
        dest = Destination("email", "ann@example.org", subscription=sub)
        deliveries.fan_out(session, 1, [dest], NOW)
    with session_scope(engine) as session:
        assert repo.unsubscribe_address(session, "ANN@example.org", LATER) == 1
    assert _statuses(engine) == {"1/email:ann@example.org": ("failed", "unsubscribed")}
    with session_scope(engine) as session:
        assert deliveries.claim(session, LATER) == []
        assert deliveries.unfinished(session) == 0


def test_one_confirmation_mail_per_valid_link(engine: Engine) -> None:
    """While a link waits (younger than `resend_after`), asking again mails nothing; once it
    has expired, or after the address unsubscribed, a new link is due; a confirmed address
    needs none. Without `resend_after` every request asks (the old behaviour)."""
    ttl = timedelta(days=7)
    with session_scope(engine) as session:
        assert repo.request_optin(session, "v@x.org", NOW, resend_after=ttl)
    with session_scope(engine) as session:
        assert not repo.request_optin(session, "V@x.org", NOW + timedelta(days=6), resend_after=ttl)
        assert repo.awaiting_since(session, "v@x.org") == NOW
        assert repo.request_optin(session, "v@x.org", NOW + ttl, resend_after=ttl)
        assert repo.awaiting_since(session, "v@x.org") == NOW + ttl
    with session_scope(engine) as session:
        repo.confirm_optin(session, "v@x.org", NOW + ttl)
        assert repo.awaiting_since(session, "v@x.org") is None
        assert not repo.request_optin(session, "v@x.org", NOW + ttl, resend_after=ttl)
        repo.unsubscribe_address(session, "v@x.org", NOW + ttl)
        assert repo.request_optin(session, "v@x.org", NOW + ttl, resend_after=ttl)
        assert repo.request_optin(session, "w@x.org", NOW)
        assert repo.request_optin(session, "w@x.org", NOW)


@pytest.mark.parametrize(
    ("outcomes", "dropped"),
    [
        (["refused", "refused", "refused"], True),
        (["sent", "refused", "refused", "refused"], True),
        (["refused", "refused"], False),
        (["refused", "sent", "refused", "refused"], False),
        (["refused", "refused", "sent", "refused"], False),
    ],
    ids=["three", "three-after-a-success", "two", "success-between", "success-late"],
)
def test_a_subscription_refused_three_times_in_a_row_is_dropped(
    engine: Engine, outcomes: list[str], dropped: bool
) -> None:
    """Refusals count until one delivery is sent; the third in a row removes the subscription
    (and only that one returns True)."""
    sub = _sub(engine, "slack", "CGONE")
    enqueue(engine, *(announce("decision", title=f"a{n}") for n in range(len(outcomes))))
    results = []
    for outbox_id, outcome in enumerate(outcomes, start=1):
        with session_scope(engine) as session:
            destination = Destination("slack", "CGONE", subscription=sub)
            deliveries.fan_out(session, outbox_id, [destination], NOW)
            row = session.exec(select(DeliveryRow).where(DeliveryRow.outbox_id == outbox_id)).one()
            if outcome == "sent":
                deliveries.mark_sent(session, row.id or 0, NOW)
            else:
                results.append(repo.refused(session, sub))
    assert results[-1] is dropped and not any(results[:-1])
    with session_scope(engine) as session:
        assert (repo.get(session, sub) is None) is dropped


def test_a_new_subscription_starts_with_no_refusals_even_with_a_reused_id(engine: Engine) -> None:
    """SQLite may give a new subscription the id of one removed; the count is the row's own."""
    first = _sub(engine, "slack", "CGONE")
    with session_scope(engine) as session:
        assert not repo.refused(session, first) and not repo.refused(session, first)
        repo.remove(session, [first])
    second = _sub(engine, "slack", "CNEW")
    with session_scope(engine) as session:
        assert repo.refused(session, second) is False
        assert repo.get(session, second) is not None
