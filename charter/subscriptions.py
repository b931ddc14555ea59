"""Who receives an announcement: the charter's ``announce`` table plus people's subscriptions.

Rules:
- The charter's ``announce`` table is the default: every channel listed for a kind receives it
  (a meeting announcement also reaches its meeting's ``announce_to`` channels).
- A subscription adds a destination. Its filters combine with AND; the values inside one
  filter combine with OR (``track a track b`` is "a or b"). An empty filter lets everything
  through. ``client X`` matches announcements naming X, and those naming no client (they
  concern every client). ``proposal N`` matches the proposal and incidents naming it.
  ``severity >= sevN`` restricts only announcements that carry a severity. ``label X`` needs
  one of the labels in ``data["labels"]``; ``not label X`` excludes any of them.
- An e-mail subscription receives nothing until its address is confirmed (double opt-in).
- Confidential: an announcement of a confidential track (or marked ``confidential``) reaches
  only destinations the charter marks ``private: true`` until its proposal is disclosed. Only
  the charter can make a destination private, so nobody can subscribe their way into a secret.
- One message per destination: when the charter and subscriptions name the same destination,
  it is delivered once (the first wins: charter channels, then subscriptions by id).
- Digest subscriptions (``digest daily HH:MM``) collect announcements and get one message a
  day at that time in the charter's zone (``charter.timezone``; the subscription's own
  ``zone`` would win, but no command sets one), once per local day even when the clock skips
  or repeats that time (:func:`digest_slot`). Not the subscriber's linked zone: a channel's
  subscription has no one person, and a digest that moved when its creator changed zone would
  surprise everyone else reading it; replies name the zone.
- An e-mail address is kept and mailed with its local part as typed (RFC 5321: a host may
  treat it case-sensitively) and its domain lower-cased (:func:`email_address`). It is one
  destination whatever its case (:func:`address_key`): addresses stored before were lower-cased
  whole, so ``Bob@x.org`` and a stored ``bob@x.org`` can only be told apart by assuming they
  differ, which would mail one mailbox twice and leave an old subscription out of reach of
  ``unsubscribe``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from charter.effects import Announce
from charter.model import Charter

PLATFORMS = ("slack", "discord", "email", "webhook")


def email_address(address: str) -> str:
    """``Bob@Example.ORG`` → ``Bob@example.org``: the local part as typed, the domain lower."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def address_key(platform: str, address: str) -> str:
    """What makes two destinations one: ``<platform>:<address>``, an e-mail address in any
    case (see the module rules)."""
    return f"{platform}:{address.lower() if platform == 'email' else address}"


@dataclass(frozen=True)
class Subscription:
    """One person's or channel's standing request (filters as parsed from ``subscribe``)."""

    id: int
    platform: str  # slack | discord | email | webhook
    address: str  # channel id, "@<user id>" for a direct message, e-mail address, https URL
    kinds: tuple[str, ...] = ()
    tracks: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    proposal: int | None = None
    min_severity: str | None = None
    labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    lang: str | None = None
    zone: str | None = None
    digest_at: str | None = None  # "HH:MM" local time
    confirmed: bool = True  # false for an e-mail address that has not opted in yet

    @property
    def key(self) -> str:
        return address_key(self.platform, self.address)


@dataclass(frozen=True)
class Destination:
    """Where one copy of an announcement goes, and how to word it there."""

    platform: str
    address: str
    lang: str = "en"
    zone: str = "UTC"
    private: bool = False
    channel: str | None = None  # the charter's channel name, when it came from the charter
    subscription: int | None = None  # the subscription id, when it came from one
    digest_at: str | None = None

    @property
    def key(self) -> str:
        return address_key(self.platform, self.address)


def is_private(platform: str, address: str, charter: Charter) -> bool:
    """True when the charter lists this destination as a channel marked ``private: true``."""
    return any(
        ch.private and ch.platform == platform and ch.address == address
        for ch in charter.channels.values()
    )


def is_secret(announcement: Announce, charter: Charter, *, disclosed: bool = False) -> bool:
    """Still confidential: a confidential track (or flagged announcement) not yet disclosed."""
    track = charter.tracks.get(announcement.track or "")
    flagged = announcement.confidential or (track is not None and track.confidential)
    return flagged and not disclosed


def _labels(announcement: Announce) -> set[str]:
    raw = announcement.data.get("labels", ())
    return {str(x) for x in raw} if isinstance(raw, list | tuple) else set()


def _proposals(announcement: Announce) -> set[int]:
    found = {announcement.proposal} if announcement.proposal is not None else set()
    raw = announcement.data.get("proposals", ())
    if isinstance(raw, list | tuple):
        found.update(int(x) for x in raw if isinstance(x, int))
    return found


