"""Catalog coverage (English and Spanish complete), localised times, escaping and limits."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n import DEFAULT, LANGUAGES, LOCALE_DIR, SOURCES, format_when, translator
from bot.render import build_digest, build_notice, discord_content, slack_text
from bot.render.platforms import DISCORD_LIMIT, SLACK_LIMIT
from tests.bot.broadcast.support import announce, payload

ROOT = Path(__file__).resolve().parents[3]


def _pot_ids() -> set[str]:
    with open(LOCALE_DIR / "messages.pot", "rb") as f:
        return {m.id for m in read_po(f) if m.id}


def _source_ids() -> set[str]:
    from babel.messages.extract import extract_from_file

    found: set[str] = set()
    for source in SOURCES:
        path = ROOT / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for _line, message, _c, _ctx in extract_from_file(
                "python", str(file), keywords={"_": None}
            ):
                found.add(message)
    return found


_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
# Texts that read the same in every language (names, addresses, commands alone).
_SAME_IN_EVERY_LANGUAGE: set[str] = set()


def test_template_holds_every_message_in_the_sources() -> None:
    """Every _("…") in the sources is in messages.pot (run `python -m bot.i18n extract`)."""
    assert _source_ids() - _pot_ids() == set()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str) -> None:
    """Each msgid of the template has a non-empty translation with the same placeholders, and
    the committed .mo equals what the .po compiles to (run `python -m bot.i18n compile`)."""
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with open(po_path, "rb") as f:
        catalog = read_po(f, locale=lang)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = {i for i in _pot_ids() if not translated.get(i)}
    assert missing == set()
    for msgid, string in translated.items():
        assert sorted(_PLACEHOLDER.findall(msgid)) == sorted(_PLACEHOLDER.findall(string)), (
            lang,
            msgid,
        )
    if lang != DEFAULT:  # an English text left in another language's file is not a translation
        assert {i for i in _pot_ids() if translated.get(i) == i} - _SAME_IN_EVERY_LANGUAGE == set()
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert (po_path.with_suffix(".mo")).read_bytes() == compiled.getvalue()


@pytest.mark.parametrize(
    ("lang", "zone", "expected"),
    [
        ("en", "UTC", "Mar 2, 2026, 9:00:00\u202fAM (UTC)"),
        ("es", "Europe/Madrid", "2 mar 2026, 10:00:00 (Europe/Madrid)"),
        ("es-MX", "America/Mexico_City", "2 mar 2026, 3:00:00 a.m. (America/Mexico_City)"),
        ("xx", "Nowhere/Zone", "Mar 2, 2026, 9:00:00\u202fAM (UTC)"),
    ],
)
def test_times_are_localised_per_reader(lang: str, zone: str, expected: str) -> None:
    """Times are shown in the reader's zone and locale; unknown ones fall back to English/UTC."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert _spaces(format_when(at, lang, zone)) == _spaces(expected)


def _spaces(s: str) -> str:
    """CLDR uses no-break and narrow no-break spaces; compare them as plain spaces."""
    return s.replace("\xa0", " ").replace("\u202f", " ")


def test_spanish_frame_and_unknown_language_fallback() -> None:
    """The frame follows the reader's language; a language we lack falls back to English."""
    assert translator("es")("Decision") == "Decisión"
    assert translator("de")("Decision") == "Decision"


HOSTILE = "<!channel> @everyone <@123> **bold** `code` & <https://evil|click>"


def test_slack_text_escapes_control_sequences() -> None:
    """Slack text escapes &, < and > so mass pings and links from people stay inert."""
    notice = build_notice(payload(announce("decision", title=HOSTILE, text=HOSTILE)))
    text = slack_text(notice)
    assert "<!channel>" not in text and "<@123>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text


def test_discord_content_escapes_mentions_and_markdown() -> None:
    """Discord content breaks every @ and escapes markdown; no raw @everyone or <@id>."""
    notice = build_notice(payload(announce("decision", title=HOSTILE, text=HOSTILE)))
    content = discord_content(notice)
    assert "@everyone" not in content and "<@123>" not in content
    assert "\\*\\*bold\\*\\*" in content and "\\`code\\`" in content


