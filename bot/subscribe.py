"""``subscribe``, ``unsubscribe`` and ``subscriptions``: people choose what reaches them.

Rules:
- Targets: ``here`` is the Slack or Discord channel the command came from; ``me`` is a direct
  message to the person on that platform; ``email <address>`` needs double opt-in (a mail with
  a signed confirmation link; nothing else is sent until it is confirmed); ``webhook <url>``
  must pass the request-forgery guard and gets a signing secret, shown once in the reply.
- Filters are checked against the charter (unknown tracks, clients or severities are refused
  with the valid names; ``proposal N`` must be one the person may see), and so is a language
  we have no texts in (``es-MX`` is Spanish). A refused command gets every problem in one
  reply, and a target that cannot work where the person is comes with what does
  (``bot.subscribe_checks``).
- A person may remove their own subscriptions, and those of the channel they are in (what
  ``subscriptions`` lists); another person's subscription of a channel only with the right to
  subscribe a channel (staff's: a contributor may not undo what staff set up).
  ``unsubscribe all`` removes what is delivered where it is typed: in a channel, that
  channel's subscriptions; in a direct message or the console, the person's own. Its reply
  names the person's subscriptions kept elsewhere (e-mail, a webhook, whose signing secret
  cannot be got back, other channels). (It once removed all that ``subscriptions`` lists: the
  person's own everywhere and the channel's, whoever made them.) ``unsubscribe`` without an id
  removes nothing, on every surface: it lists them and names how to remove one (``unsubscribe
  <id>``) or what ``all`` would remove, a listing, not an error. (It once removed every
  subscription of a Slack or Discord channel at once, while the console, with no channel to go
  by, listed: one command, two outcomes.) The reply names each subscription removed: its id,
  target and filters.
- A platform the bot has no sender for (e.g. e-mail without SMTP) is refused at ``subscribe``
  (``Context.platforms``; None when the caller does not say, e.g. in tests), and never advised.
- One confirmation mail per address while its link is valid (``CONFIRM_TTL``): asking again
  says a link was sent and until when it works, so nobody can flood a stranger's mailbox.
- Replies are in the subscription's language (or English).
- A subscription to an undisclosed confidential proposal (``proposal N`` of one the person may
  see, or ``track`` of a confidential track) is kept, but its reply says plainly that those
  announcements reach only the charter's private channels until disclosed
  (``charter.subscriptions.matches``) — unless the target is such a channel — so nobody waits
  for what cannot come.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.i18n import format_when, language, translator
from bot.messages import Actor, Message
from bot.subscribe_checks import CHAT, check, misplaced
from bot.subscribe_tokens import CONFIRM_TTL, confirm_url, secret_key
from charter.authz import Privilege, authorize, staff
from charter.commands import Subscribe, Subscriptions, Unsubscribe
from charter.model import Charter
from charter.subscriptions import is_private
from storage import outbox, proposals, subscriptions as repo
from storage.models.broadcast import SubscriptionRow
from storage.models.core import ProposalRow


@dataclass(frozen=True)
class Origin:
    """Where a command came from: the platform and the channel id (None outside a channel)."""

    surface: str
    channel: str | None = None


@dataclass
class Context:
    session: Session
    charter: Charter
    actor: Actor
    now: datetime
    origin: Origin | None = None
    public_url: str = "http://127.0.0.1:8080"
    platforms: frozenset[str] | None = None  # those with a sender; None: not known, all
    allow_private_webhooks: bool = False  # CHARTERBOT_WEBHOOK_ALLOW_PRIVATE
    # Whether the person may see a stored proposal (bot.commands_core._visible, set by
    # register); None: only what is not confidential or is disclosed.
    may_see: Callable[[proposals.Stored], bool] | None = None
    # Whether public_url is only a guess (the console's, bot.service.Governance.links_guessed):
    # a link shown then says so.
    links_guessed: bool = False

    @property
    def owner(self) -> str:
        return f"{self.actor.surface}:{self.actor.surface_id or self.actor.name}"

    def sees(self, stored: proposals.Stored) -> bool:
        if self.may_see is not None:
            return self.may_see(stored)
        track = self.charter.tracks.get(stored.proposal.track)
        return stored.disclosed or track is None or not track.confidential


def _filters(cmd: Subscribe) -> dict[str, Any]:
    found: dict[str, Any] = {
        "kinds": list(cmd.kinds),
        "tracks": list(cmd.tracks),
        "clients": list(cmd.clients),
        "labels": list(cmd.labels),
        "not_labels": list(cmd.not_labels),
        "proposal": cmd.proposal,
        "min_severity": cmd.min_severity,
    }
    return {k: v for k, v in found.items() if v not in (None, [])}


def describe(row: SubscriptionRow, lang: str | None, zone: str = "UTC") -> str:
    """One line: id, target and filters, e.g. ``#3 slack:C1 — decision, track x``. A digest's
    time names its zone: the subscription's own, else ``zone`` (the charter's), as the digest
    runs (:func:`charter.subscriptions.digest_slot`)."""
    _ = translator(lang)
    f = repo.model(row)
    parts = list(f.kinds) or [_("every kind")]
    parts += [f"track {t}" for t in f.tracks] + [f"client {c}" for c in f.clients]
    if f.proposal is not None:
        parts.append(f"proposal {f.proposal}")
    if f.min_severity:
        parts.append(f"severity >= {f.min_severity}")
    parts += [f"label {x}" for x in f.labels] + [f"not label {x}" for x in f.not_labels]
    if f.lang:
        parts.append(f"lang {f.lang}")
    if f.digest_at:
        when = f"{f.digest_at} {f.zone or zone}"
        parts.append(_("daily digest at %(time)s") % {"time": when})
    return f"#{row.id} {row.platform}:{row.address} — {', '.join(parts)}"


def subscribe(cmd: Subscribe, ctx: Context) -> Message:
    _ = translator(cmd.lang)
    target, problems = check(cmd, ctx)
    if target is None:
        return Message.text_only("\n".join(problems), ok=False)
    platform, address = target
    new = repo.NewSubscription(
        platform=platform,
        address=address,
        owner=ctx.owner,
        filters=_filters(cmd),
        lang=language(cmd.lang) if cmd.lang else None,
        digest_at=cmd.digest_at,
        secret=secrets.token_urlsafe(32) if platform == "webhook" else None,
    )
    row, created = repo.add(ctx.session, new, ctx.now)
    key = _("Subscribed (%(what)s).") if created else _("Already subscribed (%(what)s).")
    lines = [key % {"what": describe(row, cmd.lang, ctx.charter.charter.timezone)}]
    lines += _held_back(cmd, ctx, platform, address)
    if platform == "email":
        lines += _optin(ctx, row.address, cmd.lang)  # as stored: the domain lower-cased
    if platform == "webhook" and created and row.secret:
        lines.append(
            _(
                "Signing secret (shown once): %(secret)s — verify X-Charterbot-Signature"
                " as docs/webhooks.md explains."
            )
            % {"secret": row.secret}
        )
    return Message.text_only("\n".join(lines))


def _held_back(cmd: Subscribe, ctx: Context, platform: str, address: str) -> list[str]:
    """What this subscription will not receive yet: a confidential proposal's (or track's)
    announcements go only to private charter channels until disclosed."""
    if is_private(platform, address, ctx.charter):
        return []
    _ = translator(cmd.lang)
    lines = []
    row = ctx.session.get(ProposalRow, cmd.proposal) if cmd.proposal is not None else None
    track = ctx.charter.tracks.get(row.track) if row is not None else None
    if (
        row is not None
        and not row.disclosed
        and (row.confidential or bool(track and track.confidential))
    ):
        lines.append(
            _(
                "Proposal #%(n)s is confidential: until it is disclosed, its announcements go"
                " only to the charter's private channels, so this subscription receives"
                " nothing about it before then."
            )
            % {"n": row.number}
        )
    secret = [t for t in cmd.tracks if (found := ctx.charter.tracks.get(t)) and found.confidential]
    if secret and row is None:
        lines.append(
            _(
                "Confidential track(s) %(tracks)s: a proposal's announcements go only to the"
                " charter's private channels until that proposal is disclosed, so this"
                " subscription receives them only from then on."
            )
            % {"tracks": ", ".join(secret)}
        )
    return lines


def _optin(ctx: Context, address: str, lang: str | None) -> list[str]:
    """Mail a confirmation link unless the address is confirmed or a link is still valid."""
    _ = translator(lang)
    if repo.request_optin(ctx.session, address, ctx.now, resend_after=CONFIRM_TTL):
        _send_confirmation(ctx, address, lang)
        return [
            _("Check %(address)s for a confirmation link; nothing is sent until it is confirmed.")
            % {"address": address}
        ]
    asked = repo.awaiting_since(ctx.session, address)
    if asked is None:  # confirmed already
        return []
    expires = format_when(asked + CONFIRM_TTL, lang, ctx.charter.charter.timezone)
    return [
        _(
            "A confirmation link was already sent to %(address)s; it works until %(expires)s."
            " Nothing is sent until it is confirmed; ask again after that for a new link."
        )
        % {"address": address, "expires": expires}
    ]


def _send_confirmation(ctx: Context, address: str, lang: str | None) -> None:
    _ = translator(lang)
    link = confirm_url(ctx.public_url, secret_key(ctx.session, ctx.now), address, ctx.now)
    payload = {
        "kind": "confirm",
        "at": ctx.now.isoformat(),
        "title": _("Confirm your subscription"),
        "text": _(
            "Someone asked to send charterbot announcements to this address. Open the"
            " link to confirm; if it was not you, ignore this mail."
        ),
        "link": link,
        "destination": {"platform": "email", "address": address, "lang": language(lang)},
    }
    key = f"confirm-email:{address.lower()}:{ctx.now.isoformat()}"
    outbox.enqueue(ctx.session, kind="confirm-email", payload=payload, now=ctx.now, key=key)


def _mine(ctx: Context) -> list[SubscriptionRow]:
    rows = list(repo.of_owner(ctx.session, ctx.owner))
    if ctx.origin is not None and ctx.origin.channel and ctx.origin.surface in CHAT:
        seen = {r.id for r in rows}
        here = repo.of_target(ctx.session, ctx.origin.surface, ctx.origin.channel)
        rows += [r for r in here if r.id not in seen]
    return rows


def _channel(ctx: Context) -> tuple[str, str] | None:
    """The Slack or Discord channel a command was typed in; None in the console and in a
    direct message (no channel, or a Slack IM, whose id begins with D)."""
    origin = ctx.origin
    if origin is None or not origin.channel or origin.surface not in CHAT:
        return None
    if origin.surface == "slack" and origin.channel.startswith("D"):
        return None
    return origin.surface, origin.channel


def _delivered_here(ctx: Context, rows: list[SubscriptionRow]) -> list[SubscriptionRow]:
    """What ``unsubscribe all`` removes: what is delivered where it is typed. In a channel,
    the channel's subscriptions, whoever made them; elsewhere, the person's own."""
    where = _channel(ctx)
    if where is None:
        return [r for r in rows if r.owner == ctx.owner]
    return [r for r in rows if (r.platform, r.address) == where]


def _how_to_remove(ctx: Context, rows: list[SubscriptionRow]) -> list[str]:
    """The subscriptions, then how to remove one of them by its id, and what ``all`` removes
    here (nothing said of it in a channel without subscriptions)."""
    _ = translator(None)
    lines = [
        *_listed(ctx, rows),
        _("To remove one, name its id: %(command)s.") % {"command": "/charter unsubscribe <id>"},
    ]
    every = {"count": len(_delivered_here(ctx, rows)), "command": "/charter unsubscribe all"}
    if _channel(ctx) is None:
        lines.append(_("To remove all %(count)s of yours: %(command)s.") % every)
    elif every["count"]:
        lines.append(_("To remove this channel's %(count)s: %(command)s.") % every)
    return lines


def _others_refusal(ctx: Context, chosen: list[SubscriptionRow]) -> Message | None:
    """Another person's subscription of a channel is removed only by those who may subscribe
    a channel (a contributor may not wipe what staff set up); None when allowed."""
    others = [r for r in chosen if r.owner != ctx.owner]
    refusal = authorize(Privilege.SUBSCRIBE_CHANNEL, ctx.actor, ctx.charter) if others else None
    if refusal is None:
        return None
    _ = translator(None)
    text = _(
        "Nothing removed: another person made %(ids)s of this channel, and only %(who)s may"
        " remove someone else's subscription of a channel."
    ) % {"ids": ", ".join(f"#{r.id}" for r in others), "who": staff(ctx.charter)}
    return Message.text_only(text, ok=False)


def _kept(ctx: Context, rows: list[SubscriptionRow], chosen: list[SubscriptionRow]) -> list[str]:
    """The person's own subscriptions ``unsubscribe all`` left, delivered elsewhere."""
    gone = {r.id for r in chosen}
    kept = [
        f"#{r.id} {r.platform}:{r.address}"
        for r in rows
        if r.id not in gone and r.owner == ctx.owner
    ]
    if not kept:
        return []
    _ = translator(None)
    return [
        _("Your subscriptions delivered elsewhere are kept (%(kept)s); %(command)s lists them.")
        % {"kept": ", ".join(kept), "command": "/charter subscriptions"}
    ]


