"""Outcomes of calls: decisions, action items, items added to an agenda.

Rules:
- Decisions (coordinators only) and action items belong to the call in progress, else the one
  that started last if it ended at most ``WRITE_UP`` (24 hours) ago; both go into the audit log
  under ``meeting:<occurrence key>``. When the latest held call ended longer ago, nothing is
  recorded: the answer names that call and the command recording on it (``--call <its
  occurrence key>``, with the words typed), rather than file the outcome on a call long over;
  but a decision starting with ``go`` or ``no-go`` counts for a gate only on a go/no-go call, so
  when that call is not one, the answer names instead the go/no-go call (latest attempt not
  cancelled) of each rollout under way the asker may see, or says none is scheduled, before
  the command recording on the latest call all the same (for no gate).
- ``--call <id>`` names the call (:func:`bot.meetings_lookup.held`: its occurrence in progress,
  else its latest held; not one yet to start, nor a cancelled one). Without it, when two or more
  calls are in progress at once, nothing is recorded: the answer lists them with the command
  naming each, rather than guess (a decision on the wrong go/no-go call passes or blocks a
  rollout). Only calls the asker may see are listed.
- A GitHub comment's reply is public, so there private calls are as the public sees them
  (:mod:`bot.meetings_lookup`, ``public``): only public calls in progress are counted and
  listed (with one, the outcome goes there); a private call named with ``--call`` is "no
  meeting" (the id typed is echoed, as for any unknown one); and when the call the outcome
  would go to is private (the only one in progress, or the latest held, however long ago), the
  answer is the one given when no call has taken place. Nothing is recorded on a private call
  from a GitHub comment, and the reply neither lists one nor says that one is in progress: that
  is done from chat, where private calls are as above.
- A decision on a go/no-go call (any attempt: ``go-no-go-<n>-<stage>``, ``…-2``…) that starts
  with ``go`` or ``no-go`` is also recorded as that stage's go/no-go decision
  (:func:`bot.rollouts.record_go_no_go`); the gate reads the latest one made since the rollout
  last entered the stage before, and a no-go makes the timers schedule the next attempt.
- An action item's owner is a GitHub login; a chat mention (``<@U0BOB>``) is the login its user
  linked on the surface the command came from, and refused when there is none.
- Open action items carry into later agendas (:mod:`bot.meetings_agenda`).
- ``meeting decide minutes <url>`` attaches the call's minutes link; ``meeting action <who> done
  <n>`` marks that person's action item ``[n]`` done (the grammar has no separate productions).
  An item on a call the asker may not see (from a GitHub comment: on a private call), or may
  not close (on a private series, neither its audience nor the item's owner), is answered
  exactly as a number no open item of theirs has, and is left open: whether it exists is the
  call's audience's to know. With ``--call``,
  the item must be on the call named (on its occurrence, when a key is named), else
  ``[n] is not on <call>`` and nothing changes.
- ``agenda add`` adds to the next occurrence of a series (or the occurrence named) before it starts.
  A call the asker may not see (from a GitHub comment: any private call) is "no meeting", as for
  ``--call``.
- A series announced only to private channels (the security council's sync, which is on the
  public calendar) is its audience's: only coordinators and the security council add to its
  agenda, or record or close action items on it (:mod:`charter.private_calls`); anyone else is
  refused, saying who may, and nothing is recorded. An item's owner closes their own item.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.identity import mentioned_login, unlinked_mention
from bot.messages import Actor, Message, When, ours
from charter import commands as c
from charter.effects import Audit
from charter.meetings import Call, Occurrence, is_private
from charter.private_calls import CallChange, refusal
from storage import (
    agendas as agenda_store,
    meeting_outcomes as outcome_store,
    meetings as store,
    rollouts as rollout_store,
)
from storage.models.meetings import AdhocMeetingRow, MeetingOutcomeRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance

from bot.meetings_calls import adhoc_call
from bot.meetings_lookup import (
    audience_refusal,
    call_by_id,
    fail,
    held,
    in_progress,
    latest,
    login_of,
    may_see,
    resolve,
    started_calls,
)

# "go" or "no-go" as a word of its own: "go-ahead for staging" or "going ahead" is no gate decision.
_GO = re.compile(r"^\s*(go|no-go)(?![\w-])", re.IGNORECASE)
_MINUTES = re.compile(r"^minutes:?\s+(https?://\S+)$", re.IGNORECASE)
_DONE = re.compile(r"^done\s+\[?#?([0-9]{1,9})\]?$", re.IGNORECASE)
_DECIDE = "decide <text>"  # the words after "meeting" and "--call <id>" in the refusal's commands
_ACTION = "action <who> <text>"
# Without --call, an outcome goes to the latest held call only this long after it ended: time
# for the write-up right after a call. Later, "the latest call" is likely not the one meant.
WRITE_UP = timedelta(hours=24)


def _outcome(
    gov: Governance,
    session: Session,
    kind: str,
    text: str,
    actor: Actor,
    now: datetime,
    ref: str | None,
    form: str,
    typed: str,
    command: c.MeetingDecide | c.MeetingAction,
    owner: str = "",
) -> tuple[Call, Occurrence, int] | Message:
    found = _target(gov, session, ref, (form, typed), actor, now)
    if isinstance(found, Message):
        return found
    call, occ = found
    # Decisions are coordinators' (charter.authz), who are every private call's audience.
    change = CallChange.ACTION
    if (refused := audience_refusal(gov, session, call, actor, change, command, now)) is not None:
        return refused
    row = outcome_store.add_outcome(
        session,
        key=occ.key,
        meeting_id=call.id,
        kind=kind,
        text=text,
        by=login_of(actor),
        now=now,
        owner=owner,
    )
    payload = {"id": row.id, "text": text, "call": call.id, **({"owner": owner} if owner else {})}
    gov.effects(session, [Audit(f"meeting-{kind}", f"meeting:{occ.key}", payload)], actor, now)
    return call, occ, int(row.id or 0)


def _public(actor: Actor) -> bool:
    """Whether the reply is public: a GitHub comment, seen by anyone reading the issue."""
    return actor.surface == "github"


def _target(
    gov: Governance,
    session: Session,
    ref: str | None,
    forms: tuple[str, str],
    actor: Actor,
    now: datetime,
) -> tuple[Call, Occurrence] | Message:
    """The call an outcome is recorded on (see the module rules); ``forms`` are the command's
    words after ``meeting``, as a pattern (``decide <text>``) and as typed, for the commands a
    refusal suggests."""
    public = _public(actor)
    form, typed = forms
    if ref is not None:
        named = held(session, gov, ref, now, actor, public=public)
        return fail(named) if isinstance(named, str) else named
    started = started_calls(session, gov, now, actor)
    live = [pair for pair in in_progress(started, now) if not _hidden(gov, pair[0], public)]
    if len(live) > 1:
        return _several(live, form, public)
    found = live[0] if live else latest(started, now)
    if found is None or _hidden(gov, found[0], public):  # told as the public would be
        return fail("No call has taken place yet to record this on.")
    if found[1].ends_at + WRITE_UP < now:  # none in progress, and the latest is long over
        return _long_over(gov, session, found, typed, actor)
    return found


def _hidden(gov: Governance, call: Call, public: bool) -> bool:
    """Whether ``call`` is private and the reply public (the public sees no such call)."""
    return public and is_private(call, gov.charter)


def _several(live: list[tuple[Call, Occurrence]], form: str, public: bool) -> Message:
    slash = "/" if public else "/charter "
    verb, _, words = form.partition(" ")
    listed = tuple(
        (f"{call.title} ({call.id}): {slash}meeting {verb} --call {call.id} {words}",)
        for call, _ in live
    )
    head = "Several calls are in progress; nothing was recorded. Name the call to record on:"
    return Message(lines=((head,), *listed), ok=False)


def _long_over(
    gov: Governance,
    session: Session,
    found: tuple[Call, Occurrence],
    typed: str,
    actor: Actor,
) -> Message:
    """The refusal when no call is in progress and the latest held ended over ``WRITE_UP`` ago;
    for a go/no-go decision the latest is not a go/no-go call of, it names the gate's calls
    instead (:func:`_gate_calls`)."""
    call, occ = found
    verb, _, words = typed.partition(" ")
    public = _public(actor)
    slash = "/" if public else "/charter "
    head = (
        f"No call is in progress, and the latest, {call.title} ({occ.key}), ended over"
        f" {WRITE_UP // timedelta(hours=1)} hours ago; nothing was recorded."
    )
    then = f"{slash}meeting {verb} --call {occ.key} {words}"
    row = session.get(AdhocMeetingRow, call.id)
    if verb == "decide" and _GO.match(words) and (row is None or row.kind != "go-no-go"):
        gate = _gate_calls(gov, session, words, actor)
        return fail(f"{head} {gate} To record on {call.title} all the same (for no gate): {then}")
    return fail(f"{head} To record on it: {then}")


def _gate_calls(gov: Governance, session: Session, words: str, actor: Actor) -> str:
    """Where a go/no-go decision counts: the go/no-go call (its latest attempt not cancelled)
    of each rollout under way for the stage it enters next, of those ``actor`` may see (in a
    public reply, no private one); or that none is scheduled."""
    public = _public(actor)
    slash = "/" if public else "/charter "
    named = []
    for rollout in rollout_store.rollouts(session, gov.charter, active_only=True):
        index = rollout.stage_index + 1
        if index >= len(gov.charter.stage_ids):
            continue
        stage = gov.charter.stage_ids[index]
        rows = [
            r for r in store.go_no_go_calls(session, rollout.proposal, stage) if not r.cancelled
        ]
        if rows and may_see(session, gov, adhoc_call(rows[-1]), actor, public=public):
            row = rows[-1]
            named.append(
                f"{row.id} ({aware(row.starts_at):%Y-%m-%d %H:%M} UTC):"
                f" {slash}meeting decide --call {row.id} {words}"
            )
    lead = "A go/no-go decision counts only on the rollout's go/no-go call"
    if not named:
        return f"{lead}, and none is scheduled for a rollout under way."
    return f"{lead}, once it has started: {'; '.join(named)}."


def decide(
    gov: Governance, session: Session, cmd: c.MeetingDecide, actor: Actor, now: datetime
) -> Message:
    """Record a decision on the current (or latest) call; on a go/no-go call, also the gate's.
    ``minutes <url>`` attaches the call's minutes link instead."""
    typed = f"decide {cmd.text}"
    if (link := _MINUTES.match(cmd.text.strip())) is not None:
        attached = _outcome(
            gov, session, "minutes", link.group(1), actor, now, cmd.call, _DECIDE, typed, cmd
        )
        if isinstance(attached, Message):
            return attached
        return Message.text_only(f"Minutes of {attached[0].title} ({attached[1].key}) attached.")
    done = _outcome(gov, session, "decision", cmd.text, actor, now, cmd.call, _DECIDE, typed, cmd)
    if isinstance(done, Message):
        return done
    call, occ, _ = done
    extra = ""
    hint: tuple[str, ...] = ()
    row = session.get(AdhocMeetingRow, call.id)
    go = _GO.match(cmd.text)
    if row is not None and row.kind == "go-no-go" and go and row.proposal and row.stage:
        from bot.rollouts import record_go_no_go

        record_go_no_go(
            gov,
            session,
            proposal=row.proposal,
            stage=row.stage,
            decision=go.group(1).lower(),
            by=login_of(actor),
            now=now,
            note=cmd.text,
        )
        extra = f" Recorded as the {row.stage} go/no-go decision for #{row.proposal}."
    elif row is not None and row.kind == "go-no-go":
        # The bot's own hint: its commands render as code (the title beside it stays text).
        hint = ours(
            f" This is the go/no-go call for #{row.proposal}: to record the gate's decision,"
            " start with `go` or `no-go`, e.g. `/charter meeting decide go, all green`."
        )
    return Message(lines=((f"Decision recorded for {call.title} ({occ.key}).{extra}", *hint),))


