"""Productions of the rollout and incident commands (the top-level grammar, and ``n``,
``name``, ``text``, ``quoted``, ``user``: :mod:`charter.grammar`). Each function reads the words
after its command key from a :class:`charter.grammar_tokens.Args` cursor.

Grammar::

    rollout-command  = "rollout" "pause" n text
                     | "rollout" "resume" n [ "--override" text | text ]
                     | "ready" n client stage version [ ref ] [ text ]
                     | "advance" n [ "to" stage ] [ "--override" text ]  (* see the rules *)
                     | "inventory" [ n ]
                     | "rollback" n { client } quoted | "flag" name ( "on" | "off" ) text
                     | "activation" n target quoted ;  (* 2027-03-04T14:00Z or "epoch 412000" *)
    incident-command = "incident" "declare" severity summary [ "for" n { "," n } ]
                                  [ "clients" ] { client }
                     | "incident" "role" [ n ] name user
                     | "incident" "update" [ "#" id ] text
                     | "incident" "resolve" [ "#" id ] [ text ]
                     | "incident" "severity" [ "#" id ] severity [ text ]
                     | "incident" "add" [ "#" id ] ( "for" n { "," n }
                                  [ "clients" client { client } ] | "clients" client { client } ) ;
    ref      = /[0-9a-f]{7,40}/ | /v?[0-9]+\\.\\S*/ | "refs/" … ;  (* else it starts the notes;
                        bare, it must be a whole version, a tag (v4.2.0, 1.0-rc1): a branch
                        such as v1.x is refused, "give the sha or refs/tags/<tag>" *)

Rules:

- ``incident update``, ``incident severity`` and ``incident resolve`` take an incident id only
  as ``#7``, because their text may start with a number; without it the service uses the
  current incident.
- ``incident declare`` in a comment without ``for`` names the issue as the affected proposal;
  so does ``incident add`` (``/incident add #3`` adds the issue to incident 3).
- ``incident add`` must name something to add, proposals with ``for``, clients with
  ``clients`` (the word is required here), or both in that order; it takes the incident only
  as ``#7``, first, like ``incident update``.
- ``inventory`` in a comment is the issue's own rollout (its answer is a public reply there):
  like every ``n``, a number written must be the issue's.
- ``rollout <n>`` shows a rollout; ``rollout pause <n> "<reason>"`` and ``rollout resume <n>
  ["<reason>"]`` hold it by hand and lift that hold (``/rollout pause "<reason>"`` in a comment);
  ``rollout resume <n> --override "<reason>"`` lifts the incidents' holds on it too (the reason
  is required; ``--override`` is written as in ``advance``).
  The word after ``rollout`` picks the subcommand; a number is never one, so ``rollout 7``
  still shows #7. A mistake in any of the three is answered with all three forms.
- ``advance`` names the stage to enter with ``to`` (``advance 42 to canary``); it must be the
  next one. An override must name it (``advance 42 to canary --override "…"``), so a repeated
  override cannot enter the stage after; one without ``to`` is read, then refused with the
  command to type. ``--override`` may be written ``override``, ``—override`` or ``–override``.
"""

from __future__ import annotations

import re

from charter import commands as c, grammar_tokens as t
from charter.text import fold

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
# A bare ref other than a sha is read as a tag only when it is a whole version (v4.2.0,
# 1.0-rc1): a branch such as v1.x or 2.0.x would bring later commits' runs with it.
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_TAG = re.compile(r"v?[0-9]+(\.[0-9]+)+([-+][A-Za-z0-9._+-]*)?")
_REF = re.compile(r"[0-9a-f]{7,40}|v?[0-9]+\.[A-Za-z0-9._+-]{0,62}|refs/[A-Za-z0-9._/-]{1,120}")


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
