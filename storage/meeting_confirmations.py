"""Confirmation tokens: a meeting request (schedule or move a call) waiting for the person who
made it to confirm it with ``/charter confirm <token>``.

Rules:
- A token is used once, by the person it was issued to, before it expires; taking it marks it
  used in the caller's transaction (the row is locked on PostgreSQL; SQLite serialises
  writers), so two confirmations of the same token cannot both go through.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from storage.models.meetings import MeetingConfirmationRow
from storage.times import aware


def add_confirmation(
    session: Session,
    *,
    token: str,
    login: str,
    surface: str,
    surface_id: str,
    action: str,
    payload: dict[str, Any],
    now: datetime,
    ttl: timedelta,
) -> None:
    session.add(
        MeetingConfirmationRow(
            token=token,
            login=login,
            surface=surface,
            surface_id=surface_id,
            action=action,
            payload=json.dumps(payload, sort_keys=True),
            created_at=now,
            expires_at=now + ttl,
        )
    )


def take_confirmation(
    session: Session, token: str, login: str, now: datetime
) -> tuple[MeetingConfirmationRow, dict[str, Any]] | str:
    """The pending request behind ``token``, marked used; or why it cannot be confirmed."""
    row = session.get(MeetingConfirmationRow, token, with_for_update=True)
    if row is None or row.login != login:
        return f"There is no pending request with the token {token}."
    if row.used_at is not None:
        return f"{token} was already confirmed."
    expires = aware(row.expires_at)
    if now > expires:
        return f"{token} expired at {expires:%Y-%m-%d %H:%M} UTC; schedule the call again."
    row.used_at = now
    session.add(row)
    data: dict[str, Any] = json.loads(row.payload)
    return row, data
