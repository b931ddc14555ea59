"""Every comment body the bot posts fits GitHub's size limit.

GitHub refuses a comment body over 65,536 characters. The tracking comment and every reply
are capped by ``fit`` (cut at whole lines, never inside an escape, and saying so), leaving
room for the relay's hidden markers; ``point_to`` names the full record once it is known.
"""

from __future__ import annotations

# GitHub refuses a comment body over 65,536 characters; every body the bot posts (the tracking
# comment, replies) stays well below it, leaving room for the relay's hidden markers.
MAX_BODY = 60_000


def fit(body: str, page: str = "") -> str:
    """Any comment body GitHub must accept: ``body`` itself when it has at most ``MAX_BODY``
    characters, else cut to fit and ended by a note saying so (pointing to ``page``, the full
    record, when given). The last resort of the tracking comment (a huge seat matrix), and the
    cap of every reply. Whole lines are kept; a first line longer than the limit is cut where
    no entity or backslash escape is split, so the text still renders as it was escaped."""
    if len(body) <= MAX_BODY:
        return body
    note = _cut_note(page)
    end = body.rfind("\n", 0, MAX_BODY - len(note)) + 1
    if end:
        return body[:end] + note
    return body[: _unsplit(body, MAX_BODY - len(note) - 1)] + "\n" + note


def point_to(body: str, page: str) -> str:
    """A body :func:`fit` cut without knowing the full record's ``page``, now naming it."""
    bare = _cut_note("")
    if not page or not body.endswith(bare):
        return body
    return body.removesuffix(bare) + _cut_note(page)


def _cut_note(page: str) -> str:
    where = f"; the full record: {page}" if page else ""
    return f"… cut to fit GitHub's comment size limit{where}\n"


def _unsplit(text: str, end: int) -> int:
    """The last cut at or before ``end`` that splits no entity (``&lt;``, ``&#8203;``) and no
    backslash escape of :func:`charter.text.escape_markdown_github`."""
    amp = text.rfind("&", max(0, end - 7), end)  # the longest entity, &#8203;, has 7
    if amp != -1 and ";" not in text[amp:end]:
        end = amp
    backslashes = end - len(text[:end].rstrip("\\"))
    return end - backslashes % 2  # an odd run ends in an escape's first half