def action(
    gov: Governance, session: Session, cmd: c.MeetingAction, actor: Actor, now: datetime
) -> Message:
    """Record an action item (it stays on later agendas until done); ``done <n>`` closes one.
    Its owner is a GitHub login: a chat mention is the login its user linked on this surface,
    and refused without one (:func:`bot.identity.mentioned_login`)."""
    owner = mentioned_login(session, cmd.who, actor)
    if owner is None:
        return fail(
            unlinked_mention(
                "the action item cannot be theirs", "meeting action @their-login <action>"
            )
        )
    if (closing := _DONE.match(cmd.text.strip())) is not None:
        # An item is closed by its number; a call named must exist and hold it.
        named = None if cmd.call is None else _named_call(gov, session, cmd.call, actor, now)
        if isinstance(named, Message):
            return named
        return _finish(gov, session, int(closing.group(1)), owner, actor, now, named)
    who = cmd.who if cmd.who.startswith("<") else f"@{cmd.who}"  # a chat mention, or a login
    typed = f"action {who} {cmd.text}"
    done = _outcome(
        gov, session, "action", cmd.text, actor, now, cmd.call, _ACTION, typed, cmd, owner
    )
    if isinstance(done, Message):
        return done
    call, occ, number = done
    return Message.text_only(
        f"Action item [{number}] for {owner} recorded on {call.title} ({occ.key})."
    )


