"""The scheduler lock behind a real PgBouncer in transaction mode: no replica leads through
it, each says why, and the lock is left free for a replica connected directly.

The test starts ``pgbouncer`` (found on PATH or in /usr/sbin) on a free loopback port with its
own configuration. ``make test`` installs Debian's package when it is missing
(scripts/ensure-pgbouncer.sh); elsewhere the test is skipped, saying so, except under
``CI=true``, where a missing PgBouncer fails it. The same rules are also proven without it by
the simulated poolers of ``test_leader_pooler_pg.py``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from bot.leader import PostgresLeadership
from storage.db import make_engine
from tests.bot.test_leader_pooler_pg import lock_holders

pytestmark = pytest.mark.postgres

PGBOUNCER = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def pgbouncer_url(pg_url: str) -> Iterator[str]:
    """A URL of the test's schema through PgBouncer with ``pool_mode = transaction``."""
    if PGBOUNCER is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pgbouncer is not installed: scripts/ensure-pgbouncer.sh installs it")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer to run this test)")
    url = sa.make_url(pg_url)
    schema = url.query["options"].split("=", 1)[1]
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        home.chmod(0o755)  # run as root, PgBouncer drops to nobody: it must read its files
        (home / "users.txt").write_text(f'"{url.username}" ""\n')
        (home / "pgbouncer.ini").write_text(
            f"[databases]\n{url.database} = host={url.host} port={url.port or 5432}"
            f" dbname={url.database} user={url.username}"
            f" connect_query='SET search_path = \"{schema}\"'\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {home / 'users.txt'}\npool_mode = transaction\n"
            "default_pool_size = 2\nignore_startup_parameters = extra_float_digits,options,"
            "application_name,tcp_user_timeout\n"
        )
        as_root = ["-u", "nobody"] if os.geteuid() == 0 else []
        server = subprocess.Popen(
            [PGBOUNCER, *as_root, str(home / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        proxied = url.set(port=port, query={}).render_as_string(hide_password=False)
        try:
            _wait_until_up(proxied.replace("+psycopg", ""), server)
            yield proxied
        finally:
            server.terminate()
            server.wait(10)
            assert server.stderr is not None
            server.stderr.close()


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                assert server.stderr is not None
                raise AssertionError(f"pgbouncer did not start: {server.stderr.read()!r}") from None
            time.sleep(0.05)


def test_no_replica_leads_through_pgbouncer_in_transaction_mode(
    pgbouncer_url: str, pg_url: str
) -> None:
    """Three replicas campaign through PgBouncer three times each: none leads, each says to
    point the URL at PostgreSQL or a session pool; none left the lock held, so a replica
    connected directly leads."""
    proxied, direct_engine = make_engine(pgbouncer_url), make_engine(pg_url)
    replicas = [PostgresLeadership(proxied) for _ in range(3)]
    direct = PostgresLeadership(direct_engine)
    try:
        for _ in range(3):
            for replica in replicas:
                replica.try_acquire()
                assert sum(r.is_leader for r in replicas) <= 1
        assert [r.is_leader for r in replicas] == [False] * 3
        for replica in replicas:
            assert "session of its own" in replica.why_not
            assert "CHARTERBOT_DATABASE_URL" in replica.why_not
        assert lock_holders(pg_url) == []
        assert direct.try_acquire(), direct.why_not
    finally:
        for held in (*replicas, direct):
            held.release()
        proxied.dispose()
        direct_engine.dispose()
