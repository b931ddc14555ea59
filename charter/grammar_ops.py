"""Productions for rollout, incident, meeting and subscription commands.

The grammar they implement is written out in :mod:`charter.grammar`; each function reads the
words after its command key from a :class:`charter.grammar_tokens.Args` cursor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from charter import commands as c, grammar_tokens as t
from charter.model import ANNOUNCE_KINDS, parse_duration
from charter.text import fold
from charter.validate import suggest

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
# A bare ref other than a sha is read as a tag only when it is a whole version (v4.2.0,
# 1.0-rc1): a branch such as v1.x or 2.0.x would bring later commits' runs with it.
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_TAG = re.compile(r"v?[0-9]+(\.[0-9]+)+([-+][A-Za-z0-9._+-]*)?")
_REF = re.compile(r"[0-9a-f]{7,40}|v?[0-9]+\.[A-Za-z0-9._+-]{0,62}|refs/[A-Za-z0-9._/-]{1,120}")
_MEETING_ID = re.compile(r"#?([A-Za-z0-9][A-Za-z0-9@:._-]{0,63})")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,128}")
_EMAIL = re.compile(r"[^@\s<>]{1,64}@[^@\s<>]+\.[^@\s<>]+")
_URL = re.compile(r"https?://[^\s<>|]+")
_SLACK_LINK = re.compile(r"<(?:mailto:)?([^|>]+)(?:\|[^>]*)?>")
_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_DURATION = re.compile(r"[0-9]{1,4}[mh]")
_TARGETS: dict[str, c.SubscribeTarget] = {
    "here": "here",
    "me": "me",
    "email": "email",
    "webhook": "webhook",
}


# -- rollout --------------------------------------------------------------------------------


def ready(a: t.Args) -> c.Ready:
    n = a.proposal()
    client = t.name(a.need("client"), "client")
    stage = t.name(a.need("stage"), "stage")
    version = t.match(_VERSION, a.need("version"), "version", "4.2.0").group(0)
    nxt = a.peek()
    ref = None
    if nxt is not None and not nxt.quoted and _REF.fullmatch(nxt.text):
        ref = nxt.text
        if not ref.startswith("refs/") and not _COMMIT.fullmatch(ref) and not _TAG.fullmatch(ref):
            raise t.Fail(
                f"{t.show(ref)} may be a branch (a tag is read bare only when it is a whole"
                " version, like v4.2.0): its later commits' check runs would count for this"
                " release; report the release by its commit sha or its tag (refs/tags/<tag>)."
            )
        a.take()
    return c.Ready(n, client, stage, version, ref, t.clean(a.rest(), "notes", required=False))


def advance(a: t.Args) -> c.Advance:
    """``advance n [to stage] [--override reason]``: an override without ``to`` is read, and
    refused by the decision with the command naming the next stage (only it knows which)."""
    n = a.proposal()
    stage = None
    if (tok := a.peek()) is not None and tok.word == "to":
        a.take()
        stage = t.name(a.need("stage to enter, e.g. to canary"), "stage")
    if t.option(a.peek()) in ("--override", "override"):
        a.take()
        return c.Advance(n, t.clean(a.rest(), "reason for the override"), stage)
    a.end()
    return c.Advance(n, None, stage)


def pause(a: t.Args) -> c.PauseRollout:
    """``rollout pause n reason``: the reason is required, quoted or not (nothing follows it)."""
    n = a.proposal()
    return c.PauseRollout(n, t.clean(a.rest(), "reason for the pause"))


def resume(a: t.Args) -> c.ResumeRollout:
    """``rollout resume n [reason]``: the reason is optional; ``rollout resume n --override
    reason`` (the incidents' holds too) requires it."""
    n = a.proposal()
    if t.option(a.peek()) in ("--override", "override"):
        a.take()
        return c.ResumeRollout(n, override_reason=t.clean(a.rest(), "reason for the override"))
    return c.ResumeRollout(n, t.clean(a.rest(), "reason", required=False))


def inventory(a: t.Args) -> c.Inventory:
    if a.comment:  # answered on the issue, in public: only the issue's own rollout
        n = a.proposal()
        a.end()
        return c.Inventory(n)
    tok = a.take()
    a.end()
    return c.Inventory(None if tok is None else t.number(tok.text))


def rollback(a: t.Args) -> c.Rollback:
    n = a.proposal()
    toks = a.take_all()
    if not toks or not toks[-1].quoted:
        raise t.Fail('Give the reason in quotes at the end, e.g. "state root mismatch".')
    clients = [name for tok in toks[:-1] for name in t.names(tok, "client")]
    reason = t.clean(toks[-1].text, "reason")
    return c.Rollback(n, tuple(dict.fromkeys(clients)), reason)


def activation(a: t.Args) -> c.MoveActivation:
    n = a.proposal()
    toks = a.take_all()
    if not toks or not toks[-1].quoted:
        raise t.Fail('Give the reason in quotes at the end, e.g. "borealis needs two more weeks".')
    target = " ".join(tok.text for tok in toks[:-1])
    if not target:
        raise t.Fail("Give the new target, e.g. 2027-04-01T14:00Z or epoch 412000.")
    return c.MoveActivation(n, target, t.clean(toks[-1].text, "reason"))


def flag(a: t.Args) -> c.Flag:
    name = t.name(a.need("flag name"), "flag name")
    state = a.need("state: on or off").word
    if state not in ("on", "off"):
        raise t.Fail(f"Turn a flag on or off; {t.show(state)} is neither.")
    return c.Flag(name, "on" if state == "on" else "off", t.clean(a.rest(), "reason"))


# -- incidents ------------------------------------------------------------------------------


def incident_declare(a: t.Args) -> c.IncidentDeclare:
    severity = t.name(a.need("severity, e.g. sev2"), "severity")
    first = a.need("summary")
    summary, last = first.text, first
    if not first.quoted and first.word in ("for", "clients", "client"):
        raise t.Fail(f"Give a summary before '{first.word}', in quotes.")
    if not first.quoted:
        while (tok := a.peek()) is not None and tok.word not in ("for", "clients", "client"):
            last = a.take() or last
        summary = a.src[first.start : last.end]
    proposals = _named_proposals(a)
    if (tok := a.peek()) is not None and tok.word in ("clients", "client"):
        a.take()
    clients = [name for tok in a.take_all() for name in t.names(tok, "client")]
    return c.IncidentDeclare(
        severity,
        t.clean(summary, "summary", limit=t.TITLE_LIMIT),
        tuple(dict.fromkeys(proposals)),
        tuple(dict.fromkeys(clients)),
    )


def _named_proposals(a: t.Args) -> list[int]:
    """The proposals after ``for`` (``for 42,#43 44``), taken; without ``for``, none, or in a
    comment the issue commented on."""
    proposals: list[int] = []
    if (tok := a.peek()) is not None and tok.word == "for":
        a.take()
        while (tok := a.peek()) is not None and re.fullmatch(r"[#0-9,]+", fold(tok.text)):
            proposals += [t.number(p) for p in fold(a.need("proposal").text).split(",") if p]
        if not proposals:
            raise t.Fail("Name the proposals after 'for', e.g. for 42,43.")
    elif a.comment and a.issue is not None:
        proposals = [a.issue]
    return proposals


def _incident_id(a: t.Args, *, bare: bool) -> int | None:
    """An optional incident id: ``#7``, or also ``7`` where no free text follows.

    ``#urgent`` is not an id; it is the start of the text."""
    tok = a.peek()
    is_id = (
        tok is not None
        and not tok.quoted
        and re.fullmatch("#?[0-9]+" if bare else "#[0-9]+", fold(tok.text))
    )
    if tok is None or not is_id:
        return None
    a.take()
    return t.number(tok.text, "incident id")


def incident_role(a: t.Args) -> c.IncidentRole:
    incident = _incident_id(a, bare=True)
    role = t.name(a.need("role"), "role")
    user = t.user(a.need("user"))
    a.end()
    return c.IncidentRole(incident, role, user)


def incident_update(a: t.Args) -> c.IncidentUpdate:
    incident = _incident_id(a, bare=False)
    return c.IncidentUpdate(incident, t.clean(a.rest(), "update text"))


def incident_severity(a: t.Args) -> c.IncidentSeverity:
    incident = _incident_id(a, bare=False)
    severity = t.name(a.need("severity, e.g. sev1"), "severity")
    return c.IncidentSeverity(incident, severity, t.clean(a.rest(), "reason", required=False))


def incident_resolve(a: t.Args) -> c.IncidentResolve:
    incident = _incident_id(a, bare=False)
    return c.IncidentResolve(incident, t.clean(a.rest(), "text", required=False))


def incident_add(a: t.Args) -> c.IncidentAdd:
    """``[#id] [for n{,n}] [clients c …]``, at least one of them; in a comment without
    ``for``, the issue is the proposal added (as ``incident declare`` names it)."""
    incident = _incident_id(a, bare=False)
    proposals = _named_proposals(a)
    clients: list[str] = []
    if (tok := a.peek()) is not None and tok.word in ("clients", "client"):
        a.take()
        toks = a.take_all()
        if any(tok.word == "for" for tok in toks):
            raise t.Fail("Name the proposals first: for 42,43 clients aurora.")
        clients = [name for tok in toks for name in t.names(tok, "client")]
        if not clients:
            raise t.Fail("Name the clients after 'clients', e.g. clients aurora borealis.")
    if (tok := a.peek()) is not None:
        raise t.Fail(
            f"{t.show(tok.text)} is not what 'incident add' takes: name proposals with"
            " 'for 42,43', clients with 'clients aurora', and the incident as #<id> first."
        )
    if not proposals and not clients:
        raise t.Fail("Say what to add: for <n>[,<n>…], clients <client> …, or both.")
    return c.IncidentAdd(incident, tuple(dict.fromkeys(proposals)), tuple(dict.fromkeys(clients)))


# -- meetings -------------------------------------------------------------------------------


def meetings(a: t.Args) -> c.Meetings:
    tok = a.take()
    if tok is None:
        return c.Meetings()
    if t.option(tok) not in ("--next", "next"):
        raise t.Fail(f"{t.show(tok.text)} is not an option here; use --next N.")
    count = t.number(a.need("number of meetings").text, "number of meetings")
    a.end()
    if count > 50:
        raise t.Fail(f"Ask for at most 50 meetings; got {count}.")
    return c.Meetings(count)


def schedule(a: t.Args) -> c.MeetingSchedule:
    title = t.clean(a.need("meeting title").text, "meeting title", limit=t.TITLE_LIMIT)
    toks = a.take_all()
    proposal = None
    if len(toks) >= 2 and toks[-2].word == "for":
        proposal = t.number(toks[-1].text)
        toks = toks[:-2]
    duration = None
    last = toks[-1].word if toks else ""
    if len(toks) >= 2 and _DURATION.fullmatch(last) and toks[-2].word not in ("in", "after"):
        duration = _meeting_length(parse_duration(last))
        toks = toks[:-1]
    if not toks:
        raise t.Fail("Say when, e.g. 2027-03-04 15:00, thursday 15:00 or in 2 hours.")
    when = t.clean(a.src[toks[0].start : toks[-1].end], "time")
    return c.MeetingSchedule(title, when, duration, proposal)


def _meeting_length(duration: timedelta) -> timedelta:
    if not timedelta(0) < duration <= timedelta(hours=24):
        raise t.Fail("A meeting lasts from 1 minute to 24 hours, e.g. 90m or 2h.")
    return duration


def _meeting_id(a: t.Args) -> str:
    tok = a.need("meeting id")
    folded = t.Tok(fold(tok.text), tok.quoted, tok.start, tok.end)  # "＃12" is "#12"
    return t.match(_MEETING_ID, folded, "meeting id", "core-sync").group(1)


def cancel(a: t.Args) -> c.MeetingCancel:
    meeting = _meeting_id(a)
    a.end()
    return c.MeetingCancel(meeting)


def move(a: t.Args) -> c.MeetingMove:
    meeting = _meeting_id(a)
    return c.MeetingMove(meeting, t.clean(a.rest(), "new time"))


def decide(a: t.Args) -> c.MeetingDecide:
    """``meeting decide [--call <meeting-id>] <text>``."""
    call = _named_call(a)
    return c.MeetingDecide(_outcome_text(a, "decision", "decide --call <id> <text>"), call)


def action(a: t.Args) -> c.MeetingAction:
    """``meeting action [--call <meeting-id>] <who> <text>``."""
    call = _named_call(a)
    who = t.user(a.need("person who owns the action"))
    text = _outcome_text(a, "action", "action --call <id> <who> <text>")
    return c.MeetingAction(who, text, call)


def _named_call(a: t.Args) -> str | None:
    """The meeting named by a leading ``--call <meeting-id>`` (``—call`` too: Slack's dash),
    taken; ``None`` without one."""
    if t.option(a.peek()) != "--call":
        return None
    a.take()
    return _meeting_id(a)


# "--call" (or "—call", "--call=x") as a word of its own inside the text of an outcome.
_LATE_CALL = re.compile(r"(?:^|\s)(?:--|—|–)call(?=[\s=:]|$)", re.IGNORECASE)


def _outcome_text(a: t.Args, what: str, form: str) -> str:
    """The text of a decision or action item. ``--call`` written later than first (``decide
    go --call x``) would be recorded as words on whichever call is current, perhaps the wrong
    one: it is refused with the form to write, unless the whole text is quoted (literal)."""
    raw = a.src[a.pos :].strip()
    text = a.rest()
    if text == raw and _LATE_CALL.search(fold(text)):
        raise t.Fail(
            f"Write --call <id> first, spaced: meeting {form}. To record '--call' as words,"
            " quote the text."
        )
    return t.clean(text, what)


def agenda(a: t.Args) -> c.AgendaAdd:
    meeting = _meeting_id(a)
    return c.AgendaAdd(meeting, t.clean(a.rest(), "agenda item"))


def confirm(a: t.Args) -> c.Confirm:
    token = t.match(_TOKEN, a.need("confirmation token"), "confirmation token", "k3J9-x2").group(0)
    a.end()
    return c.Confirm(token)


def unsubscribe(a: t.Args) -> c.Unsubscribe:
    tok = a.take()
    a.end()
    return c.Unsubscribe(None if tok is None else t.number(tok.text, "subscription id"))


# -- subscriptions --------------------------------------------------------------------------


@dataclass
class _Filters:
    kinds: list[str] = field(default_factory=list)
    tracks: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    not_labels: list[str] = field(default_factory=list)
    proposal: int | None = None
    severity: str | None = None
    lang: str | None = None
    digest: str | None = None


def _once(current: object, key: str) -> None:
    if current is not None:
        raise t.Fail(f"Give {key} only once.")


# The words a filter starts with, for a "did you mean" on a misspelt one ("decisoin").
_FILTER_WORDS = (
    *ANNOUNCE_KINDS,
    "track",
    "client",
    "proposal",
    "severity",
    "label",
    "not",
    "lang",
    "digest",
)
_FILTER_HELP = (
    "use kinds (proposal-opened, voting-opened, vote, decision, rollout, incident, meeting),"
    " track X, client X, proposal N, severity >= sevN, label X, not label X, lang CODE"
    " or digest daily HH:MM"
)


def subscribe(a: t.Args) -> c.Subscribe:
    target: c.SubscribeTarget = "here"
    address = None
    tok = a.peek()
    if tok is not None and tok.word in _TARGETS:
        a.take()
        target = _TARGETS[tok.word]
        if target == "email":
            tok = _unwrap(a.need("e-mail address"))
            address = t.match(_EMAIL, tok, "e-mail address", "ops@example.org").group(0)
            if not address.isascii():
                raise t.Fail(
                    f"{t.show(address)} has characters beyond ASCII, and mail can be sent only"
                    " to plain ASCII addresses; give one such as ops@example.org."
                )
        elif target == "webhook":
            address = t.match(_URL, _unwrap(a.need("webhook URL")), "URL", "https://…").group(0)
    found = _Filters()
    while (tok := a.take()) is not None:
        _filter(a, tok, found)
    return c.Subscribe(
        target,
        address,
        kinds=tuple(dict.fromkeys(found.kinds)),
        tracks=tuple(dict.fromkeys(found.tracks)),
        clients=tuple(dict.fromkeys(found.clients)),
        proposal=found.proposal,
        min_severity=found.severity,
        labels=tuple(dict.fromkeys(found.labels)),
        not_labels=tuple(dict.fromkeys(found.not_labels)),
        lang=found.lang,
        digest_at=found.digest,
    )


def _unwrap(tok: t.Tok) -> t.Tok:
    """Slack may send ``<mailto:a@b.c|a@b.c>`` or ``<https://…|label>``: keep the address."""
    match = _SLACK_LINK.fullmatch(tok.text)
    return tok if match is None else t.Tok(match.group(1), tok.quoted, tok.start, tok.end)


def _filter(a: t.Args, tok: t.Tok, found: _Filters) -> None:
    word = tok.word
    if word in ANNOUNCE_KINDS:
        found.kinds.append(word)
    elif word in ("track", "client"):
        getattr(found, word + "s").extend(t.names(a.need(word), word))
    elif word == "label":
        found.labels.append(t.clean(a.need("label").text, "label", limit=50))
    elif word == "not":
        if a.need("word 'label' after 'not'").word != "label":
            raise t.Fail("Write 'not label X' to leave out a label.")
        found.not_labels.append(t.clean(a.need("label").text, "label", limit=50))
    elif word == "proposal":
        _once(found.proposal, "proposal")
        found.proposal = t.number(a.need("proposal number").text)
    elif word.startswith("severity"):
        _once(found.severity, "severity")
        found.severity = _severity(a, word[len("severity") :])
    elif word == "lang":
        _once(found.lang, "lang")
        lang = t.match(_LANG, a.need("language"), "language", "de").group(0)
        found.lang = lang.replace("_", "-")
    elif word == "digest":
        _once(found.digest, "digest")
        if a.need("word 'daily'").word != "daily":
            raise t.Fail("Write 'digest daily HH:MM'; daily is the only digest.")
        clock = t.match(_CLOCK, a.need("time of day"), "time of day", "08:30")
        found.digest = f"{int(clock.group(1)):02d}:{clock.group(2)}"
    else:
        hint = suggest(word, _FILTER_WORDS)
        raise t.Fail(f"{t.show(tok.text)} is not a subscription filter{hint}; {_FILTER_HELP}.")


def _severity(a: t.Args, glued: str) -> str:
    """``severity >= sev2`` with or without spaces, ``>=`` or ``≥``."""
    text = glued or a.need("'>= sevN' after severity").text
    for op in (">=", "≥"):
        if text.startswith(op):
            rest = text[len(op) :]
            tok = t.Tok(rest, False, 0, 0) if rest else a.need("severity after " + op)
            return t.name(tok, "severity")
    raise t.Fail("Write the threshold as 'severity >= sev2' (sev2 or worse).")
