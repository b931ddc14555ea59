"""Charter adoption is recorded in the audit log only when the charter's content changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage import audit, charters
from storage.db import read_scope, session_scope

T0 = datetime(2024, 5, 1, tzinfo=UTC)
A, B = "a" * 64, "b" * 64


def test_adoption_is_recorded_only_on_change(engine: Engine) -> None:
    """Same content again (restart, other path) appends nothing; new or reverted content does."""
    steps = [
        (A, 1, "charter.yaml", True),
        (A, 1, "charter.yaml", False),  # restart
        (A, 1, "/etc/charterbot/charter.yaml", False),  # same content, other path
        (B, 2, "charter.yaml", True),
        (A, 1, "charter.yaml", True),  # reverted: differs from the last adopted one
    ]
    for minute, (sha, version, source, recorded) in enumerate(steps):
        with session_scope(engine) as session:
            at = T0 + timedelta(minutes=minute)
            assert charters.adopt(session, sha, version, source, at) is recorded
    with read_scope(engine) as session:
        last = audit.last_of_kind(session, charters.KIND)
        assert last is not None
        assert last.seq == 3
        assert audit.payload_of(last.payload) == {
            "version": 1,
            "sha256": A,
            "source": "charter.yaml",
        }
        assert (last.charter_version, last.actor, last.at) == (
            1,
            "system",
            T0 + timedelta(minutes=4),
        )
        assert charters.adopted_sha256(session) == A
        assert audit.verify(session).ok


def test_other_entries_do_not_hide_the_adopted_charter(engine: Engine) -> None:
    """Only charter-adopted entries count, however many other entries follow them."""
    with session_scope(engine) as session:
        assert charters.adopt(session, A, 1, "charter.yaml", T0)
        for i in range(3):
            audit.append(
                session,
                actor="alice",
                kind="vote",
                subject="proposal#1",
                payload={"sha256": B, "i": i},
                charter_version=1,
                at=T0,
            )
    with session_scope(engine) as session:
        assert charters.adopted_sha256(session) == A
        assert not charters.adopt(session, A, 1, "charter.yaml", T0)


def test_the_text_of_every_version_is_kept(engine: Engine) -> None:
    """One text per version number (the last adopted under it); kept even when the content
    is already the adopted one (a database from before texts were kept)."""
    steps = [
        (A, 3, "v3 text", True),
        (A, 3, "v3 text", False),
        (B, 4, "v4 text", True),
        ("c" * 64, 4, "v4 fixed without a version bump", True),
    ]
    for minute, (sha, version, text, recorded) in enumerate(steps):
        with session_scope(engine) as session:
            at = T0 + timedelta(minutes=minute)
            assert charters.adopt(session, sha, version, "charter.yaml", at, text) is recorded
    with read_scope(engine) as session:
        assert charters.version_texts(session) == {
            3: "v3 text",
            4: "v4 fixed without a version bump",
        }
        assert charters.version_text(session, 3) == "v3 text"
        assert charters.version_text(session, 2) is None
        assert charters.adopted_version(session) == 4


def test_a_database_without_kept_texts_gets_the_running_one(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert charters.adopted_version(session) is None
        assert charters.adopt(session, A, 3, "charter.yaml", T0)  # before texts were kept
    with session_scope(engine) as session:
        assert not charters.adopt(session, A, 3, "charter.yaml", T0, "v3 text")
    with read_scope(engine) as session:
        assert charters.version_texts(session) == {3: "v3 text"}
        assert charters.adopted_version(session) == 3
