"""Verified links between chat users and GitHub logins, and pending proofs.

Rule: a link is written only after proof (GitHub's device flow returned the login, or the
one-time code was posted on GitHub by that login). Claims alone never create a link.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models.core import IdentityLinkRow, LinkRequestRow


def lookup(session: Session, surface: str, surface_id: str) -> IdentityLinkRow | None:
    return session.get(IdentityLinkRow, (surface, surface_id))


def link(
    session: Session, *, surface: str, surface_id: str, login: str, method: str, now: datetime
) -> IdentityLinkRow:
    row = session.get(IdentityLinkRow, (surface, surface_id))
    if row is None:
        row = IdentityLinkRow(
            surface=surface, surface_id=surface_id, login=login, method=method, verified_at=now
        )
    else:
        row.login, row.method, row.verified_at = login, method, now
    session.add(row)
    return row


def links_of(session: Session, login: str) -> list[IdentityLinkRow]:
    stmt = select(IdentityLinkRow).where(col(IdentityLinkRow.login) == login)
    return list(session.exec(stmt).all())


def add_request(session: Session, request: LinkRequestRow) -> None:
    session.add(request)


def request_by_code(session: Session, code: str) -> LinkRequestRow | None:
    return session.get(LinkRequestRow, code)


def pending_requests(session: Session, now: datetime) -> list[LinkRequestRow]:
    stmt = select(LinkRequestRow).where(col(LinkRequestRow.expires_at) > now)
    return list(session.exec(stmt).all())


def drop_request(session: Session, code: str) -> None:
    row = session.get(LinkRequestRow, code)
    if row is not None:
        session.delete(row)