def unsubscribe(cmd: Unsubscribe, ctx: Context) -> Message:
    _ = translator(None)
    rows = _mine(ctx)
    if cmd.id is None and not cmd.every:
        # Never a guess at what to remove, on any surface: a listing with how to remove one
        # or all, not an error.
        if not rows:
            return Message.text_only(_("No subscriptions here."))
        return Message.text_only("\n".join(_how_to_remove(ctx, rows)))
    chosen = _delivered_here(ctx, rows) if cmd.every else [r for r in rows if r.id == cmd.id]
    if not chosen:
        if cmd.every:
            return Message.text_only(
                "\n".join([_("No subscriptions here."), *_kept(ctx, rows, [])])
            )
        return Message.text_only(
            _("No subscription #%(id)s of yours or of this channel.") % {"id": cmd.id},
            ok=False,
        )
    if (refusal := _others_refusal(ctx, chosen)) is not None:
        return refusal
    # Each removed one is named (its id, target and filters): a bare count read as an id.
    lines = [
        _("Unsubscribed: %(subscription)s")
        % {"subscription": describe(r, None, ctx.charter.charter.timezone)}
        for r in chosen
    ]
    repo.remove(ctx.session, [r.id for r in chosen if r.id is not None])
    return Message.text_only("\n".join([*lines, *(_kept(ctx, rows, chosen) if cmd.every else [])]))


