"""Blocking concerns: raising, reopening and resolving named concerns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charter.concerns import Concern, ConcernRefused, open_at, outstanding, raise_concern, resolve

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
OPEN = Concern("abi-break", "breaks the ABI", "carmen-borealis", T0)
DONE = Concern("docs", "no docs", "emeka-cirrus", T0, resolved_by="emeka-cirrus", resolved_at=T1)


def test_raising_adds_an_open_concern_at_the_end() -> None:
    """A new name is appended as an open concern, raised by the actor at now."""
    after = raise_concern((OPEN,), "  rollback   plan ", "how do we undo it?", "hana-eridanus", T1)
    assert after == (OPEN, Concern("rollback plan", "how do we undo it?", "hana-eridanus", T1))
    assert after[1].open


@pytest.mark.parametrize("name", ["abi-break", "ABI-Break", " abi-break "])
def test_an_open_name_cannot_be_raised_twice(name: str) -> None:
    """Names are unique among open concerns, compared case- and space-insensitively."""
    with pytest.raises(ConcernRefused, match=r"'abi-break' is already open.*carmen-borealis"):
        raise_concern((OPEN, DONE), name, "again", "alice-aurora", T1)


@pytest.mark.parametrize("name", ["", "   "])
def test_a_concern_needs_a_name(name: str) -> None:
    """An empty name is refused with an example of the command."""
    with pytest.raises(ConcernRefused, match="needs a name"):
        raise_concern((), name, "text", "alice-aurora", T0)


def test_raising_a_resolved_name_reopens_it_in_place() -> None:
    """Re-raising a resolved concern reopens it, with the new text and raiser, in its place."""
    later = T1 + timedelta(hours=1)
    after = raise_concern((DONE, OPEN), "Docs", "still no docs", "fatima-dorado", later)
    assert after == (Concern("Docs", "still no docs", "fatima-dorado", later), OPEN)
    assert outstanding(after) == after


@pytest.mark.parametrize(
    ("by", "may_resolve_any"),
    [("carmen-borealis", False), ("Carmen-Borealis", False), ("ines-coord", True)],
)
def test_the_raiser_or_a_coordinator_resolves(by: str, may_resolve_any: bool) -> None:
    """The raiser (any case) or someone allowed to resolve any concern may resolve it."""
    after = resolve((OPEN, DONE), "ABI-break", by, T1, may_resolve_any=may_resolve_any)
    assert after[0] == Concern(OPEN.name, OPEN.text, OPEN.raised_by, T0, by, T1)
    assert outstanding(after) == ()


def test_others_may_not_resolve() -> None:
    """Anyone else is refused, and told who may resolve it."""
    with pytest.raises(ConcernRefused, match=r"only carmen-borealis .* or a coordinator"):
        resolve((OPEN,), "abi-break", "alice-aurora", T1)


@pytest.mark.parametrize(
    ("concerns", "name", "listed"),
    [((OPEN, DONE), "docs", "abi-break"), ((DONE,), "nope", "none")],
)
def test_resolving_an_unknown_or_resolved_name_is_refused(
    concerns: tuple[Concern, ...], name: str, listed: str
) -> None:
    """Only open concerns can be resolved; the refusal lists the open ones."""
    with pytest.raises(ConcernRefused, match=rf"no open concern named '{name}' \(open: {listed}\)"):
        resolve(concerns, name, "emeka-cirrus", T1, may_resolve_any=True)


def test_outstanding_keeps_raising_order() -> None:
    """outstanding() lists open concerns in the order they were raised."""
    other = Concern("perf", "slow", "hana-eridanus", T1)
    assert outstanding((OPEN, DONE, other)) == (OPEN, other)


@pytest.mark.parametrize(
    ("now", "names"),
    [
        (T0 - timedelta(seconds=1), []),  # neither raised yet
        (T0, ["abi-break", "docs"]),  # raised at this instant: open
        (T1 - timedelta(seconds=1), ["abi-break", "docs"]),
        (T1, ["abi-break"]),  # resolved at this instant: no longer open
        (T1 + timedelta(days=9), ["abi-break"]),
    ],
)
def test_open_at_a_moment(now: datetime, names: list[str]) -> None:
    """The tally judges a proposal as it stood at a moment: a concern holds it from when it
    was raised until it was resolved."""
    assert [c.name for c in open_at((OPEN, DONE), now)] == names
