import pytest
from tests.bot.test_github_poll import *  # noqa
import bot.github.handler as h

@pytest.fixture(autouse=True)
def _mut(monkeypatch):
    monkeypatch.setattr(h, "_remember", lambda s, ev: True)