def _filters_pass(sub: Subscription, ann: Announce, charter: Charter) -> bool:
    if sub.kinds and ann.kind not in sub.kinds:
        return False
    if sub.tracks and ann.track not in sub.tracks:
        return False
    if sub.clients and ann.clients and not set(sub.clients) & set(ann.clients):
        return False
    if sub.proposal is not None and sub.proposal not in _proposals(ann):
        return False
    severe = ann.severity is None or charter.incidents.at_least(
        ann.severity, sub.min_severity or ""
    )
    if sub.min_severity and not severe:
        return False
    labels = _labels(ann)
    if sub.labels and not labels & set(sub.labels):
        return False
    return not labels & set(sub.not_labels)


def matches(
    subscription: Subscription, announcement: Announce, charter: Charter, *, disclosed: bool = False
) -> bool:
    """Whether ``subscription`` should receive ``announcement`` (see the module rules)."""
    if not subscription.confirmed:
        return False
    if is_secret(announcement, charter, disclosed=disclosed) and not is_private(
        subscription.platform, subscription.address, charter
    ):
        return False
    return _filters_pass(subscription, announcement, charter)


def _charter_channels(announcement: Announce, charter: Charter) -> list[str]:
    names = list(charter.announce.get(announcement.kind, ()))
    meeting_id = announcement.data.get("meeting")
    if announcement.kind == "meeting" and isinstance(meeting_id, str):
        meeting = charter.meeting(meeting_id)
        if meeting is not None:
            names.extend(meeting.announce_to)
    return list(dict.fromkeys(names))


def recipients(
    announcement: Announce,
    charter: Charter,
    subscriptions: Iterable[Subscription],
    *,
    disclosed: bool = False,
    default_lang: str = "en",
) -> list[Destination]:
    """Every destination of ``announcement``, once each: charter channels, then subscriptions."""
    secret = is_secret(announcement, charter, disclosed=disclosed)
    zone = charter.charter.timezone
    found: dict[str, Destination] = {}
    for name in _charter_channels(announcement, charter):
        ch = charter.channels.get(name)
        if ch is None or (secret and not ch.private):
            continue
        dest = Destination(
            ch.platform, ch.address, default_lang, zone, private=ch.private, channel=name
        )
        found.setdefault(dest.key, dest)
    for sub in sorted(subscriptions, key=lambda s: s.id):
        if sub.key in found or not matches(sub, announcement, charter, disclosed=disclosed):
            continue
        found[sub.key] = Destination(
            sub.platform,
            sub.address,
            sub.lang or default_lang,
            sub.zone or zone,
            private=is_private(sub.platform, sub.address, charter),
            subscription=sub.id,
            digest_at=sub.digest_at,
        )
    return list(found.values())


# -- digests -------------------------------------------------------------------------------


def parse_clock(value: str) -> time:
    """``"HH:MM"`` (24-hour) → time; a clear error otherwise."""
    try:
        hours, minutes = (int(part) for part in value.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 08:30") from None


def digest_slot(digest_at: str, zone: str, day: date) -> datetime:
    """The instant (in UTC) of ``day``'s digest: when ``zone``'s clock shows ``digest_at``. A
    time the clock skips that day (spring forward) is the first instant after the gap; a time
    it shows twice (fall back) is its first showing. Either way the day has one slot. (In UTC
    because Python never finds an aware time in a repeated hour equal to one in another zone.)"""
    tz = ZoneInfo(zone)
    wall = datetime.combine(day, parse_clock(digest_at), tzinfo=tz)
    instant = wall.astimezone(UTC)  # fold 0: the earlier offset, as a fall-back day wants
    if instant.astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # In the gap: fold 0 lands after it, fold 1 before; the clock jumps past ``wall`` between,
    # at a whole second (as every transition in the tz database is).
    before, after = wall.replace(fold=1).astimezone(UTC), instant
    while after - before > timedelta(seconds=1):
        middle = before + timedelta(seconds=(after - before) // timedelta(seconds=2))
        if middle.astimezone(tz).replace(tzinfo=None) < wall.replace(tzinfo=None):
            before = middle
        else:
            after = middle
    return after


def last_digest_slot(digest_at: str, zone: str, now: datetime) -> datetime:
    """The latest digest slot (:func:`digest_slot`) at or before ``now``, in ``now``'s zone.
    Slots are compared as instants: comparing wall times picked a slot still to come in a
    spring-forward gap, so the digest fired every minute until the clock caught up."""
    today = now.astimezone(ZoneInfo(zone)).date()
    slot = digest_slot(digest_at, zone, today)
    if slot > now:
        slot = digest_slot(digest_at, zone, today - timedelta(days=1))
    return slot.astimezone(now.tzinfo)


def digest_due(digest_at: str, zone: str, since: datetime, now: datetime) -> bool:
    """True when a digest slot has passed since ``since`` (the last digest, or creation)."""
    return last_digest_slot(digest_at, zone, now) > since


def digest_batches(
    items: Sequence[tuple[int, datetime]], digest_at: str, zone: str, since: datetime, now: datetime
) -> list[int]:
    """Ids of the queued items a due digest carries (all queued before the slot), else none."""
    if not digest_due(digest_at, zone, since, now):
        return []
    slot = last_digest_slot(digest_at, zone, now)
    return [item_id for item_id, at in items if at <= slot]
