"""Fixtures for the GitHub edge: the wire stand-in, a fake clock, gateways wired to both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth

from bot.github.gateway import PyGithubGateway
from bot.github.ratelimit import RetryPolicy, Throttle, WritePacer
from tests.standins.github_server import GitHubStandin, running_github_standin


class FakeClock:
    """Monotonic and wall clock in one; `sleep` advances it instantly and records the wait."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture(scope="session")
def _github_server() -> Iterator[GitHubStandin]:
    with running_github_standin() as standin:
        yield standin


@pytest.fixture
def github_standin(_github_server: GitHubStandin) -> GitHubStandin:
    """The GitHub stand-in, emptied for this test (one server serves the whole session)."""
    _github_server.reset()
    return _github_server


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock(github_standin: GitHubStandin) -> FakeClock:
    """A fake clock aligned with the stand-in's clock (so `x-ratelimit-reset` makes sense)."""
    return FakeClock(github_standin.store.now.timestamp())


def fake_throttle(clock: FakeClock, *, max_retries: int = 4, **pacer: Any) -> Throttle:
    return Throttle(
        RetryPolicy(max_retries=max_retries),
        WritePacer(clock=clock, sleep=clock.sleep, **pacer),
        wall_clock=clock,
        sleep=clock.sleep,
    )


ThrottleFactory = Callable[..., Throttle]


@pytest.fixture
def make_throttle() -> ThrottleFactory:
    """`make_throttle(clock, max_retries=…, min_interval=…, windows=…)`."""
    return fake_throttle


GatewayFactory = Callable[..., PyGithubGateway]


@pytest.fixture
def make_gateway(github_standin: GitHubStandin, clock: FakeClock) -> Iterator[GatewayFactory]:
    """Build gateways against the stand-in: token auth and the fake clock by default."""
    made: list[PyGithubGateway] = []

    def make(auth: Auth.Auth | None = None, **kwargs: Any) -> PyGithubGateway:
        throttle = kwargs.pop("throttle", None) or fake_throttle(
            clock, max_retries=kwargs.pop("max_retries", 4)
        )
        gateway = PyGithubGateway(
            github_standin.store.repo,
            auth or Auth.Token(github_standin.token),
            kwargs.pop("base_url", github_standin.base_url),
            throttle=throttle,
            **kwargs,
        )
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> PyGithubGateway:
    return make_gateway()


@pytest.fixture(scope="session")
def app_keys() -> tuple[str, str]:
    """(private PEM, public PEM) of a throwaway GitHub App key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
