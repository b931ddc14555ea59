"""The PostgreSQL scheduler lock is per schema: replicas of one deployment (one schema) have
one leader; deployments in other schemas of the same database lead on their own; the default
``public`` schema keeps the constant key of earlier versions (a rolling upgrade there never
has two leaders)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.leader import LEADER_LOCK_KEY, PostgresLeadership, lock_key
from storage.db import make_engine

pytestmark = pytest.mark.postgres


def _schema_url(url: str, schema: str) -> str:
    return (
        sa.make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@pytest.mark.parametrize(
    ("schema", "key"),
    [
        ("public", LEADER_LOCK_KEY),
        ("deploy_a", lock_key("deploy_a")),
    ],
)
def test_the_key_names_the_schema(schema: str, key: int) -> None:
    assert lock_key(schema) == key
    assert -(2**63) <= key < 2**63  # a bigint
    assert lock_key("deploy_a") != lock_key("deploy_b") != LEADER_LOCK_KEY


def test_one_leader_per_schema_and_each_schema_its_own(pg_url: str) -> None:
    """Two replicas in the test's schema: one leads. A deployment in another schema of the
    same database leads too, beside it."""
    other = f"{sa.make_url(pg_url).query['options'].split('=', 1)[1]}_other"
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{other}"'))
    other_engine = make_engine(_schema_url(pg_url, other))
    first, second = PostgresLeadership(engine), PostgresLeadership(engine)
    beside = PostgresLeadership(other_engine)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert second.why_not == "another replica holds the scheduler lock"
        assert beside.try_acquire()
        first.release()
        assert second.try_acquire()  # the lock it waited for is this schema's
    finally:
        for held in (first, second, beside):
            held.release()
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{other}" CASCADE'))
        other_engine.dispose()
        engine.dispose()
