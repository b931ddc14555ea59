"""Link codes posted in GitHub comments: how a commenter proves their login to a chat account.

Rules:
- A comment line that is exactly ``charterbot link <CODE>`` (what ``/charter link`` asks for)
  proves the commenter's login for a pending chat link; the code is claimed when the comment is
  first stored, like its commands (:mod:`bot.github.comments`), judged by when the comment was
  posted.
- Only the comment's live text counts, as for commands: a code quoted, in code or an HTML
  comment, or inside other text is not claimed, so quoting someone's code never links the
  quoter's login to their chat account (:func:`link_codes`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from bot.github.events import CommentEvent
from charter.live_lines import live_lines

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.service import Governance

LINK_LINE = re.compile(r"charterbot\s+link\s+([A-Z0-9]{4}-[A-Z0-9]{4})", re.IGNORECASE)


def link_codes(body: str) -> list[str]:
    """The one-time link codes a comment posts, upper-cased: its live lines (those GitHub
    shows as the author's own text, see :func:`charter.live_lines.live_lines`) that are exactly
    ``charterbot link <CODE>``, in any case and spacing. A code quoted, in code, in an HTML
    comment or inside a sentence is someone else's, or only shown: never claimed."""
    return [
        match.group(1).upper()
        for line in live_lines(body)
        if (match := LINK_LINE.fullmatch(line)) is not None
    ]


def claim_link_codes(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> None:
    """Claim the codes the comment ``ev`` posts, for its author."""
    for code in link_codes(ev.body):
        # Judged by when the comment was posted: a backlog must not expire a code used in time.
        gov.identity_links.claim_code(session, code, ev.author, ev.created_at)
