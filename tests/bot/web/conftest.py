"""Fixtures for the dashboard: a demo-seeded database, the real app, a real HTTP server.

The demo campaign is seeded once per session through the real path (webhook deliveries and
console commands, see bot.demo) into a template file; each user copies the file, so tests
that change data cannot disturb each other and the 2-second seeding is paid once.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.demo import seed_if_empty
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from tests.standins.loopback import serving as serve_on_loopback

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def runtime(path: Path, now: datetime = NOW) -> Runtime:
    return build(Settings(database_url=f"sqlite:///{path}"), clock=FixedClock(now))


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "template.db"
    rt = runtime(path)
    assert seed_if_empty(rt)
    rt.engine.dispose()
    return path


def copy_of(template: Path, directory: Path) -> Path:
    target = directory / "charterbot.db"
    shutil.copyfile(template, target)
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{template}{suffix}")
        if extra.exists():
            shutil.copyfile(extra, Path(f"{target}{suffix}"))
    return target


@pytest.fixture
def seeded(seeded_template: Path, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on a private copy of the demo database."""
    rt = runtime(copy_of(seeded_template, tmp_path))
    yield rt
    rt.engine.dispose()


@pytest.fixture
async def client(seeded: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(seeded, run_background=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as http:
        yield http


@pytest.fixture(scope="module")
def secret_template(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo campaign plus the confidential one of test_confidential_audit (an undisclosed
    security patch, its rollout, a confidential incident and a private call), seeded once per
    module that uses it."""
    from tests.bot.web.test_confidential_audit import build as build_secret  # imports this module

    path = copy_of(seeded_template, tmp_path_factory.mktemp("secret"))
    rt = runtime(path)
    build_secret(rt)
    rt.engine.dispose()
    return path


@pytest.fixture
def secret_rt(secret_template: Path, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on a private copy of the confidential campaign, two days after it."""
    rt = runtime(copy_of(secret_template, tmp_path), now=NOW + timedelta(days=2))
    yield rt
    rt.engine.dispose()


@pytest.fixture
async def anon(secret_rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous visitor of the dashboard over the confidential campaign."""
    app = create_app(secret_rt, run_background=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dash"
    ) as http:
        yield http


@contextlib.asynccontextmanager
async def serving(rt: Runtime) -> AsyncIterator[str]:
    """The real app under uvicorn on a free loopback port, in this event loop; yields its URL."""
    async with serve_on_loopback(create_app(rt, run_background=False)) as url:
        yield url
