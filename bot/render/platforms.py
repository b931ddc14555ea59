"""Per-platform text of a :class:`~bot.render.model.Notice`, escaped and within limits.

Rules:
- Slack: mrkdwn with ``&``, ``<`` and ``>`` escaped in every piece of people's text (so
  ``<!channel>`` or ``<@U1>`` stay inert); at most 3,000 characters.
- Discord: markdown characters escaped and every ``@`` followed by a zero-width space (no
  ``@everyone``, no ``<@id>``); at most 2,000 characters. Senders also send
  ``allowed_mentions: {"parse": []}``, so nothing pings even if escaping missed something.
- E-mail: a plain-text part and an HTML part; HTML escapes all text.
- Webhook: JSON with the original fields plus the rendered text.
- Slack's formatting characters in people's text are made inert as in chat answers
  (:func:`bot.slack.blocks.escape`: word joiners around ``*`` ``_`` ``~`` and the backtick,
  before a line's ``>``); a link's URL gets entities only, so it still works.
- Cutting to a limit keeps whole characters and ends with "…". A message over its platform's
  limit is shortened in its free text first, before escaping, so the heading, the facts and the
  link survive and no escape (``&amp;``, ``\\*``) is split. A digest still too long keeps its
  first entries whole and leaves out the last ones, ending with a line that says how many
  ("… and 12 more not shown", in the reader's language). Only what is still too long is cut
  as a whole, without leaving half an escape at the cut.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.i18n import translator
from bot.render.model import Notice
from bot.slack.blocks import WORD_JOINER, escape as _slack_mrkdwn, escape_entities

SLACK_LIMIT = 3000
DISCORD_LIMIT = 2000
_DISCORD_MD = re.compile(r"([\\*_~`|>#\[\]\-])")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# The tail of a cut that would leave half an escape: a Slack entity or joiner pair, a Discord
# backslash.
_HALF_ESCAPE = re.compile(rf"(&[a-z]{{0,3}}|\\|{WORD_JOINER}[*_~`]|(?<![*_~`]){WORD_JOINER})$")


def _fit(render: Callable[[Notice], str], n: Notice, limit: int) -> str:
    """``render(n)`` within ``limit``: its text shortened first (see the module's rules)."""
    out = render(n)
    if len(out) <= limit:
        return out
    room = limit - len(render(replace(n, text="x")))  # what the text may take, escaped
    text = n.text
    while len(out) > limit and room > 0 and text:
        escaped = len(out) - (limit - room)  # the text's length once escaped (and cut)
        keep = len(text) * room // max(escaped, 1)  # escaping lengthens evenly, roughly
        text = cut(text, keep) if keep > 1 else ""
        out = render(replace(n, text=text))
        room -= 1  # never loops forever: each round asks for a little less
    if len(out) <= limit:
        return out
    if n.items:
        fewer = _fewer_items(render, n, limit)
        if fewer is not None:
            return fewer
    return _HALF_ESCAPE.sub("", out[: limit - 1].rstrip()) + "…"


def _fewer_items(render: Callable[[Notice], str], n: Notice, limit: int) -> str | None:
    """``render(n)`` with as many of its first items as fit ``limit`` and a line saying how many
    are left out; None when even no item at all does not fit."""

    def shown(k: int) -> str:
        return render(replace(n, items=n.items[:k], left_out=len(n.items) - k))

    low, high = 0, len(n.items) - 1  # the answer is in [low, high], if anywhere
    if len(shown(low)) > limit:
        return None
    while low < high:  # longer with each item: search the largest count that fits
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(shown(middle)) <= limit else (low, middle - 1)
    return shown(low)


def slack_escape(text: str) -> str:
    """People's text as inert Slack mrkdwn: the chat answers' escape, one rule for both."""
    return _slack_mrkdwn(text)


def discord_escape(text: str) -> str:
    return _DISCORD_MD.sub(r"\\\1", text).replace("@", "@\u200b")


def _lines(n: Notice, esc: Any, bold: str, link: Any) -> list[str]:
    out = [f"{bold}{esc(n.heading)}{bold}"]
    if n.text:
        out.append(esc(n.text))
    facts = " · ".join(f"{esc(k)}: {esc(v)}" for k, v in n.facts)
    if facts:
        out.append(facts)
    if n.link:
        out.append(link(n.link, n.link_text))
    for item in n.items:
        out.append(f"• {esc(item.heading)} ({esc(item.when)})")
    if n.left_out:
        _ = translator(n.lang)
        out.append(esc(_("… and %(count)s more not shown") % {"count": n.left_out}))
    return out


def slack_text(n: Notice) -> str:
    def link(url: str, text: str) -> str:
        return f"<{escape_entities(url)}|{slack_escape(text)}>"

    return _fit(lambda m: "\n".join(_lines(m, slack_escape, "*", link)), n, SLACK_LIMIT)


def discord_content(n: Notice) -> str:
    def link(url: str, text: str) -> str:
        return f"[{discord_escape(text)}](<{url}>)"  # <…> suppresses the embed

    return _fit(lambda m: "\n".join(_lines(m, discord_escape, "**", link)), n, DISCORD_LIMIT)


def email_parts(n: Notice) -> tuple[str, str, str]:
    """(subject, plain text, HTML). The subject is the heading on one line: every line break
    ``str.splitlines`` knows (``\r``, U+2028, U+0085, …) becomes a space, as a mail header may
    hold none."""
    subject = cut(" ".join(n.heading.splitlines()), 200)
    plain = _lines(n, lambda s: s, "", lambda url, text: f"{text}: {url}")
    plain += ["", "--", n.footer]
    if n.unsubscribe_url:
        plain.append(f"{n.unsubscribe_text}: {n.unsubscribe_url}")
    e = html.escape
    parts = [f"<h2>{e(n.heading)}</h2>"]
    if n.text:
        parts.append(f"<p>{e(n.text)}</p>")
    if n.facts:
        parts.append("<ul>" + "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in n.facts) + "</ul>")
    if n.link:
        parts.append(f'<p><a href="{e(n.link)}">{e(n.link_text)}</a></p>')
    if n.items:
        rows = "".join(f"<li>{e(i.heading)} ({e(i.when)})</li>" for i in n.items)
        parts.append(f"<ol>{rows}</ol>")
    foot = e(n.footer)
    if n.unsubscribe_url:
        foot += f' <a href="{e(n.unsubscribe_url)}">{e(n.unsubscribe_text)}</a>'
    parts.append(f"<hr><p><small>{foot}</small></p>")
    doc = f'<!doctype html><html lang="{e(n.lang)}"><body>{"".join(parts)}</body></html>'
    return subject, "\n".join(plain) + "\n", doc


def webhook_body(n: Notice, payload: dict[str, Any], delivery_key: str) -> dict[str, Any]:
    """The JSON a webhook receives: the announcement's fields plus rendered text."""
    return {
        "id": delivery_key,
        "kind": n.kind,
        "title": n.title,
        "text": n.text,
        "at": n.at.isoformat(),
        "link": n.link,
        "proposal": payload.get("proposal"),
        "track": payload.get("track"),
        "clients": payload.get("clients", []),
        "severity": payload.get("severity"),
        "data": payload.get("data", {}),
        "items": [_webhook_item(i) for i in n.items],
    }


def _webhook_item(i: Notice) -> dict[str, Any]:
    """A digest entry: its kind, title, time, and its link and proposal number as a single
    announcement's body carries them (None when it has none)."""
    return {
        "kind": i.kind,
        "title": i.title,
        "at": i.at.isoformat(),
        "link": i.link,
        "proposal": i.proposal,
    }
