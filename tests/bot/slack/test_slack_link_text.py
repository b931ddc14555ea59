"""The ``link`` reply in Slack: its notification text (``text``, shown by notifications and
by clients without blocks) carries the one-time code, not only the blocks."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine

from bot.identity import IdentityLinks
from bot.messages import Actor
from bot.slack.blocks import render_blocks
from charter.load import load_charter
from storage.db import session_scope
from tests.bot.broadcast.support import NOW
from tests.paths import reference_charter_text


def test_the_link_code_is_in_the_notification_text(sqlite_engine: Engine) -> None:
    gov: Any = SimpleNamespace(charter=load_charter(reference_charter_text()).charter)
    with session_scope(sqlite_engine) as session:
        reply = IdentityLinks(gov).start(session, Actor(None, "slack", "U0ZOE"), NOW)
    rendered = render_blocks(reply)
    code = re.search(r"charterbot link ([A-Z0-9]{4}-[A-Z0-9]{4})", str(rendered.blocks))
    assert code is not None
    assert code.group(1) in rendered.text, rendered.text
