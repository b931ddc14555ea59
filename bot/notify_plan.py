"""Who a ``notify``/``direct-message`` item reaches, where, and with what text.

Rules:
- ``notify`` (payload ``{roles, text}``) reaches every member of the named charter roles, each
  once however many of the roles they hold. ``maintainers``, when the charter defines no role of
  that name, means every client's maintainers. A role the charter does not define, or one with
  no members, is named in the fallback message, so a notification never vanishes unseen.
- ``direct-message`` (payload ``{login, text}``) reaches that login.
- A person is messaged privately on every chat surface where they have a verified link and
  the bot has a sender. People with no such link (or whose every private message failed for
  good) are named as ``@login`` in one fallback message per fallback channel.
- A fallback carries what was meant for one person (a confidential incident's role brief, a
  subscriber's failed delivery), so fallback channels are only channels the charter marks
  ``private: true`` — never a public one: the private channels the ``announce`` table uses for
  ``incident`` or, without those, the first private channel, limited to platforms the bot can
  post to. With none, whoever could not be reached privately is named in the item's error and
  the item fails (see :mod:`bot.notify_relay`); nothing is posted publicly instead.
- Bad payloads raise :class:`BadItem` with what is wrong; the relay records it as a failure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.i18n import format_when
from bot.render.model import Notice
from charter.model import Charter

KINDS = ("notify", "direct-message")
CHAT = ("slack", "discord")  # surfaces whose links can receive a private message


class BadItem(ValueError):
    """The outbox item cannot be delivered as written."""


@dataclass(frozen=True)
class Recipients:
    logins: tuple[str, ...]
    empty_roles: tuple[str, ...] = ()  # named roles that resolve to nobody
    text: str = ""


@dataclass(frozen=True)
class Target:
    key: str  # unique per item: what the delivery record is keyed by
    platform: str
    address: str
    logins: tuple[str, ...]
    fallback: bool = False

    @property
    def destination(self) -> str:
        """The pacer's key, the same as the broadcast relay's for the same channel."""
        return f"{self.platform}:{self.address}"


def _text(payload: Mapping[str, Any], kind: str) -> str:
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadItem(f"{kind} item has no text: the payload needs a non-empty 'text' string")
    return text


def failure_audience(charter: Charter) -> tuple[str, ...]:
    """The roles told when a delivery fails for good (or a platform refuses our credentials):
    the coordinators; a charter with roles but none of that name, every role. A charter with no
    roles at all still names ``coordinators``, so the notice goes to the fallback channel
    naming that empty role (see :func:`recipients`) instead of being an item with no roles,
    which cannot be delivered."""
    roles = tuple(charter.roles)
    return roles if roles and "coordinators" not in roles else ("coordinators",)


def members(charter: Charter, role: str) -> tuple[str, ...]:
    if role in charter.roles:
        return charter.roles[role]
    if role == "maintainers":
        return tuple(m for client in charter.clients for m in client.maintainers)
    return ()


def recipients(kind: str, payload: Mapping[str, Any], charter: Charter) -> Recipients:
    """The logins an item is for (de-duplicated case-insensitively, first spelling kept)."""
    if kind == "direct-message":
        login = payload.get("login")
        if not isinstance(login, str) or not login.strip():
            raise BadItem("direct-message item has no login: the payload needs 'login'")
        return Recipients((login.strip(),), text=_text(payload, kind))
    if kind != "notify":
        raise BadItem(f"outbox kind {kind!r} is not one of {', '.join(KINDS)}")
    roles = payload.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise BadItem("notify item has no roles: the payload needs 'roles', a list of role names")
    seen: dict[str, str] = {}
    empty = []
    for role in roles:
        found = members(charter, role)
        if not found:
            empty.append(role)
        for login in found:
            seen.setdefault(login.lower(), login)
    return Recipients(tuple(seen.values()), tuple(empty), _text(payload, kind))


def private_targets(
    login: str, links: Sequence[tuple[str, str]], platforms: Collection[str]
) -> list[Target]:
    """One private message per linked chat identity the bot can reach."""
    return [
        Target(f"dm:{surface}:@{surface_id}", surface, f"@{surface_id}", (login,))
        for surface, surface_id in links
        if surface in CHAT and surface in platforms
    ]


def fallback_channels(charter: Charter, platforms: Collection[str]) -> list[tuple[str, str]]:
    """``(platform, address)`` of the channels that carry fallback mentions: private ones only
    (see the module rules)."""
    usable = [
        (name, channel)
        for name, channel in charter.channels.items()
        if channel.private and channel.platform in platforms and channel.address
    ]
    incident = set(charter.announce.get("incident", ()))
    chosen = [c for name, c in usable if name in incident] or [c for _, c in usable[:1]]
    return [(channel.platform, channel.address) for channel in chosen]


def fallback_target(platform: str, address: str, names: Sequence[str]) -> Target:
    digest = hashlib.sha256(",".join(names).encode()).hexdigest()[:16]
    key = f"fallback:{platform}:{address}:{digest}"
    return Target(key, platform, address, tuple(names), fallback=True)


def mention(name: str) -> str:
    """``@login`` for a person; an empty role is named as such."""
    if name.startswith("role:"):
        return f"(nobody holds the role {name.removeprefix('role:')!r})"
    return f"@{name}"


def notice(kind: str, text: str, at: datetime, zone: str, target: Target) -> Notice:
    """The message: the item's text; a fallback says whom it is for and why it is posted in a
    (private) channel."""
    title = "Notification" if kind == "notify" else "Message for you"
    body = text
    if target.fallback:
        names = ", ".join(mention(n) for n in target.logins)
        title = f"For {names}"
        body = (
            f"{text}\n\n(Posted here because there is no verified chat link to message "
            "privately; link one with /charter link.)"
        )
    return Notice(
        kind=kind,
        label="charterbot",
        title=title,
        text=body,
        at=at,
        when=format_when(at, "en", zone),
    )