def agenda_add(
    gov: Governance, session: Session, cmd: c.AgendaAdd, actor: Actor, now: datetime
) -> Message:
    """Add an item to the agenda of a call's next occurrence (or the occurrence named); a call
    ``actor`` may not see (from a GitHub comment, a private one) is no meeting, as for
    ``--call``."""
    target = resolve(session, gov, cmd.meeting, now, actor, public=_public(actor))
    if isinstance(target, str):
        return fail(target)
    call, occ = target
    # The security council's sync is on the public calendar, but its agenda is theirs.
    refused = audience_refusal(gov, session, call, actor, CallChange.AGENDA, cmd, now)
    if refused is not None:
        return refused
    if occ.starts_at <= now:
        return fail(f"{occ.key} has already started; add the item to the next call.")
    agenda_store.add_agenda_item(session, occ.key, cmd.text, login_of(actor), now)
    gov.effects(
        session, [Audit("agenda-item-added", f"meeting:{occ.key}", {"text": cmd.text})], actor, now
    )
    return Message(lines=((f"Added to the agenda of {call.title} on ", When(occ.starts_at), "."),))


def _named_call(
    gov: Governance, session: Session, ref: str, actor: Actor, now: datetime
) -> str | Message:
    """What ``--call`` names for ``done <n>``, which the item must be on: the occurrence's key
    when a key is named, else the call's id."""
    named = held(session, gov, ref, now, actor, public=_public(actor))
    if isinstance(named, str):
        return fail(named)
    call, occ = named
    return occ.key if "@" in ref else call.id