def _listed(ctx: Context, rows: list[SubscriptionRow]) -> list[str]:
    _ = translator(None)
    pending = {
        r.address
        for r in rows
        if r.platform == "email" and not repo.is_confirmed(ctx.session, r.address)
    }
    lines = [_("Subscriptions:")]
    for row in rows:
        note = " " + _("(waiting for e-mail confirmation)") if row.address in pending else ""
        lines.append(describe(row, None, ctx.charter.charter.timezone) + note)
    return lines


def listing(_cmd: Subscriptions, ctx: Context) -> Message:
    _ = translator(None)
    rows = _mine(ctx)
    if not rows:
        return Message.text_only(_("No subscriptions here."))
    return Message.text_only("\n".join(_listed(ctx, rows)))


def handle(command: Subscribe | Unsubscribe | Subscriptions, ctx: Context) -> Message:
    if isinstance(command, Subscribe):
        return subscribe(command, ctx)
    if isinstance(command, Unsubscribe):
        return unsubscribe(command, ctx)
    return listing(command, ctx)


def register(
    service: Any,
    *,
    public_url: str,
    origin_of: Any = None,
    platforms: Iterable[str] | None = None,
    allow_private_webhooks: bool = False,
) -> None:
    """Register the three handlers with the service (``Governance.register``).

    ``origin_of(actor) -> Origin | None`` tells where the command came from; without it,
    ``subscribe here`` asks for a channel and the rest works. ``platforms`` are those the bot
    has a sender for; subscribing to another is refused (None: not checked).
    ``allow_private_webhooks`` lets webhook URLs resolve to private addresses (the operator's
    CHARTERBOT_WEBHOOK_ALLOW_PRIVATE).
    """
    known = frozenset(platforms) if platforms is not None else None

    def context(svc: Any, session: Session, actor: Actor, now: datetime) -> Context:
        from bot.commands_core import _visible  # the rule of `proposals` and `show`

        origin = origin_of(actor) if origin_of is not None else None
        return Context(
            session, svc.charter, actor, now, origin, public_url, known, allow_private_webhooks,
            may_see=lambda stored: _visible(svc, stored, actor),
            links_guessed=getattr(svc, "links_guessed", False),
        )  # fmt: skip

    def run(svc: Any, session: Session, command: Any, actor: Actor, now: datetime) -> Message:
        return handle(command, context(svc, session, actor, now))

    def precheck(
        svc: Any, session: Session, command: Any, actor: Actor, now: datetime
    ) -> Message | None:
        if not isinstance(command, Subscribe):
            return None
        return misplaced(command, context(svc, session, actor, now))

    for cls in (Subscribe, Unsubscribe, Subscriptions):
        service.register(cls, run, precheck=precheck)
