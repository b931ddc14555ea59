"""At start, the charter is adopted under the audit lock taken first: the upgrade of stored
rollouts (storage.rollouts.keep_stage_ids) must not lock rollout rows and then wait for the
audit lock, while a running replica's command holds the audit lock and waits for those rows
(an incident command appends, then pauses rollouts) — a deadlock on PostgreSQL."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from sqlalchemy import Engine, text

from bot.charter_adoption import adopt_charter
from charter.load import load_charter
from storage import audit, rollouts as store
from storage.db import session_scope
from tests.paths import reference_charter_text
from tests.storage.test_rollout_soak_clocks import ON_STAGING, V3, C, H, T, ready, stored_clock

KEY = audit.ADVISORY_LOCK_KEY
WAITING = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND classid = :hi AND objid = :lo"
)


def test_a_start_waits_for_the_audit_lock_before_it_locks_a_rollout(pg_engine: Engine) -> None:
    stale = replace(ON_STAGING, reports=(*ON_STAGING.reports, ready("aurora", "1.0.1", T + H, C)))
    with session_scope(pg_engine) as session:  # a row the start upgrades (its clock moves)
        store.save_rollout(session, stale, V3, T + 2 * H)
    loaded = load_charter(reference_charter_text())
    errors: list[BaseException] = []
    holder = pg_engine.connect()  # a running command that appended and holds the audit lock
    holder.begin()
    holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": KEY})

    def start() -> None:
        try:
            adopt_charter(pg_engine, loaded, T + 3 * H)
        except BaseException as exc:  # reported below
            errors.append(exc)

    starting = threading.Thread(target=start)
    starting.start()
    try:
        with pg_engine.connect() as probe:
            for _ in range(400):  # until the start waits for the audit lock
                found = probe.execute(WAITING, {"hi": KEY >> 32, "lo": KEY & 0xFFFFFFFF})
                if found.scalar_one() or not starting.is_alive():
                    break
                time.sleep(0.025)
            # The command would now take the rollout row: it is free (it was locked, waiting
            # for the audit lock the command holds, before).
            probe.execute(text("SET LOCAL lock_timeout = '200ms'"))
            probe.execute(text("SELECT 1 FROM rollout WHERE proposal = 7 FOR UPDATE"))
            probe.rollback()
    finally:
        holder.rollback()
        holder.close()
        starting.join(30)
    assert errors == []
    assert stored_clock(pg_engine) == (T + H).isoformat()  # the start did its upgrade after