@pytest.mark.parametrize(
    ("render", "limit"), [(slack_text, SLACK_LIMIT), (discord_content, DISCORD_LIMIT)]
)
def test_long_announcements_are_cut_to_the_platform_limit(render, limit) -> None:  # type: ignore[no-untyped-def]
    """A 10,000-character text is cut to the limit, an ellipsis where it was cut."""
    notice = build_notice(payload(announce("decision", text="x" * 10_000)))
    out = render(notice)
    assert len(out) <= limit and out.split("\n")[1].endswith("…")


@pytest.mark.parametrize(
    ("render", "limit", "escape"),
    [(slack_text, SLACK_LIMIT, "&amp;"), (discord_content, DISCORD_LIMIT, "\\*")],
)
@pytest.mark.parametrize("length", [2_500, 10_000])
def test_a_long_text_is_shortened_before_the_link(render, limit, escape, length) -> None:  # type: ignore[no-untyped-def]
    """Text that escaping lengthens is shortened itself: the link stays, no escape is split."""
    text = ("&" if escape == "&amp;" else "*") * length
    notice = build_notice(payload(announce("decision", text=text, proposal=7)), repo="o/r")
    assert notice.link
    out = render(notice)
    assert len(out) <= limit
    assert notice.link.split("//")[-1] in out, "the link survived"
    body = out.split("\n")[1]  # the text's line
    assert body.endswith("…") and body[:-1].replace(escape, "") == ""  # whole escapes only


DIGEST_AT = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("render", "limit"), [(slack_text, SLACK_LIMIT), (discord_content, DISCORD_LIMIT)]
)
@pytest.mark.parametrize(("count", "title"), [(300, "t" * 200), (80, "*_~`&<>@" * 10)])
def test_a_long_digest_keeps_whole_entries_and_counts_the_rest(  # type: ignore[no-untyped-def]
    render, limit, count: int, title: str
) -> None:
    """A digest over the limit shows its first entries whole and ends with a line saying how
    many it left out; entries and that count add up to the digest's."""
    payloads = [payload(announce("vote", title=title, proposal=i)) for i in range(count)]
    out = render(build_digest(payloads, at=DIGEST_AT, repo="o/r"))
    assert len(out) <= limit
    *shown, last = out.split("\n")
    entries = [line for line in shown if line.startswith("• ")]
    assert entries and not any(line.endswith("…") for line in entries)
    assert all(line == entries[0] for line in entries)  # every entry whole (all alike here)
    assert last == f"… and {count - len(entries)} more not shown"


def test_a_digest_that_fits_is_not_shortened() -> None:
    """Few entries: all shown, no count."""
    payloads = [payload(announce("vote", title="short", proposal=i)) for i in range(3)]
    out = slack_text(build_digest(payloads, at=DIGEST_AT))
    assert out.count("• ") == 3 and "more not shown" not in out


def test_slack_text_neutralises_formatting_but_keeps_the_link() -> None:
    """People's *bold* or _italics_ get word joiners, but the link's URL stays as it is."""
    notice = build_notice(
        payload(announce("decision", title="*ALL* _now_", proposal=7)), repo="o_r/x~y"
    )
    text = slack_text(notice)
    assert "\u2060*\u2060ALL\u2060*\u2060 \u2060_\u2060now\u2060_\u2060" in text
    assert "<https://github.com/o_r/x~y/issues/7|" in text


@pytest.mark.parametrize(
    ("kind", "data", "shown"),
    [
        ("meeting", {"starts_at": "2026-07-01T15:00:00+00:00"}, "11:00"),  # the call's start
        ("rollout", {"drill_at": "2026-07-01T15:00:00+00:00"}, "11:00"),  # a drill reminder's time
        ("rollout", {}, "8:00"),  # any other rollout notice: when it was made
        ("decision", {"drill_at": "2026-07-01T15:00:00+00:00"}, "8:00"),  # only a rollout's
    ],
)
def test_a_notice_is_dated_by_the_time_it_is_about(
    kind: str, data: dict[str, str], shown: str
) -> None:
    """A reader in New York sees a drill reminder's "When" as the drill's time in their zone,
    as a meeting reminder shows the call's start, not the moment the reminder went out."""
    made = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    notice = build_notice(
        payload(announce(kind, data=data), at=made), lang="en", zone="America/New_York"
    )
    when = dict(notice.facts)["When"]
    assert f"{shown}" in when and "America/New_York" in when, when
    assert ("Jul 1" in when) is (shown == "11:00"), when
