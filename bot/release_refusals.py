"""Telling whoever must know that a release's ``charterbot: ready <n> <stage>`` line did not
count (part of the rollout area: :mod:`bot.rollout_watch` reads the releases).

Rules:
- A refused release line is always audited (``release-report-refused``: why, the repository,
  the tag, the stage as written, and ``told``: where the refusal went). Everything else goes
  through the outbox, once per release, proposal and stage (keyed by them): a redelivered,
  re-polled or re-edited release does not tell anyone twice.
- Public proposal (not confidential, or disclosed): a comment on its issue that mentions the
  releasing client's maintainers (so GitHub notifies them) and says which release (repository
  and tag, linked), the line it holds, why it did not count and what to write instead: the
  stage the charter has that the line most likely meant (a misspelt one), or the ``/ready``
  comment that reports the release by hand; a client not in the rollout is told the line
  names a proposal it does not ship. ``told: issue``.
- Confidential proposal not yet disclosed: nothing public. Each maintainer of the releasing
  client who may see the proposal (:func:`bot.rollout_steps.visible`: the maintainers of its
  affected clients) gets the same words as a direct message (the notify relay: their private
  chat, else the charter's private channels), ``told: maintainers``; when none may (the client
  is not in its rollout), the refusal would reveal the proposal to them, and it is only
  audited, ``told: nobody``, as for a number no proposal has.
- A number no proposal has: no issue to comment on, and nothing to reveal either way; it is
  only audited (``told: nobody``), exactly as a confidential proposal the releasing client may
  not see, so the two cannot be told apart: the public audit log and its export withhold an
  entry about a number no proposal has as they withhold one about a hidden proposal
  (``storage.dashboard_queries.Secrets.hides``), so neither its ``why`` nor its subject shows.
- The direct message's "what to write instead" names the issue (``in a comment on #<n>``):
  it is not a comment on the issue, so "here" would point nowhere.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from urllib.parse import quote

from sqlmodel import Session

from bot.announcements import undisclosed_secrets
from bot.github.events import ReleaseEvent
from bot.github_web import GITHUB_WEB, repo_page
from bot.messages import Actor
from bot.rollout_steps import visible
from bot.service import Governance
from charter.effects import Audit, Comment, Effect
from charter.model import Charter
from charter.rollout import Rollout
from charter.text import escape_markdown_github as escape
from storage import outbox, proposals as repo

KIND = "release-report-refused"


def release_url(web: str, repo_name: str, tag: str) -> str:
    """The release's page on the GitHub at ``web`` (a tag's release: ``/releases/tag/<tag>``)."""
    return repo_page(web, repo_name, f"/releases/tag/{quote(tag, safe='')}")


def instead(
    charter: Charter,
    client: str,
    n: int,
    stage: str,
    tag: str,
    rollout: Rollout | None,
    *,
    on_issue: bool = True,
) -> str:
    """What to write instead of the refused line (a sentence; "" when nothing would count).
    A tag that could end its code span (a backtick: git allows one) is not quoted. Off the
    issue (``on_issue`` False: a direct message) the comment is "on #<n>", not "here"."""
    lowered = stage.lower()
    where = "here" if on_issue else f"on #{n}"
    tag = tag if "`" not in tag else "<version>"
    if charter.stage(lowered) is None:
        close = difflib.get_close_matches(lowered, charter.stage_ids, n=1, cutoff=0.6)
        if not close:
            return ""
        return (
            f"Did you mean `charterbot: ready {n} {close[0]}`? Edit the release to say that (a"
            f" line an edit adds is read), or report it in a comment {where}:"
            f" `/ready {client} {close[0]} {tag}`."
        )
    if rollout is not None and client not in rollout.clients:
        return "If the line meant another proposal, edit the release to name that one."
    return (
        "Once it applies, edit the release to add the line again (a line an edit adds is read),"
        f" or report it in a comment {where}: `/ready {client} <stage> {tag}`."
    )


def words(
    charter: Charter,
    ev: ReleaseEvent,
    client: str,
    n: int,
    stage: str,
    why: str,
    rollout: Rollout | None,
    *,
    markdown: bool,
    web: str = GITHUB_WEB,
) -> str:
    """The refusal: Markdown for the issue (what comes from GitHub escaped, the release
    linked), else plain text for a direct message (the link's address in parentheses)."""
    url = release_url(web, ev.repo, ev.tag)
    if markdown:
        release, because = f"[{escape(ev.tag)} in {escape(ev.repo)}]({url})", escape(why)
    else:
        release, because = f"{ev.tag} in {ev.repo} ({url})", why
    hint = instead(charter, client, n, stage, ev.tag, rollout, on_issue=markdown)
    said = f"`charterbot: ready {n} {stage}`"
    text = f"The release {release} says {said}, which did not count for #{n}: {because}."
    return f"{text} {hint}" if hint else text


def tell(
    gov: Governance,
    session: Session,
    ev: ReleaseEvent,
    client: str,
    n: int,
    stage: str,
    why: str,
    rollout: Rollout | None,
    now: datetime,
) -> None:
    """Audit a refused release line and tell whoever may know (see the module rules)."""
    actor = Actor(login=ev.author, surface="github", display=ev.author)
    key = f"release-refused:{ev.repo.lower()}:{ev.tag}:{n}:{stage.lower()}"
    stored = repo.load(session, n)
    maintainers = next((cl.maintainers for cl in gov.charter.clients if cl.id == client), ())
    effects: list[Effect] = []
    told = "nobody"
    if stored is not None and not undisclosed_secrets(gov, session, [n]):
        text = words(
            gov.charter, ev, client, n, stage, why, rollout, markdown=True, web=gov.github_web
        )
        mentions = " ".join(f"@{login}" for login in maintainers)
        effects.append(Comment(n, f"{mentions} {text}" if mentions else text, key=key))
        told = "issue"
    elif stored is not None:
        text = words(
            gov.charter, ev, client, n, stage, why, rollout, markdown=False, web=gov.github_web
        )
        may_see = [m for m in maintainers if visible(gov, stored, Actor(login=m, surface="github"))]
        for login in may_see:
            payload = {"login": login, "text": text}
            dm_key = f"direct-message:{key}:{login.lower()}"
            outbox.enqueue(session, kind="direct-message", payload=payload, now=now, key=dm_key)
        told = "maintainers" if may_see else "nobody"
    payload = {"why": why, "repo": ev.repo, "tag": ev.tag, "stage": stage, "told": told}
    gov.effects(session, [*effects, Audit(KIND, f"proposal:{n}", payload)], actor, now)
