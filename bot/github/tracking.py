"""The tracking comment: one per proposal, found by a hidden marker, edited only when it changes.

It shows the state, the timeline (UTC and relative to the last change), what intake found
wrong, the seat matrix (client or role → who voted what, when, with reason, and from where),
open concerns, quorum and approval against the track's rule, and the decision. All user text
is escaped so it renders literally and never pings or forms a command.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from charter.text import escape_markdown_github

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
    ahead = seconds >= 0
    s = abs(int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if s >= size:
            amount = f"{s // size}{unit}"
            break
    else:
        amount = "now"
        return amount
    return f"in {amount}" if ahead else f"{amount} ago"


def render(view: dict[str, Any], now: datetime, public_url: str = "") -> str:
    """The tracking comment body for a proposal view (see ``bot.views.proposal_view``)."""
    n = view["number"]
    out = [MARKER, f"### charterbot · proposal #{n}: **{view['state']}**", ""]
    out.append(f"Track **{_e(view['track'])}** · charter version {view['charter_version']}")
    out.append("")
    if view["intake_problems"]:
        out.append("**This proposal stays a draft until these are fixed** (edit the issue body):")
        out.extend(f"- {_e(problem)}" for problem in view["intake_problems"])
        out.append("")
    d = view["deadlines"]
    if view["state"] != "draft":
        out += [
            "| timeline | when |",
            "|---|---|",
            f"| review ends | {_when(d['review_ends'], now)} |",
            f"| voting opens | {_when(d['voting_opens'], now)} |",
            f"| voting closes | {_when(d['voting_closes'], now)} |",
        ]
        if d["confirm_until"]:
            out.append(f"| outcome final (confirm period) | {_when(d['confirm_until'], now)} |")
        out.append("")
    t = view["tally"]
    if t is not None and view["state"] not in ("draft", "review"):
        out += _seat_matrix(view)
        out.append(
            f"Quorum: {t['voted']}/{t['seats']} seats voted, {t['needed']} needed "
            f"({t['quorum']:.0%}) — {'met' if t['quorum_met'] else 'not met'}. "
            f"Approval: {t['approve']} approve, {t['reject']} reject "
            f"(needs {t['approval']:.0%} of approve + reject). {_e(t['reason'])}."
        )
        out.append("")
    open_concerns = [c for c in view["concerns"] if not c["resolved"]]
    if open_concerns:
        out.append("**Open concerns** (block acceptance until resolved with `/resolve <name>`):")
        out.extend(
            f"- `{_e(c['name'])}` by {_e(c['raised_by'])}: {_e(c['text'])}" for c in open_concerns
        )
        out.append("")
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
            "`/concern <name>: <text>`, `/resolve <name>`, `/withdraw`, `/status`."
        )
    if public_url:
        out.append(f"[Audit trail]({public_url.rstrip('/')}/audit?subject=proposal:{n})")
    return "\n".join(out).rstrip() + "\n"


def _seat_matrix(view: dict[str, Any]) -> list[str]:
    rows = ["| seat | vote | by | when | reason |", "|---|---|---|---|---|"]
    for row in view["seat_matrix"]:
        if row["choice"] is None:
            rows.append(f"| {_e(row['label'])} | — | | | |")
            continue
        via = _VIA.get(row["via"] or "", "")
        at = (row["at"] or "")[:16].replace("T", " ")
        rows.append(
            f"| {_e(row['label'])} | {row['choice']} | {_e(row['voter'])}{via} | {at} "
            f"| {_e(row['reason'])} |"
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
