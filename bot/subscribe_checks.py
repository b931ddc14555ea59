"""What ``subscribe`` checks before it stores anything, and what it says instead: every problem
of the command in one reply, and only ways that work from where the person is, never advice
that leads back to the same refusal.

Rules:
- One reply names every problem: unknown tracks, clients or severities (with the valid names),
  a language the bot has no texts in (with those it has; ``es-MX`` is Spanish: ``bot.i18n``),
  then ``proposal N`` when it names no proposal the person may see (one they may not, a
  confidential one not yet disclosed, is answered exactly as one that does not exist), then the
  target's problem.
- ``subscribe me`` (direct messages) and ``subscribe here`` (a channel) work only in Slack or
  Discord. Typed anywhere else (the console), the refusal says so, then, for each of the two the
  bot is set up for, how to do it there (``/charter link`` once, then the command in that
  platform's form; ``subscribe me`` for ``here`` when the person may not subscribe a shared
  channel), or plainly that neither is set up. This is checked before authorization
  (:func:`misplaced`), since a refusal by role would advise ``subscribe me``, which fails there.
- A target that cannot work from here, or a platform the bot has no sender for, comes with what
  works from here, each only when the bot can send there (``Context.platforms``; None: not
  known, all): ``subscribe me`` in a Slack or Discord chat, ``subscribe email <address>``,
  ``subscribe webhook <url>``; and always the public Atom feed, which needs no subscription
  (with the person's kind, track, client and proposal filters, when they are valid). The target
  just refused is never offered again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from bot.i18n import LANGUAGES, language, translator
from bot.messages import Message
from bot.senders.webhook import WebhookRefused, check_url_sync
from charter.authz import Privilege, authorize
from charter.commands import Subscribe
from charter.model import Charter
from storage import proposals

if TYPE_CHECKING:
    from bot.subscribe import Context

CHAT_NAMES = {"slack": "Slack", "discord": "Discord"}
CHAT = tuple(CHAT_NAMES)
PLATFORM_NAMES = {"email": "e-mail", **CHAT_NAMES, "webhook": "Webhook"}
# How each chat platform takes the command: Discord's typed subcommands do not include it,
# so it goes through `/charter run`.
_TYPED = {"slack": "/charter %s", "discord": "/charter run text:%s"}
# A way that works from here is a command typed where the person is: written as every reply
# writes one (``/charter <command>``), outside the msgid so the translations stay.
_A_WAY = "- /charter "


def can_send(ctx: Context, platform: str) -> bool:
    """Whether the bot has a sender for ``platform`` (None: not known, so yes)."""
    return ctx.platforms is None or platform in ctx.platforms


def in_chat(ctx: Context) -> bool:
    """Typed in Slack or Discord by a person the platform names (``subscribe me`` can work)."""
    return ctx.actor.surface in CHAT_NAMES and bool(ctx.actor.surface_id)


def chat_only(cmd: Subscribe, ctx: Context) -> list[str]:
    """Why ``subscribe me`` or ``subscribe here`` cannot work here, and, outside chat, how to
    do it in the chat platforms the bot is set up for (or that there are none)."""
    _ = translator(cmd.lang)
    if cmd.target == "me":
        lines = [
            _("'subscribe me' sends direct messages in Slack or Discord: it works only there.")
        ]
    else:
        lines = [
            _(
                "'subscribe' and 'subscribe here' subscribe the Slack or Discord channel"
                " they are typed in."
            )
        ]
    if in_chat(ctx):
        return lines
    chats = [platform for platform in CHAT_NAMES if can_send(ctx, platform)]
    target = cmd.target
    if target == "here" and authorize(Privilege.SUBSCRIBE_CHANNEL, ctx.actor, ctx.charter):
        target = "me"  # a shared channel is staff's to subscribe; a direct message anyone's
    for platform in chats:
        command = _TYPED[platform] % f"subscribe {target}"
        lines.append(
            _(
                "In %(platform)s: run /charter link once to prove your GitHub login,"
                " then %(command)s."
            )
            % {"platform": CHAT_NAMES[platform], "command": command}
        )
    if not chats:
        lines.append(_("Neither Slack nor Discord is set up on this bot."))
    return lines


def ways_from_here(cmd: Subscribe, ctx: Context, refused: str, *, filtered: bool) -> list[str]:
    """What works from where the person is, but ``refused`` (a target or platform). The feed
    link carries the command's filters when ``filtered`` (they were all valid)."""
    _ = translator(cmd.lang)
    lines = [_("What works from here:")]
    me = in_chat(ctx) and refused not in ("me", ctx.actor.surface)
    if me and can_send(ctx, ctx.actor.surface):
        lines.append(_A_WAY + _("subscribe me: announcements as direct messages to you"))
    if refused != "email" and can_send(ctx, "email"):
        lines.append(
            _A_WAY + _("subscribe email <address>: by e-mail, once you confirm the address")
        )
    if refused != "webhook" and can_send(ctx, "webhook"):
        lines.append(_A_WAY + _("subscribe webhook <url>: signed HTTPS POSTs to your endpoint"))
    feed = feed_url(cmd, ctx.public_url) if filtered else feed_url(Subscribe(), ctx.public_url)
    lines.append("- " + _("the Atom feed, no subscription needed: %(url)s") % {"url": feed})
    if ctx.links_guessed:
        lines[-1] += " " + _(
            "(if the server runs with this console's CHARTERBOT_HTTP_HOST and"
            " CHARTERBOT_HTTP_PORT; set CHARTERBOT_PUBLIC_URL to name its address)"
        )
    return lines


