"""A digest's heading counts its announcements in words that agree with the count, and its
webhook entries carry each announcement's link and proposal number, as a single one does."""

from __future__ import annotations

import pytest

from bot.render.model import build_digest
from bot.render.platforms import webhook_body
from tests.bot.broadcast.support import NOW, announce, payload


@pytest.mark.parametrize(
    ("count", "lang", "title"),
    [
        (1, "en", "1 announcement"),
        (2, "en", "2 announcements"),
        (0, "en", "0 announcements"),
        (3, "es", "3 anuncios"),
    ],
)
def test_the_digest_title_agrees_with_its_count(count: int, lang: str, title: str) -> None:
    items = [payload(announce("vote", proposal=n)) for n in range(count)]
    assert build_digest(items, at=NOW, lang=lang, repo="o/r").title == title


def test_a_webhook_digest_entry_carries_its_link_and_proposal() -> None:
    items = [payload(announce("vote", proposal=7)), payload(announce("incident"))]
    digest = build_digest(items, at=NOW, repo="o/r")
    body = webhook_body(digest, {"kind": "digest", "items": items}, "9.1")
    assert [(i["link"], i["proposal"]) for i in body["items"]] == [
        ("https://github.com/o/r/issues/7", 7),
        (None, None),
    ]
