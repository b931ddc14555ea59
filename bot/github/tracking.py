"""The tracking comment: one per proposal, found by a hidden marker in the bot's own comment,
edited only when it changes (or when someone else changed it: ``bot.github.edits_by_others``).

It shows the state, the timeline (UTC and relative to the last change), what intake found
wrong, the seat matrix (client or role → who voted what, when, with reason, and from where),
open concerns, the feedback requested and not yet given (while the proposal is open; the
first part left out when the comment grows too long, before any concern is), quorum
and approval against the track's rule (as judged: at voting close, with
the votes during lazy consensus listed apart), and the decision. All user text is escaped so it
renders literally and never pings or forms a command.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.comment_size import MAX_BODY, fit
from bot.relative_time import Unit, nearest
from bot.views import CLIP, lazy_counts
from charter.text import escape_markdown_github

__all__ = ["ALL_STATE_LABELS", "CLIP", "MARKER", "MAX_BODY", "labels_for", "render"]

MARKER = "<!-- charterbot:tracking -->"
_VIA = {"slack": " (via Slack)", "discord": " (via Discord)", "console": " (via console)"}


def _e(text: str | None) -> str:
    return escape_markdown_github(text or "").replace("\n", " ")


def _when(iso: str | None, now: datetime) -> str:
    if iso is None:
        return "—"
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    seconds = (at - now).total_seconds()
    return f"{at.strftime('%Y-%m-%d %H:%M UTC')} ({_relative(seconds)})"


def _relative(seconds: float) -> str:
    """``seconds`` from now (negative: past) in words, rounded as ``bot.relative_time`` says:
    a 48h vote opened ten minutes ago closes "in 2d", not "in 1d"."""
    amount, unit = nearest(seconds)
    if unit is Unit.NOW:
        return "now"
    return f"in {amount}{unit}" if seconds >= 0 else f"{amount}{unit} ago"


def render(view: dict[str, Any], now: datetime, public_url: str = "") -> str:
    """The tracking comment body for a proposal view (see ``bot.views.proposal_view``).

    At most ``MAX_BODY`` characters, because GitHub refuses longer comments. When the full text
    is longer, what never blocks goes first, then what does: concern texts, vote reasons and
    intake problems are cut to ``CLIP`` characters; the feedback line names only the first
    people asked that fit and counts the rest ("… and N more"), down to just the count; only
    then are the open concerns that still do not fit left out and counted (both counts link
    the proposal's dashboard page when ``public_url`` is set). The decision and the commands
    line are never left out for them; as a last resort the body is cut at a line end. A pure
    function of its inputs, so unchanged state renders the same text.
    """
    top, concerns, bottom = _sections(view, now, public_url, clip=None)
    body = _join(top + concerns + bottom)
    if len(body) <= MAX_BODY:
        return body
    page = f"{public_url.rstrip('/')}/proposals/{view['number']}" if public_url else ""
    return fit(_fit_feedback(view, now, public_url, page), page)


def _fit_feedback(view: dict[str, Any], now: datetime, public_url: str, page: str) -> str:
    """The clipped body naming as many people asked for feedback as fit beside every open
    concern (the most that fit: the line grows with each name); if none fit, the concerns are
    cut (:func:`_fit`) beside the feedback count alone."""

    def sections(shown: int | None) -> tuple[list[str], list[str], list[str]]:
        return _sections(view, now, public_url, clip=CLIP, shown=shown, page=page)

    def fits(shown: int) -> bool:
        return len(_join([*(line for part in sections(shown) for line in part)])) <= MAX_BODY

    if not fits(0):
        return _fit(*sections(0), page)
    low, high = 0, len(_asked(view))  # fits(low); the largest that fits is sought
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    top, concerns, bottom = sections(low)
    return _join(top + concerns + bottom)


def _join(lines: list[str]) -> str:
    return "\n".join(lines).rstrip() + "\n"


def _sections(
    view: dict[str, Any],
    now: datetime,
    public_url: str,
    clip: int | None,
    shown: int | None = None,
    page: str = "",
) -> tuple[list[str], list[str], list[str]]:
    """(everything up to the open concerns' heading, one line per open concern, the rest);
    the feedback line names the first ``shown`` people asked (None: all)."""
    top = _head(view, now, clip)
    open_concerns = [c for c in view["concerns"] if not c["resolved"]]
    concerns = [
        f"- `{_e(c['name'])}` by {_e(c['raised_by'])}: {_clip(c['text'], clip)}"
        for c in open_concerns
    ]
    if open_concerns:
        top.append("**Open concerns** (block acceptance until resolved with `/resolve <name>`):")
    feedback = _feedback_line(_asked(view), shown, page)
    return top, concerns, _tail(view, now, public_url, bool(open_concerns), feedback)


def _asked(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The open feedback requests the tracking comment lists: while the proposal is open."""
    asked: list[dict[str, Any]] = view.get("feedback") or []
    return asked if view["state"] in ("draft", "review", "voting") else []


def _feedback_line(asked: list[dict[str, Any]], shown: int | None, page: str) -> str:
    """Who was asked for feedback (by whom): the first ``shown`` people, the others counted."""
    if not asked:
        return ""
    named = [f"{_e('@' + r['login'])} (by {_e('@' + r['asked_by'])})" for r in asked[:shown]]
    left = len(asked) - len(named)
    where = f" (see [the proposal's page]({page}#feedback))" if page else ""
    if not left:
        who = ", ".join(named)
    elif named:
        who = f"{', '.join(named)}, … and {left} more{where}"
    else:
        who = f"{left} {'person' if left == 1 else 'people'}{where}"
    return f"Feedback requested from {who}; it does not block the decision."


def _head(view: dict[str, Any], now: datetime, clip: int | None) -> list[str]:
    n = view["number"]
    out = [MARKER, f"### charterbot · proposal #{n}: **{view['state']}**", ""]
    out.append(f"Track **{_e(view['track'])}** · charter version {view['charter_version']}")
    out.append("")
    if view["intake_problems"] and view["state"] == "draft":  # closed: nothing left to fix
        out.append("**This proposal stays a draft until these are fixed** (edit the issue body):")
        out.extend(f"- {_clip(problem, clip)}" for problem in view["intake_problems"])
        out.append("")
    d, t = view["deadlines"], view["tally"]
    lazy = t["lazy"] if t is not None else None
    if view["state"] != "draft" and d["review_ends"] is not None:  # None: review never began
        out += [
            "| timeline | when |",
            "|---|---|",
            f"| review ends | {_when(d['review_ends'], now)} |",
            f"| voting opens | {_when(d['voting_opens'], now)} |",
            f"| voting closes | {_when(d['voting_closes'], now)} |",
        ]
        if d["confirm_until"]:
            out.append(f"| outcome final (confirm period) | {_when(d['confirm_until'], now)} |")
        if lazy is not None and d["lazy_until"]:
            out.append(f"| lazy consensus until | {_when(d['lazy_until'], now)} |")
        out.append("")
    if t is not None and view["state"] not in ("draft", "review"):
        if t["needed"] is not None:  # None: voting never opened, no seat was asked to vote
            out += _seat_matrix(view, clip)
        out.append(_tally_line(t))
        out.append("")
    return out


def _tally_line(t: dict[str, Any]) -> str:
    """Quorum and approval as they were judged: at voting close (while open, so far). Votes
    during lazy consensus are listed apart, so the numbers never say quorum was met beside a
    reason saying it was missed. A proposal whose voting never opened has no quorum to judge
    (``needed`` is None): the line says so and why."""
    if t["needed"] is None:
        return f"No vote was held: {_e(t['reason'])}."
    lazy = t["lazy"]
    by_close = " by voting close" if lazy is not None else ""
    during = f"During lazy consensus: {lazy_counts(lazy)}. " if lazy is not None else ""
    return (
        f"Quorum: {t['voted']}/{t['seats']} seats voted{by_close}, {t['needed']} needed "
        f"({t['quorum']:.0%}) — {'met' if t['quorum_met'] else 'not met'}. "
        f"Approval: {t['approve']} approve, {t['reject']} reject "
        f"(needs {t['approval']:.0%} of approve + reject). {during}{_e(t['reason'])}."
    )


def _tail(
    view: dict[str, Any], now: datetime, public_url: str, after_list: bool, feedback: str
) -> list[str]:
    out = [""] if after_list else []
    if feedback:
        out += [feedback, ""]
    if view["decision"]:
        dec = view["decision"]
        out.append(
            f"**Decision: {dec['outcome']}** at {_when(dec['at'], now)} under charter version "
            f"{dec['charter_version']}."
        )
        out.append("")
    if view["state"] in ("review", "voting"):
        out.append(
            "Commands (one per line): `/vote approve|reject|abstain [reason]`, "
            "`/concern <name>: <text>`, `/resolve <name>`, `/f? @<login>`, `/withdraw`, "
            "`/status`."
        )
    if public_url:
        out.append(
            f"[Audit trail]({public_url.rstrip('/')}/audit?subject=proposal:{view['number']})"
        )
    return out


def _fit(top: list[str], concerns: list[str], bottom: list[str], page: str) -> str:
    """Keep the first open concerns that fit under ``MAX_BODY``; count the ones left out."""
    budget = MAX_BODY - len(_join([*top, _more(len(concerns), page), *bottom]))
    kept = 0
    for line in concerns:
        budget -= len(line) + 1  # the line and its newline
        if budget < 0:
            break
        kept += 1
    more = [_more(len(concerns) - kept, page)] if kept < len(concerns) else []
    return _join(top + concerns[:kept] + more + bottom)


def _more(left: int, page: str) -> str:
    where = f", see [the proposal's page]({page}#concerns)" if page else ""
    return f"- … and {left} more open concern{'' if left == 1 else 's'}{where}"


def _clip(text: str | None, limit: int | None) -> str:
    """Escaped text of at most ``limit`` characters, ending in "…" if cut. The raw text is cut
    (then escaped again), so no entity or backslash escape is split."""
    out = _e(text)
    if limit is None or len(out) <= limit:
        return out
    raw, cut = text or "", len(text or "")
    while len(out) > limit - 1:
        cut = min(cut - 1, cut * (limit - 1) // len(out))
        out = _e(raw[:cut])
    return out.rstrip() + "…"


def _seat_matrix(view: dict[str, Any], clip: int | None) -> list[str]:
    rows = ["| seat | vote | by | when | reason |", "|---|---|---|---|---|"]
    for row in view["seat_matrix"]:
        if row["choice"] is None:
            rows.append(f"| {_e(row['label'])} | — | | | |")
            continue
        via = _VIA.get(row["via"] or "", "")
        at = (row["at"] or "")[:16].replace("T", " ")
        rows.append(
            f"| {_e(row['label'])} | {row['choice']} | {_e(row['voter'])}{via} | {at} "
            f"| {_clip(row['reason'], clip)} |"
        )
    rows.append("")
    return rows


def labels_for(state: str) -> tuple[str, ...]:
    return (f"charter:{state}",)


ALL_STATE_LABELS = tuple(
    f"charter:{s}"
    for s in (
        "draft",
        "review",
        "voting",
        "accepted",
        "rejected",
        "expired",
        "withdrawn",
        "rolling-out",
        "completed",
        "rolled-back",
    )
)
