"""A key stored in the inbox is accepted once; where a key names one event (``same_body``), the
same key with another body raises ``KeyReused`` and stores nothing, while a redelivery of the
same event, in any JSON text, stays a duplicate. Keys reused by design are not compared."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from storage import inbox
from storage.db import session_scope
from storage.inbox import KeyReused, same_event

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _accept(engine: Engine, body: bytes, *, same_body: bool = True, key: str = "k") -> bool:
    with session_scope(engine) as session:
        return inbox.accept(
            session,
            source="github",
            key=key,
            event="issues",
            body=body,
            now=NOW,
            same_body=same_body,
        )


def _bodies(engine: Engine) -> list[bytes]:
    with session_scope(engine) as session:
        return [row.body for row in inbox.pending(session, now=NOW)]


def test_the_same_key_with_another_body_is_refused_and_not_stored(engine: Engine) -> None:
    assert _accept(engine, b'{"n": 1}') is True
    assert _accept(engine, b'{"n": 1}') is False  # a redelivery
    assert _accept(engine, b'{ "n" : 1 }') is False  # the same event, other spacing
    with pytest.raises(KeyReused, match="github key 'k' is stored already with another body"):
        _accept(engine, b'{"n": 2}')
    assert _bodies(engine) == [b'{"n": 1}']


def test_a_key_reused_by_design_is_not_compared(engine: Engine) -> None:
    """Without ``same_body`` (a polled release's key, a chat journal's) another body is a
    duplicate, as before: nothing raised, the stored body kept."""
    assert _accept(engine, b'{"n": 1}', same_body=False) is True
    assert _accept(engine, b'{"n": 2}', same_body=False) is False
    assert _bodies(engine) == [b'{"n": 1}']


@pytest.mark.parametrize(
    ("stored", "body", "same"),
    [
        pytest.param(b"abc", b"abc", True, id="equal-bytes-not-json"),
        pytest.param(
            b'{"a":1,"b":"\\u00e9"}', '{"b": "é", "a": 1}'.encode(), True, id="re-encoded"
        ),
        pytest.param(b'{"a": 1}', b'{"a": 2}', False, id="other-value"),
        pytest.param(b"abc", b"abd", False, id="other-bytes-not-json"),
        pytest.param(b'{"a": 1}', b"\xff", False, id="not-utf8"),
        pytest.param(b"[" * 100_000, b"[" * 99_999, False, id="too-deep"),
    ],
)
def test_same_event(stored: bytes, body: bytes, same: bool) -> None:
    assert same_event(stored, body) is same
