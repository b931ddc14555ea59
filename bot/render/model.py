"""The neutral message model of an announcement, in the reader's language and zone.

Rules:
- A ``Notice`` holds only plain text (never markup); each platform renderer escapes it.
- The frame (kind label, fact names, link text, digest heading) comes from the gettext
  catalog in the reader's language; the title and text are the rule's own words, as recorded.
- Times are formatted in the reader's zone and locale; the ISO UTC time stays available for
  machine readers (webhooks, feeds).
- The ``When`` fact is when the announcement was made, except for a meeting announcement that
  names its call's start (``data.starts_at``): there it is when the call starts, since that is
  what the reader needs in their own zone (the meeting's text names no time itself); and for a
  planned rollback drill's reminder (``data.drill_at``): there it is the drill's time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.github_web import GITHUB_WEB, repo_page
from bot.i18n import format_when, translator


def _kind_labels(lang: str | None) -> dict[str, str]:
    _ = translator(lang)
    return {
        "proposal-opened": _("New proposal"),
        "voting-opened": _("Voting opened"),
        "vote": _("Vote"),
        "decision": _("Decision"),
        "rollout": _("Rollout"),
        "incident": _("Incident"),
        "meeting": _("Meeting"),
        "digest": _("Daily digest"),
    }


@dataclass(frozen=True)
class Notice:
    kind: str
    label: str  # the kind, in the reader's language
    title: str
    text: str
    at: datetime
    when: str  # ``at`` for this reader
    facts: tuple[tuple[str, str], ...] = ()
    link: str | None = None
    link_text: str = ""
    proposal: int | None = None  # the proposal it is about, for machine readers (webhooks)
    items: tuple[Notice, ...] = ()  # a digest's entries
    left_out: int = 0  # entries a renderer left out of ``items`` to fit its platform's limit
    footer: str = ""
    unsubscribe_url: str | None = None
    unsubscribe_text: str = ""
    lang: str = "en"

    @property
    def heading(self) -> str:
        return f"{self.label}: {self.title}" if self.title else self.label


def _parsed(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _at(payload: Mapping[str, Any]) -> datetime:
    raw = payload.get("at")
    if isinstance(raw, str):
        parsed = datetime.fromisoformat(raw)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _event_time(kind: str, payload: Mapping[str, Any]) -> datetime | None:
    """The time an announcement is about, when that is not the time it was made: a meeting's
    start (``data.starts_at``), a planned rollback drill's time in its reminder
    (``data.drill_at``, :mod:`charter.drill_reminders`)."""
    data = payload.get("data")
    if not isinstance(data, Mapping):
        return None
    if kind == "meeting":
        return _parsed(data.get("starts_at"))
    return _parsed(data.get("drill_at")) if kind == "rollout" else None


def build_notice(
    payload: Mapping[str, Any],
    *,
    lang: str | None = "en",
    zone: str | None = "UTC",
    repo: str = "",
    unsubscribe_url: str | None = None,
    github_web: str = GITHUB_WEB,
) -> Notice:
    """The notice of one announcement payload (the outbox's ``announce`` JSON); its link is
    the proposal's issue on the GitHub at ``github_web`` (:mod:`bot.github_web`)."""
    _ = translator(lang)
    kind = str(payload.get("kind", ""))
    at = _at(payload)
    facts: list[tuple[str, str]] = []
    number = payload.get("proposal")
    if number is not None:
        facts.append((_("Proposal"), f"#{number}"))
    if payload.get("track"):
        facts.append((_("Track"), str(payload["track"])))
    if payload.get("clients"):
        facts.append((_("Clients"), ", ".join(str(c) for c in payload["clients"])))
    if payload.get("severity"):
        facts.append((_("Severity"), str(payload["severity"])))
    when = format_when(at, lang, zone)
    event = _event_time(kind, payload)
    facts.append((_("When"), when if event is None else format_when(event, lang, zone)))
    link = repo_page(github_web, repo, f"/issues/{number}") if repo and number is not None else None
    return Notice(
        kind=kind,
        label=_kind_labels(lang).get(kind, kind),
        title=str(payload.get("title", "")),
        text=str(payload.get("text", "")),
        at=at,
        when=when,
        facts=tuple(facts),
        link=link,
        link_text=_("View on GitHub"),
        proposal=number if isinstance(number, int) else None,
        footer=_("You receive this because of a charterbot subscription or channel setting."),
        unsubscribe_url=unsubscribe_url,
        unsubscribe_text=_("Unsubscribe"),
        lang=lang or "en",
    )


def _digest_title(_: Callable[[str], str], count: int) -> str:
    # Two msgids rather than ngettext: the catalog tooling (bot.i18n) extracts and checks
    # ``_()`` only, and English and Spanish both have one singular form.
    if count == 1:
        return _("1 announcement")
    return _("%(count)s announcements") % {"count": count}


def build_digest(
    payloads: Sequence[Mapping[str, Any]],
    *,
    at: datetime,
    lang: str | None = "en",
    zone: str | None = "UTC",
    repo: str = "",
    unsubscribe_url: str | None = None,
    github_web: str = GITHUB_WEB,
) -> Notice:
    """One message listing a day's announcements, oldest first."""
    _ = translator(lang)
    items = tuple(
        build_notice(p, lang=lang, zone=zone, repo=repo, github_web=github_web) for p in payloads
    )
    return Notice(
        kind="digest",
        label=_kind_labels(lang)["digest"],
        title=_digest_title(_, len(items)),
        text="",
        at=at,
        when=format_when(at, lang, zone),
        items=items,
        footer=_("You receive this because of a charterbot subscription or channel setting."),
        unsubscribe_url=unsubscribe_url,
        unsubscribe_text=_("Unsubscribe"),
        lang=lang or "en",
    )