def _finish(
    gov: Governance,
    session: Session,
    number: int,
    owner: str,
    actor: Actor,
    now: datetime,
    named: str | None,
) -> Message:
    """Close ``owner``'s open item ``[number]``; one on a call ``actor`` may not see (from a
    GitHub comment, a private one) or not close (a private call, not theirs) is answered as a
    number without an item, then one not on the call ``named`` (``--call``: a call id, or an
    occurrence key) is refused (see the module rules)."""
    unknown = fail(f"{owner} has no open action item [{number}].")
    item = session.get(MeetingOutcomeRow, number)
    if item is None or item.kind != "action" or item.done or item.owner != owner:
        return unknown
    call = call_by_id(session, gov, item.meeting_id, now)
    # A refusal here would tell someone outside a private call that [number] is open on it,
    # and whose it is: they read what they read for a number without an item.
    if call is not None and (
        not may_see(session, gov, call, actor, public=_public(actor))
        or refusal(call, gov.charter, actor, CallChange.ACTION, owner=owner) is not None
    ):
        return unknown
    if named is not None and named != (item.occurrence_key if "@" in named else item.meeting_id):
        return fail(f"[{number}] is not on {named}.")
    row = outcome_store.finish_action(session, number, now, owner=owner)
    if row is None:
        return unknown
    payload = {"id": number, "owner": owner}
    gov.effects(
        session,
        [Audit("meeting-action-done", f"meeting:{row.occurrence_key}", payload)],
        actor,
        now,
    )
    return Message.text_only(f"Action item [{number}] is done; it leaves the next agendas.")
