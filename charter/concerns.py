"""Blocking concerns: named objections that keep a proposal from being accepted.

Rules:
- a concern has a name, unique among the open ones (names compare case-insensitively and
  ignoring surrounding spaces);
- raising the name of a resolved concern reopens it, with the new text and raiser;
- only the person who raised a concern may resolve it, unless the caller says the actor may
  resolve any (coordinators);
- while any concern is outstanding a proposal is not accepted (see :func:`charter.votes.tally`).

Functions take and return the proposal's tuple of concerns; they never change it in place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class Concern:
    name: str
    text: str
    raised_by: str
    raised_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    def named(self, name: str) -> bool:
        return _key(self.name) == _key(name)


class ConcernRefused(ValueError):
    """A concern command that the rules do not allow; the message says why."""


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def outstanding(concerns: tuple[Concern, ...]) -> tuple[Concern, ...]:
    """The concerns still open, in the order they were raised."""
    return tuple(c for c in concerns if c.open)


def open_at(concerns: tuple[Concern, ...], now: datetime) -> tuple[Concern, ...]:
    """The concerns that were open at ``now``: raised by then and not yet resolved then.

    The tally judges a proposal as it stood at a moment (a deadline, or when a late-arriving
    vote was cast), so a concern resolved after that moment still held it then, and one raised
    after it did not yet. A reopened concern counts from its reopening (its record keeps only
    the latest raising)."""
    return tuple(
        c for c in concerns if c.raised_at <= now and (c.resolved_at is None or now < c.resolved_at)
    )


def raise_concern(
    concerns: tuple[Concern, ...], name: str, text: str, by: str, now: datetime
) -> tuple[Concern, ...]:
    """Add an open concern ``name``, or reopen a resolved one of that name."""
    name = " ".join(name.split())
    if not name:
        raise ConcernRefused(
            "a concern needs a name, e.g. `/charter concern <n> abi-break: <text>`"
        )
    for i, concern in enumerate(concerns):
        if not concern.named(name):
            continue
        if concern.open:
            raise ConcernRefused(
                f"concern '{concern.name}' is already open (raised by {concern.raised_by}); "
                "pick another name or add to it in a comment"
            )
        reopened = Concern(name, text, by, now)
        return (*concerns[:i], reopened, *concerns[i + 1 :])
    return (*concerns, Concern(name, text, by, now))


def resolve(
    concerns: tuple[Concern, ...],
    name: str,
    by: str,
    now: datetime,
    *,
    may_resolve_any: bool = False,
) -> tuple[Concern, ...]:
    """Mark the open concern ``name`` resolved by ``by``.

    Only its raiser may resolve it, unless ``may_resolve_any`` (coordinators).
    """
    for i, concern in enumerate(concerns):
        if not (concern.open and concern.named(name)):
            continue
        if concern.raised_by.lower() != by.lower() and not may_resolve_any:
            raise ConcernRefused(
                f"only {concern.raised_by} (who raised it) or a coordinator may resolve "
                f"concern '{concern.name}'"
            )
        done = replace(concern, resolved_by=by, resolved_at=now)
        return (*concerns[:i], done, *concerns[i + 1 :])
    names = ", ".join(c.name for c in outstanding(concerns)) or "none"
    raise ConcernRefused(f"there is no open concern named '{name}' (open: {names})")
