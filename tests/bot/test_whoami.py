"""``whoami``: the person's login and roles, each said once.

Rules proven here:
- A client's maintainer is named once, with the client ("maintainer of Borealis"), beside any
  other role; a person of no client has no "of".
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.commands_core import _whoami
from bot.messages import Actor, plain_text
from charter.load import load_charter
from tests.paths import reference_charter_text

GOV: Any = SimpleNamespace(charter=load_charter(reference_charter_text()).charter)


@pytest.mark.parametrize(
    ("login", "says"),
    [
        ("carmen-borealis", "You are carmen-borealis (maintainer of Borealis)."),
        ("alice-aurora", "You are alice-aurora (maintainer of Aurora)."),
        ("zoe-contributor", "You are zoe-contributor (contributor)."),
    ],
)
def test_whoami_names_each_role_once(login: str, says: str) -> None:
    assert plain_text(_whoami(GOV, Actor(login, "slack", "U1"))) == says
