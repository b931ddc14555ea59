"""Proving which GitHub login a chat user is (``/charter link``).

Two proofs, never a bare claim:
- GitHub's OAuth device flow, when an OAuth app is configured: the user gets a code to enter at
  GitHub; the bot polls GitHub for the result and stores only the login GitHub verified.
- Otherwise a one-time code: the user posts ``charterbot link <CODE>`` as a comment in the
  charter's repository; GitHub's signed webhook (or the poller) tells us which login posted it.
Codes expire after 30 minutes and work once. Every link is audited.

A person named in a command (``incident role lead <who>``, ``meeting action <who> …``) is a
GitHub login; a chat mention (``<@U0BOB>``) is read as the login its user linked on the surface
the command came from, and the command is refused when there is none
(:func:`mentioned_login`, :func:`unlinked_mention`): a raw mention token is no login.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.messages import Actor, Message
from storage import audit, identities
from storage.db import session_scope
from storage.models.core import LinkRequestRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.ports import GitHubGateway
    from bot.service import Governance

log = logging.getLogger("charterbot.identity")

CODE_TTL = timedelta(minutes=30)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read and retyped


def one_time_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def mentioned_login(session: Session, user: str, actor: Actor) -> str | None:
    """The GitHub login ``user`` means: itself without "@", or for a chat mention
    (``<@U0BOB>``, ``<@!123>``, ``<@U0BOB|bob>``) the login that user linked on the surface the
    command came from (None when they linked none)."""
    if not user.startswith("<@"):
        return user.lstrip("@")
    surface_id = user[2:-1].lstrip("!").partition("|")[0]
    row = identities.lookup(session, actor.surface, surface_id)
    return None if row is None else row.login


def unlinked_mention(so: str, instead: str) -> str:
    """The refusal for a mention with no linked login: ``so`` says what cannot happen, and
    ``instead`` is the command to type with a login (the text after ``/charter``: a mention is
    chat's, so is the command). The mention itself is not echoed: a reply quoting it would
    ping them."""
    return (
        f"The person you mentioned has not linked a GitHub login here, so {so}: name their "
        f"GitHub login instead (/charter {instead}), or ask them to run /charter link first."
    )


class IdentityLinks:
    def __init__(self, gov: Governance) -> None:
        self._gov = gov
        self.gateway: GitHubGateway | None = None
        self.oauth_client_id: str | None = None
        # When each pending device flow may be asked about next (RFC 8628 §3.5: not before
        # `interval` seconds, and 5 s more after each slow_down). In memory: after a restart
        # the first poll waits one interval from the request's creation, as at the start.
        self._due: dict[str, datetime] = {}

    def start(self, session: Session, actor: Actor, now: datetime) -> Message:
        """Begin a link for a chat user; the reply says exactly what to do next."""
        if actor.surface in ("github", "system"):
            return Message.text_only("Linking is for chat users; on GitHub you are your login.")
        repo = self._gov.charter.github.repository
        code = one_time_code()
        request = LinkRequestRow(
            code=code,
            surface=actor.surface,
            surface_id=actor.surface_id,
            method="comment-code",
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        identities.add_request(session, request)
        # The code is in the first line too: a chat notification (Slack's ``text``) shows
        # only that line, and some clients show nothing else.
        return Message.text_only(
            f"Your link code is {code}. To prove which GitHub login is yours, post this comment"
            f" on any issue in {repo} within 30 minutes:\n\ncharterbot link {code}\n\n"
            "charterbot links you to the login that posted it."
        )

    async def start_device_flow(self, actor: Actor, now: datetime) -> Message | None:
        """The device flow, when an OAuth app is configured; None means use the code fallback."""
        if self.gateway is None or self.oauth_client_id is None:
            return None
        device = await self.gateway.device_flow_start(self.oauth_client_id)
        with session_scope(self._gov.engine) as session:
            identities.add_request(
                session,
                LinkRequestRow(
                    code=device.user_code,
                    surface=actor.surface,
                    surface_id=actor.surface_id,
                    method="device-flow",
                    device_code=device.device_code,
                    created_at=now,
                    expires_at=now + timedelta(seconds=device.expires_in),
                    interval_s=device.interval,
                ),
            )
        return Message.text_only(
            f"Open {device.verification_uri} and enter the code {device.user_code}. "
            "charterbot links you once GitHub confirms it (the code expires in "
            f"{device.expires_in // 60} minutes)."
        )

    def claim_code(self, session: Session, code: str, login: str, now: datetime) -> bool:
        """A GitHub comment carried a one-time code: link its chat user to the commenter."""
        request = identities.request_by_code(session, code)
        if request is None or request.method != "comment-code" or aware(request.expires_at) < now:
            return False
        self._link(session, request, login, "comment-code", now)
        return True

    def _link(
        self, session: Session, request: LinkRequestRow, login: str, method: str, now: datetime
    ) -> None:
        identities.link(
            session,
            surface=request.surface,
            surface_id=request.surface_id,
            login=login,
            method=method,
            now=now,
        )
        identities.drop_request(session, request.code)
        audit.append(
            session,
            actor=login,
            kind="identity-linked",
            subject=f"identity:{request.surface}:{request.surface_id}",
            payload={
                "surface": request.surface,
                "surface_id": request.surface_id,
                "login": login,
                "method": method,
            },
            charter_version=self._gov.charter.version,
            at=now,
        )

    async def poll_device_flows(self, now: datetime) -> int:
        """Ask GitHub about each pending device-flow link whose interval has passed; returns
        how many were linked."""
        if self.gateway is None or self.oauth_client_id is None:
            return 0
        with session_scope(self._gov.engine) as session:
            pending = [
                (r.code, r.device_code, aware(r.created_at) + timedelta(seconds=r.interval_s))
                for r in identities.pending_requests(session, now)
                if r.method == "device-flow" and r.device_code
            ]
        self._due = {code: self._due.get(code, first) for code, _, first in pending}
        linked = 0
        for code, device_code, _ in pending:
            if now < self._due[code]:
                continue
            assert device_code is not None
            result = await self.gateway.device_flow_poll(self.oauth_client_id, device_code)
            with session_scope(self._gov.engine) as session:
                request = identities.request_by_code(session, code)
                if request is None:
                    continue
                if result.status == "linked" and result.login:
                    self._link(session, request, result.login, "device-flow", now)
                    linked += 1
                elif result.status in ("denied", "expired"):
                    identities.drop_request(session, code)
                else:
                    request.interval_s = result.interval or request.interval_s
                    session.add(request)
                    self._due[code] = now + timedelta(seconds=request.interval_s)
        return linked

    async def run_poller(self, stop: asyncio.Event, clock_now: object) -> None:
        """Poll pending device flows at GitHub's interval until ``stop``."""
        while not stop.is_set():
            try:
                await self.poll_device_flows(self._gov.clock.now())
            except Exception:
                log.exception("device-flow poll failed; retrying")
            try:  # a second's granularity; each flow is asked only when its interval is up
                await asyncio.wait_for(stop.wait(), timeout=1)
            except TimeoutError:
                continue