def feed_url(cmd: Subscribe, public_url: str) -> str:
    """The public Atom feed with the filters it shares with ``subscribe`` (bot.feeds)."""
    query = [("kind", k) for k in cmd.kinds] + [("track", t) for t in cmd.tracks]
    query += [("client", c) for c in cmd.clients]
    if cmd.proposal is not None:
        query.append(("proposal", str(cmd.proposal)))
    base = f"{public_url.rstrip('/')}/feeds/announcements.atom"
    return f"{base}?{urlencode(query)}" if query else base


def _placed(cmd: Subscribe, ctx: Context) -> tuple[str, str | None] | None:
    """The platform and address ``cmd`` names; None when ``here`` is typed outside a chat
    channel or ``me`` outside a chat (nothing there to send to)."""
    if cmd.target == "here":
        if ctx.origin is None or ctx.origin.surface not in CHAT or not ctx.origin.channel:
            return None
        return ctx.origin.surface, ctx.origin.channel
    if cmd.target == "me":
        if not in_chat(ctx):
            return None
        return ctx.actor.surface, "@" + ctx.actor.surface_id
    return cmd.target, cmd.address


def _target(cmd: Subscribe, ctx: Context, *, filtered: bool) -> tuple[str, str] | list[str]:
    """Where to send, or why not there: a target that cannot work from here or a platform the
    bot has no sender for comes with what works from here (``bot.subscribe_advice``)."""
    _ = translator(cmd.lang)
    placed = _placed(cmd, ctx)
    if placed is None:
        ways = ways_from_here(cmd, ctx, cmd.target, filtered=filtered)
        return chat_only(cmd, ctx) + ways
    platform, address = placed
    if not can_send(ctx, platform):
        name = PLATFORM_NAMES.get(platform, platform)
        return [
            _("%(platform)s is not set up on this bot.") % {"platform": name},
            *ways_from_here(cmd, ctx, platform, filtered=filtered),
        ]
    if address is None:
        return [_("Give the address to subscribe.")]
    if platform == "webhook":
        try:
            check_url_sync(address, allow_private=ctx.allow_private_webhooks)
        except WebhookRefused as exc:
            return [_("This webhook URL is refused: %(reason)s") % {"reason": exc}]
    return platform, address


def _unknown_names(cmd: Subscribe, charter: Charter) -> list[str]:
    """One line per filter that names what the charter (or, for ``lang``, the bot) does not
    have."""
    _ = translator(cmd.lang)
    lang = cmd.lang or ""
    lacked = bool(lang) and language(lang) != lang.replace("_", "-").split("-")[0].lower()
    checks = (
        (cmd.tracks, tuple(charter.tracks), _("track")),
        (cmd.clients, charter.client_ids, _("client")),
        (
            (cmd.min_severity,) if cmd.min_severity else (),
            charter.incidents.severities,
            _("severity"),
        ),
        ((lang,) if lacked else (), LANGUAGES, _("language")),
    )
    lines = []
    for given, valid, what in checks:
        unknown = [g for g in given if g not in valid]
        if unknown:
            lines.append(
                _("Unknown %(what)s %(names)s; choose from %(valid)s.")
                % {"what": what, "names": ", ".join(unknown), "valid": ", ".join(valid)}
            )
    return lines


def _unknown_proposal(cmd: Subscribe, ctx: Context) -> list[str]:
    """``proposal N`` must name a proposal the person may see; one they may not (confidential,
    undisclosed) is answered as one that does not exist."""
    if cmd.proposal is None:
        return []
    stored = proposals.load(ctx.session, cmd.proposal)
    if stored is not None and ctx.sees(stored):
        return []
    _ = translator(cmd.lang)
    return [_("There is no proposal #%(n)s.") % {"n": cmd.proposal}]


def check(cmd: Subscribe, ctx: Context) -> tuple[tuple[str, str] | None, list[str]]:
    """Where to send, and every problem of the command, for one reply: the filters' first (as
    typed), then the target's with what works from here."""
    wrong = _unknown_names(cmd, ctx.charter) + _unknown_proposal(cmd, ctx)
    target = _target(cmd, ctx, filtered=not wrong)
    if isinstance(target, list):
        return None, wrong + target
    return (None if wrong else target), wrong


def misplaced(cmd: Subscribe, ctx: Context) -> Message | None:
    """Before authorization, outside Slack and Discord: ``here`` or ``me`` is refused with every
    other problem and what works from here, whoever asks (``Governance.register``'s precheck):
    a refusal by role would advise ``subscribe me``, which fails there too. In chat it works,
    so there authorization comes first, as for every command."""
    if ctx.actor.surface in CHAT or _placed(cmd, ctx) is not None:
        return None
    return Message.text_only("\n".join(check(cmd, ctx)[1]), ok=False)
