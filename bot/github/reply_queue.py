"""A reply to a comment on GitHub goes out once, escaped, and cut to what GitHub accepts.

Rules:
- The reply's key makes a re-processed comment not answer twice.
- User text is escaped; only markdown the caller has made safe (bot.github.replies) is not.
- A body cut to fit (bot.comment_size) is marked ``cut``: the relay points it to the
  proposal's page when a public URL is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.comment_size import fit
from charter.text import escape_markdown_github
from storage import outbox


def reply_on_github(
    session: Session,
    number: int,
    to_login: str,
    text: str,
    key: str,
    now: datetime,
    *,
    markdown: bool = False,
) -> None:
    """Answer a comment once (the key makes a re-processed comment not answer twice).
    ``text`` is escaped whole, unless it is ``markdown`` the caller has made safe (its user
    parts escaped: bot.github.replies). Escaping makes text longer (``@`` becomes 8
    characters), so the body is cut to what GitHub accepts (``comment_size.fit``, leaving room
    for the relay's outbox marker); a cut one is marked so the relay points it to the
    proposal's page when a public URL is set."""
    full = f"@{to_login} {text if markdown else escape_markdown_github(text)}"
    body = fit(full)
    payload: dict[str, Any] = {"proposal": number, "body": body}
    if body != full:
        payload["cut"] = True
    outbox.enqueue(session, kind="comment", payload=payload, now=now, key=f"reply:{key}")
