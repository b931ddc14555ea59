"""The one command grammar: chat (`/charter …`) and GitHub comments (`/vote …`)."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import dataclasses
import re
import typing
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from charter import commands as c
from charter.grammar import COMMENT_USAGE, USAGE, help_lines, parse_chat, parse_comment
from charter.live_lines import live_lines
from charter.when import parse_when

H = timedelta(hours=1)


def group(word: str, table: dict[str, str] = USAGE) -> str:
    """The usage lines of a command group, as a reply to a mistyped group shows them."""
    return "\n".join(v for k, v in table.items() if k.startswith(word + " "))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", c.Help(None)),
        ("   ", c.Help(None)),
        ("proposals", c.ListProposals()),
        ("LIST", c.ListProposals()),
        ("show 42", c.Show(42)),
        ("show #42", c.Show(42)),
        ("status 007", c.Status(7)),
        ("vote 42 approve", c.CastVote(42, "approve", "")),
        ('vote 42 "Approve"', c.CastVote(42, "approve", "")),
        ('incident declare sev1 "for" for 1', c.IncidentDeclare("sev1", "for", (1,))),
        (
            "Vote #42 REJECT  breaks   light clients ",
            c.CastVote(42, "reject", "breaks light clients"),
        ),
        (
            'vote 42 abstain "conflict of interest"',
            c.CastVote(42, "abstain", "conflict of interest"),
        ),
        ("vote 42 approve “curly quotes”", c.CastVote(42, "approve", "curly quotes")),
        ('vote 42 approve a 5" screen', c.CastVote(42, "approve", 'a 5" screen')),
        ('vote 42 approve "unclosed', c.CastVote(42, "approve", '"unclosed')),
        ('vote 42 approve "a" and "b"', c.CastVote(42, "approve", '"a" and "b"')),
        ("vote 42 approve line\none", c.CastVote(42, "approve", "line\none")),
        ("vo\u200bte 42 approve hid\u202eden", c.CastVote(42, "approve", "hidden")),
        ("approve 42 ship it", c.CastVote(42, "approve", "ship it")),
        ("reject 42", c.CastVote(42, "reject", "")),
        ("abstain #1", c.CastVote(1, "abstain", "")),
        ("vote 1000000000 approve", c.CastVote(10**9, "approve", "")),
        # full-width forms from phone and IME keyboards: words and numbers NFKC-folded
        ("vote １２ approve", c.CastVote(12, "approve", "")),
        ("vote ＃12 approve", c.CastVote(12, "approve", "")),
        ("ＶＯＴＥ ＃１２ ＡＰＰＲＯＶＥ", c.CastVote(12, "approve", "")),
        ("approve ４２ ship it", c.CastVote(42, "approve", "ship it")),
        # ...but free text keeps what was typed
        (
            "vote 12 approve ＬＧＴＭ，ｇａｓ １２",
            c.CastVote(12, "approve", "ＬＧＴＭ，ｇａｓ １２"),
        ),
        # a vote choice or command word may end in . ! , ; :
        ("vote 12 approve.", c.CastVote(12, "approve", "")),
        ("vote 12 reject, too risky", c.CastVote(12, "reject", "too risky")),
        ("vote 12 abstain: conflict", c.CastVote(12, "abstain", "conflict")),
        # ...and a colon or dash introduces the reason, spaced or not
        ("vote 12 approve:lgtm", c.CastVote(12, "approve", "lgtm")),
        ("vote 12 reject—too risky", c.CastVote(12, "reject", "too risky")),
        ("vote 12 reject — too risky", c.CastVote(12, "reject", "too risky")),
        ("approve 12 -- lgtm", c.CastVote(12, "approve", "lgtm")),
        ("approve:12", c.CastVote(12, "approve", "")),
        ("withdraw! 12", c.Withdraw(12)),
        (
            "concern 42 gas-limit: too high for light nodes",
            c.RaiseConcern(42, "gas-limit", "too high for light nodes"),
        ),
        ("concern 42 Gas_Limit : too high", c.RaiseConcern(42, "gas_limit", "too high")),
        ('concern 42 "gas: too high"', c.RaiseConcern(42, "gas", "too high")),
        ("resolve 42 gas-limit", c.ResolveConcern(42, "gas-limit")),
        ("withdraw 42", c.Withdraw(42)),
        ("link", c.Link()),
        ("whoami", c.WhoAmI()),
        ("help", c.Help(None)),
        ("help Vote", c.Help("vote")),
        ("help /subscribe", c.Help("subscribe")),
        ("help incident", c.Help("incident")),
        ("help incident   declare", c.Help("incident declare")),
        ("help list", c.Help("proposals")),  # an alias is resolved first
        ("help ｖｏｔｅ", c.Help("vote")),
        ("help rollouts", c.Help("rollout")),  # a plural names its topic
        ("help incidents", c.Help("incident")),
        ("help meetings", c.Help("meetings")),  # a command of its own stays itself
        ("help subscriptions", c.Help("subscriptions")),
        ("todo", c.Todo()),
        ("incident resolve.", c.IncidentResolve(None, "")),
        ("disclose 42", c.Disclose(42)),
        ("ready 42 aurora staging 4.2.0", c.Ready(42, "aurora", "staging", "4.2.0")),
        (
            "ready 42 Aurora canary v4.2.0-rc1 a1b2c3d",
            c.Ready(42, "aurora", "canary", "v4.2.0-rc1", "a1b2c3d"),
        ),
        (
            "ready 42 aurora staging 4.2.0 v4.2.0 built on devnet-42",
            c.Ready(42, "aurora", "staging", "4.2.0", "v4.2.0", "built on devnet-42"),
        ),
        (
            "ready 42 aurora staging 4.2.0 refs/tags/v4.2.0",
            c.Ready(42, "aurora", "staging", "4.2.0", "refs/tags/v4.2.0"),
        ),
        (
            "ready 42 aurora staging 1.0.0-rc1 1.0.0-rc1",
            c.Ready(42, "aurora", "staging", "1.0.0-rc1", "1.0.0-rc1"),
        ),
        (
            "ready 42 aurora staging 4.2.0 first devnet build",
            c.Ready(42, "aurora", "staging", "4.2.0", None, "first devnet build"),
        ),
        (
            'ready 42 aurora staging 4.2.0 "a1b2c3d is the sha"',
            c.Ready(42, "aurora", "staging", "4.2.0", None, "a1b2c3d is the sha"),
        ),
        ("advance 42", c.Advance(42)),
        ('advance 42 --override "soak done by hand"', c.Advance(42, "soak done by hand")),
        ("advance 42 —override checks flaky", c.Advance(42, "checks flaky")),
        ("advance 42 –OVERRIDE checks flaky", c.Advance(42, "checks flaky")),
        # the stage to enter, named with "to" (an override must name it: charter.rollout)
        ("advance 42 to canary", c.Advance(42, None, "canary")),
        ("advance #42 TO Canary", c.Advance(42, None, "canary")),
        (
            'advance 42 to canary --override "soak done by hand"',
            c.Advance(42, "soak done by hand", "canary"),
        ),
        (
            "advance 42 to production —override checks flaky",
            c.Advance(42, "checks flaky", "production"),
        ),
        ("advance 42 to canary override flaky", c.Advance(42, "flaky", "canary")),
        ("rollout #42", c.ShowRollout(42)),
        # "rollout" leads subcommands; a number after it is still the rollout to show
        ('rollout pause 42 "devnet forks at 1200"', c.PauseRollout(42, "devnet forks at 1200")),
        ("Rollout PAUSE #42 devnet forks", c.PauseRollout(42, "devnet forks")),
        ('rollout "pause" ４２ x', c.PauseRollout(42, "x")),
        ("rollout resume 42", c.ResumeRollout(42, "")),
        ('rollout resume 42 "fix verified"', c.ResumeRollout(42, "fix verified")),
        (
            'rollout resume 42 --override "it is the fix"',
            c.ResumeRollout(42, override_reason="it is the fix"),
        ),
        (
            "rollout resume #42 —override ships the fix",
            c.ResumeRollout(42, override_reason="ships the fix"),
        ),
        (
            'rollout resume 42 override "it is the fix"',
            c.ResumeRollout(42, override_reason="it is the fix"),
        ),
        ('rollout resume 42 "--override"', c.ResumeRollout(42, "--override")),  # quoted: a reason
        ("help rollout pause", c.Help("rollout pause")),
        ("inventory", c.Inventory(None)),
        ("inventory 42", c.Inventory(42)),
        ('rollback 42 "state root mismatch"', c.Rollback(42, (), "state root mismatch")),
        (
            'activation 42 2027-04-01T14:00Z "borealis needs two weeks"',
            c.MoveActivation(42, "2027-04-01T14:00Z", "borealis needs two weeks"),
        ),
        (
            'activation #42 epoch 412000 "agreed on the call"',
            c.MoveActivation(42, "epoch 412000", "agreed on the call"),
        ),
        (
            'rollback 42 aurora Borealis,cirrus aurora "bad"',
            c.Rollback(42, ("aurora", "borealis", "cirrus"), "bad"),
        ),
        ('flag fast-sync off "corrupts the db"', c.Flag("fast-sync", "off", "corrupts the db")),
        ("flag fast-sync ON tested on canary", c.Flag("fast-sync", "on", "tested on canary")),
        ('incident declare sev1 "chain halted"', c.IncidentDeclare("sev1", "chain halted")),
        (
            'incident declare SEV2 "halt" for 42,#43 44 clients aurora borealis',
            c.IncidentDeclare("sev2", "halt", (42, 43, 44), ("aurora", "borealis")),
        ),
        (
            "incident declare sev2 blocks are slow for 42 client aurora",
            c.IncidentDeclare("sev2", "blocks are slow", (42,), ("aurora",)),
        ),
        (
            "incident declare sev3 peers drop clients cirrus,dorado",
            c.IncidentDeclare("sev3", "peers drop", (), ("cirrus", "dorado")),
        ),
        ('incident declare sev3 "x" aurora', c.IncidentDeclare("sev3", "x", (), ("aurora",))),
        ("incident role #3 lead @kofi-sec", c.IncidentRole(3, "lead", "kofi-sec")),
        ("incident role 3 lead kofi-sec", c.IncidentRole(3, "lead", "kofi-sec")),
        ("incident role comms <@U024BE7LH>", c.IncidentRole(None, "comms", "<@U024BE7LH>")),
        (
            "incident role scribe <@!80351110224678912>",
            c.IncidentRole(None, "scribe", "<@!80351110224678912>"),
        ),
        (
            "incident role scribe <@U024BE7LH|bob>",
            c.IncidentRole(None, "scribe", "<@U024BE7LH|bob>"),
        ),
        ("incident update #3 3 nodes back", c.IncidentUpdate(3, "3 nodes back")),
        ("incident update #urgent peers drop", c.IncidentUpdate(None, "#urgent peers drop")),
        ("incident update 3 nodes down", c.IncidentUpdate(None, "3 nodes down")),
        ("incident update ＃3 fixed", c.IncidentUpdate(3, "fixed")),
        ("incident role ３ lead bob", c.IncidentRole(3, "lead", "bob")),
        ('incident declare sev1 "x" for ４２，＃43', c.IncidentDeclare("sev1", "x", (42, 43))),
        ('incident update "#3 is not an id here"', c.IncidentUpdate(None, "#3 is not an id here")),
        ("incident severity sev1", c.IncidentSeverity(None, "sev1")),
        (
            "incident severity #3 SEV1 dorado lost 2 validators",
            c.IncidentSeverity(3, "sev1", "dorado lost 2 validators"),
        ),
        ("incident resolve", c.IncidentResolve(None, "")),
        ("incident resolve #3 patched", c.IncidentResolve(3, "patched")),
        ("meetings", c.Meetings(5)),
        ("meetings --next 3", c.Meetings(3)),
        ("meetings next 50", c.Meetings(50)),
        ("meetings －－ｎｅｘｔ ３", c.Meetings(3)),
        (
            'meeting schedule "Go/no-go" 2027-03-01 15:00 90m for 42',
            c.MeetingSchedule("Go/no-go", "2027-03-01 15:00", 90 * timedelta(minutes=1), 42),
        ),
        (
            'meeting schedule "Sync" thursday 15:00',
            c.MeetingSchedule("Sync", "thursday 15:00"),
        ),
        ("meeting schedule Sync tomorrow 2h", c.MeetingSchedule("Sync", "tomorrow", 2 * H)),
        ('meeting schedule "Sync" in 2h', c.MeetingSchedule("Sync", "in 2h")),
        (
            'meeting schedule "Sync" after 30m for #7',
            c.MeetingSchedule("Sync", "after 30m", None, 7),
        ),
        ('meeting schedule "Sync" 2h', c.MeetingSchedule("Sync", "2h")),
        ("meeting cancel core-sync@2027-03-04", c.MeetingCancel("core-sync@2027-03-04")),
        ("meeting cancel #12", c.MeetingCancel("12")),
        ("meeting cancel ＃12", c.MeetingCancel("12")),
        ("meeting move 12 friday 16:00 CET", c.MeetingMove("12", "friday 16:00 CET")),
        ("meeting decide go for production", c.MeetingDecide("go for production")),
        (
            "meeting action @hana-eridanus bump the devnet",
            c.MeetingAction("hana-eridanus", "bump the devnet"),
        ),
        (
            "agenda add core-sync gas target follow-up",
            c.AgendaAdd("core-sync", "gas target follow-up"),
        ),
        ("confirm k3J9-x2_a", c.Confirm("k3J9-x2_a")),
        ("subscribe", c.Subscribe()),
        ("subscribe me", c.Subscribe("me")),
        (
            "subscribe HERE decision rollout decision",
            c.Subscribe("here", kinds=("decision", "rollout")),
        ),
        (
            "subscribe email ops@example.org incident",
            c.Subscribe("email", "ops@example.org", kinds=("incident",)),
        ),
        (
            "subscribe email <mailto:ops@example.org|ops@example.org>",
            c.Subscribe("email", "ops@example.org"),
        ),
        (
            "subscribe webhook https://hooks.example/x?a=1",
            c.Subscribe("webhook", "https://hooks.example/x?a=1"),
        ),
        (
            "subscribe webhook <https://hooks.example/x|hooks>",
            c.Subscribe("webhook", "https://hooks.example/x"),
        ),
        (
            'subscribe me track protocol-change track security-patch,feature-flag client aurora proposal #42 severity >= sev2 label "needs review" not label wip lang pt_BR digest daily 8:05',
            c.Subscribe(
                "me",
                tracks=("protocol-change", "security-patch", "feature-flag"),
                clients=("aurora",),
                proposal=42,
                min_severity="sev2",
                labels=("needs review",),
                not_labels=("wip",),
                lang="pt-BR",
                digest_at="08:05",
            ),
        ),
        ("subscribe severity>=sev1", c.Subscribe(min_severity="sev1")),
        ("subscribe severity >=sev1", c.Subscribe(min_severity="sev1")),
        ("subscribe severity ≥ sev3", c.Subscribe(min_severity="sev3")),
        ("subscribe severity≥ sev3", c.Subscribe(min_severity="sev3")),
        ("unsubscribe", c.Unsubscribe()),
        ("unsubscribe #3", c.Unsubscribe(3)),
        ("unsubscribe all", c.Unsubscribe(every=True)),
        ("unsubscribe ALL", c.Unsubscribe(every=True)),
        ("unsubscribe ＃３", c.Unsubscribe(3)),
        ("inventory ４２", c.Inventory(42)),
        ("subscriptions", c.Subscriptions()),
        # a command copied whole from a reply or a help line: its "/charter" is the surface's
        ("/charter vote 7 approve", c.CastVote(7, "approve", "")),
        ("/CHARTER show 42", c.Show(42)),
        ("／ｃｈａｒｔｅｒ show 42", c.Show(42)),
        ("/charter", c.Help(None)),
    ],
)
def test_parse_chat(text: str, expected: c.Command) -> None:
    """Each chat form reads into its command, keywords case-insensitive, numbers as 42 or #42."""
    assert parse_chat(text) == expected


ROLLOUT_FORMS = "\n".join(USAGE[k] for k in ("rollout", "rollout pause", "rollout resume"))


@pytest.mark.parametrize(
    ("text", "message", "usage"),
    [
        ("vot 42 approve", "'vot' is not a command. Did you mean 'vote'?", USAGE["vote"]),
        ("meetng schedule", "Did you mean 'meeting'?", group("meeting")),
        ("xyzzy", "'xyzzy' is not a command.", USAGE["help"]),
        ('"vote 42', "The quote that starts '\"vote 42' is not closed.", USAGE["help"]),
        ("vote", "Give the proposal number.", USAGE["vote"]),
        ("vote 42", "Give the choice: approve, reject or abstain.", USAGE["vote"]),
        ("vote 42 maybe", "'maybe' is none of these", USAGE["vote"]),
        ("vote abc approve", "'abc' is not a proposal number; write a whole number", USAGE["vote"]),
        ("vote #-1 approve", "is not a proposal number", USAGE["vote"]),
        ("vote 0 approve", "A proposal number starts at 1; got '0'.", USAGE["vote"]),
        (
            "vote 12 approve,lgtm",
            "Put a space after 'approve,', as in 'approve, lgtm'.",
            USAGE["vote"],
        ),
        ("approve,12", "Put a space after 'approve,', as in 'approve, 12'.", USAGE["approve"]),
        ("approve 12,lgtm", "'12,lgtm' is not a proposal number", USAGE["approve"]),
        (
            "vote 1000000001 approve",
            "too large for a proposal number; the largest is 1000000000",
            USAGE["vote"],
        ),
        ("vote " + "9" * 5000 + " approve", "too large", USAGE["vote"]),
        (
            "vote 42 approve " + "x" * 1001,
            "The reason is 1001 characters long; keep it to 1000.",
            USAGE["vote"],
        ),
        ("show 42 43", "'43' is more than this command takes.", USAGE["show"]),
        ("show", "Give the proposal number.", USAGE["show"]),
        ("link now", "'now' is more than this command takes.", USAGE["link"]),
        ("concern 42", "Give the concern as <name>: <text>", USAGE["concern"]),
        ("concern 42 gas-limit", "Give the concern text after the name, e.g.", USAGE["concern"]),
        (
            "concern 42 gas limit too high: yes",
            "one word ending in a colon: /charter concern 42 gas-limit-too-high: yes",
            USAGE["concern"],
        ),
        (
            "concern 42 gas-limit too high",
            "one word ending in a colon: /charter concern 42 gas-limit: too high",
            USAGE["concern"],
        ),
        ("concern 42 " + "a" * 65 + ": x", "is not a valid concern name", USAGE["concern"]),
        ("resolve 42", "Give the concern name.", USAGE["resolve"]),
        ("help votee", "There is no help on 'votee'. Did you mean 'vote'?", USAGE["help"]),
        ("help qqq", "There is no help on 'qqq'.", USAGE["help"]),
        ("help votex", "There is no help on 'votex'. Did you mean 'vote'?", USAGE["help"]),
        ("help qqqs", "There is no help on 'qqqs'.", USAGE["help"]),
        ("todo now", "'now' is more than this command takes.", USAGE["todo"]),
        ("ready 42 aurora", "Give the stage.", USAGE["ready"]),
        ("ready 42 aurora staging", "Give the version.", USAGE["ready"]),
        (
            "ready 42 aurora staging ..",
            "'..' is not a valid version; write it like 4.2.0.",
            USAGE["ready"],
        ),
        ("ready 42 Au$rora staging 1", "'Au$rora' is not a valid client", USAGE["ready"]),
        *(
            (
                f"ready 42 aurora canary 1.1.0 {branch}",
                f"'{branch}' may be a branch (a tag is"
                " read bare only when it is a whole version, like v4.2.0): its later commits'"
                " check runs would count for this release; report the release by its commit sha"
                " or its tag (refs/tags/<tag>).",
                USAGE["ready"],
            )
            for branch in ("v1.x", "1.x", "v1.2.x", "2.0.x", "v1.")
        ),
        ("advance 42 --override", "Give the reason for the override.", USAGE["advance"]),
        ("advance 42 now", "'now' is more than this command takes.", USAGE["advance"]),
        ("advance 42 to", "Give the stage to enter, e.g. to canary.", USAGE["advance"]),
        ("advance 42 to Can$ary", "'Can$ary' is not a valid stage", USAGE["advance"]),
        ("advance 42 to canary now", "'now' is more than this command takes.", USAGE["advance"]),
        ("advance 42 canary", "'canary' is more than this command takes.", USAGE["advance"]),
        ("advance 42 to canary --override", "Give the reason for the override.", USAGE["advance"]),
        ("inventory 42 43", "more than this command takes", USAGE["inventory"]),
        ("rollout pause 42", "Give the reason for the pause.", USAGE["rollout pause"]),
        ('rollout pause 42 ""', "Give the reason for the pause.", USAGE["rollout pause"]),
        ("rollout pause", "Give the proposal number.", USAGE["rollout pause"]),
        ("rollout resume x", "'x' is not a proposal number", USAGE["rollout resume"]),
        (
            "rollout resume 42 --override",
            "Give the reason for the override.",
            USAGE["rollout resume"],
        ),
        (
            'rollout resume 42 override ""',
            "Give the reason for the override.",
            USAGE["rollout resume"],
        ),
        # a mistake in "rollout" shows all three forms, the word order among them
        ('rollout 42 pause "x"', "'pause \"x\"' is more than this command takes.", ROLLOUT_FORMS),
        ("rollout paus 42", "'paus' is not a proposal number", ROLLOUT_FORMS),
        ("rollout", "Give the proposal number.", ROLLOUT_FORMS),
        ("rollback 42 aurora", "Give the reason in quotes at the end", USAGE["rollback"]),
        ("rollback 42", "Give the reason in quotes at the end", USAGE["rollback"]),
        ("activation 42 2027-04-01T14:00Z", "Give the reason in quotes", USAGE["activation"]),
        ('activation 42 "slipped"', "Give the new target", USAGE["activation"]),
        ('activation 42 epoch 1 ""', "Give the reason.", USAGE["activation"]),
        ('rollback 42 aurora ""', "Give the reason.", USAGE["rollback"]),
        ("flag fast-sync", "Give the state: on or off.", USAGE["flag"]),
        ("flag fast-sync maybe x", "Turn a flag on or off; 'maybe' is neither.", USAGE["flag"]),
        ("flag fast-sync on", "Give the reason.", USAGE["flag"]),
        (
            "incident",
            "'incident' takes one of declare, role, update, severity, resolve, add; '(nothing)' is not one.",
            group("incident"),
        ),
        ("incident delcare sev1 x", "Did you mean 'declare'?", group("incident")),
        ("incident declare", "Give the severity, e.g. sev2.", USAGE["incident declare"]),
        ("incident declare sev1", "Give the summary.", USAGE["incident declare"]),
        (
            "incident declare sev1 for 42",
            "Give a summary before 'for', in quotes.",
            USAGE["incident declare"],
        ),
        (
            'incident declare sev1 "x" for',
            "Name the proposals after 'for', e.g. for 42,43.",
            USAGE["incident declare"],
        ),
        (
            'incident declare sev1 "x" for aurora',
            "Name the proposals after 'for'",
            USAGE["incident declare"],
        ),
        (
            'incident declare sev1 "x" for 0',
            "A proposal number starts at 1",
            USAGE["incident declare"],
        ),
        (
            "incident declare sev1 " + "y" * 201,
            "The summary is 201 characters long; keep it to 200.",
            USAGE["incident declare"],
        ),
        ("incident role #x lead bob", "'#x' is not a valid role", USAGE["incident role"]),
        (
            "incident role #0 lead bob",
            "An incident id starts at 1; got '#0'.",
            USAGE["incident role"],
        ),
        ("incident role lead", "Give the user.", USAGE["incident role"]),
        (
            "incident role lead bob@x",
            "'bob@x' is not a valid user; write it like @alice-aurora.",
            USAGE["incident role"],
        ),
        ("incident update #3", "Give the update text.", USAGE["incident update"]),
        (
            "incident severity #3",
            "Give the severity, e.g. sev1.",
            USAGE["incident severity"],
        ),
        ("meetings 3", "'3' is not an option here; use --next N.", USAGE["meetings"]),
        ("meetings --next", "Give the number of calls.", USAGE["meetings"]),
        (
            "meetings --next abc",
            "'abc' is not a number of calls; write a whole number such as 5.",
            USAGE["meetings"],
        ),
        ("meetings --next 0", "A number of calls starts at 1; got '0'.", USAGE["meetings"]),
        ("meetings --next 51", "Ask for at most 50 meetings; got 51.", USAGE["meetings"]),
        ("meetings --next 3 4", "more than this command takes", USAGE["meetings"]),
        ("meeting schedule", "Give the meeting title.", USAGE["meeting schedule"]),
        ('meeting schedule "Sync"', "Say when, e.g.", USAGE["meeting schedule"]),
        ('meeting schedule "Sync" for 42', "Say when, e.g.", USAGE["meeting schedule"]),
        (
            'meeting schedule "Sync" friday 0m',
            "A meeting lasts from 1 minute to 24 hours",
            USAGE["meeting schedule"],
        ),
        (
            'meeting schedule "Sync" friday 25h',
            "A meeting lasts from 1 minute to 24 hours",
            USAGE["meeting schedule"],
        ),
        ("meeting cancel", "Give the meeting id.", USAGE["meeting cancel"]),
        ("meeting cancel a/b", "'a/b' is not a valid meeting id", USAGE["meeting cancel"]),
        ("meeting cancel x y", "more than this command takes", USAGE["meeting cancel"]),
        ("meeting move 12", "Give the new time.", USAGE["meeting move"]),
        ("meeting decide", "Give the decision.", USAGE["meeting decide"]),
        ("meeting action bob", "Give the action.", USAGE["meeting action"]),
        ("agenda add core-sync", "Give the agenda item.", USAGE["agenda add"]),
        ("agenda", "'agenda' takes one of add", USAGE["agenda add"]),
        ("confirm abc", "'abc' is not a valid confirmation token", USAGE["confirm"]),
        ("confirm abcd efgh", "more than this command takes", USAGE["confirm"]),
        ("subscribe email nobody", "'nobody' is not a valid e-mail address", USAGE["subscribe"]),
        (
            "subscribe email jörg@example.org",
            "'jörg@example.org' has characters beyond ASCII, and mail can be sent only to plain ASCII addresses; give one such as ops@example.org.",
            USAGE["subscribe"],
        ),
        (
            "subscribe email <mailto:ops@exämple.org|ops@exämple.org>",
            "'ops@exämple.org' has characters beyond ASCII",
            USAGE["subscribe"],
        ),
        ("vote ١٢ approve", "'١٢' is not a proposal number", USAGE["vote"]),  # not NFKC digits
        ("subscribe webhook ftp://x", "'ftp://x' is not a valid URL", USAGE["subscribe"]),
        (
            "subscribe whatever",
            "'whatever' is not a subscription filter; use kinds",
            USAGE["subscribe"],
        ),
        ("subscribe votes", "is not a subscription filter", USAGE["subscribe"]),
        (
            "subscribe me decisoin",
            "'decisoin' is not a subscription filter (did you mean 'decision'?); use kinds",
            USAGE["subscribe"],
        ),
        (
            "subscribe trakc core",
            "'trakc' is not a subscription filter (did you mean 'track'?); use kinds",
            USAGE["subscribe"],
        ),
        ("subscribe track", "Give the track.", USAGE["subscribe"]),
        ("subscribe client Bad!", "is not a valid client", USAGE["subscribe"]),
        ("subscribe not wip", "Write 'not label X' to leave out a label.", USAGE["subscribe"]),
        (
            "subscribe label " + '"' + "l" * 51 + '"',
            "The label is 51 characters long; keep it to 50.",
            USAGE["subscribe"],
        ),
        ("subscribe proposal 1 proposal 2", "Give proposal only once.", USAGE["subscribe"]),
        (
            "subscribe severity sev2",
            "Write the threshold as 'severity >= sev2'",
            USAGE["subscribe"],
        ),
        ("subscribe severity", "Give the '>= sevN' after severity.", USAGE["subscribe"]),
        ("subscribe severity >=", "Give the severity after >=.", USAGE["subscribe"]),
        (
            "subscribe severity >= sev1 severity >= sev2",
            "Give severity only once.",
            USAGE["subscribe"],
        ),
        ("subscribe lang 12", "'12' is not a valid language", USAGE["subscribe"]),
        ("subscribe lang de lang fr", "Give lang only once.", USAGE["subscribe"]),
        (
            "subscribe digest weekly 08:00",
            "Write 'digest daily HH:MM'; daily is the only digest.",
            USAGE["subscribe"],
        ),
        ("subscribe digest daily 24:00", "'24:00' is not a valid time of day", USAGE["subscribe"]),
        (
            "subscribe digest daily 8:00 digest daily 9:00",
            "Give digest only once.",
            USAGE["subscribe"],
        ),
        ("unsubscribe x", "'x' is not a subscription id", USAGE["unsubscribe"]),
        ("unsubscribe 1 2", "more than this command takes", USAGE["unsubscribe"]),
        # only the word "/charter" is dropped, once
        ("/chartered", "'/chartered' is not a command.", USAGE["help"]),
        ("/charter /charter show 1", "'/charter' is not a command.", USAGE["help"]),
    ],
)
def test_parse_chat_errors(text: str, message: str, usage: str) -> None:
    """Bad input gets a sentence saying what is wrong and the correct form."""
    result = parse_chat(text)
    assert isinstance(result, c.ParseError), result
    assert message in result.message
    assert result.usage == usage
    assert str(result) == f"{result.message}\nUsage: {result.usage}"


COMMENT = """\
Thanks for the writeup!

/vote approve looks good to me
  /CONCERN gas-limit: the new target is too high
/resolve gas-limit
> /vote reject quoted from someone else
>/withdraw
```
/vote reject inside code
```
~~~~ text
/withdraw
~~~
still inside the tilde fence
~~~~
<!-- /withdraw hidden in an HTML comment -->
<!--
/withdraw
-->
I agree with /vote approve in the middle of a line.
/usr/bin/env is not a command
/lgtm is not ours either
/status
/approve
/reject "too risky"
/abstain
/charter vote approve also works
/charter
/help vote
/disclose
"""

ROLLOUT_COMMENT = """\
/ready aurora staging 4.2.0 a1b2c3d
/advance --override "soak verified by hand"
/advance to canary --override "soak verified by hand"
/advance to canary
/rollout
/rollout pause "devnet forks at 1200"
/rollout resume
/inventory
/rollback aurora "state root mismatch"
/activation 2027-04-01T14:00Z "slipped"
/flag fast-sync off "bug"
/incident declare sev2 "halt"
/incident declare sev2 "halt" for 7
/incident role lead @kofi-sec
/incident update #2 fixed
/incident resolve
/meeting decide go
/meeting action @bob write notes
/agenda add core-sync discuss
/withdraw
"""


def test_parse_comment_reads_every_command_line_and_skips_quotes_code_and_html() -> None:
    """Line-anchored commands count; quotes, fences, HTML comments and mid-line text do not."""
    assert parse_comment(COMMENT, issue=42) == [
        c.CastVote(42, "approve", "looks good to me"),
        c.RaiseConcern(42, "gas-limit", "the new target is too high"),
        c.ResolveConcern(42, "gas-limit"),
        c.Status(42),
        c.CastVote(42, "approve", ""),
        c.CastVote(42, "reject", "too risky"),
        c.CastVote(42, "abstain", ""),
        c.CastVote(42, "approve", "also works"),
        c.Help(None),
        c.Help("vote"),
        c.Disclose(42),
    ]


def test_parse_comment_reads_rollout_incident_and_meeting_commands() -> None:
    """Rollout, incident and meeting-note commands work in comments, on the issue's proposal."""
    assert parse_comment(ROLLOUT_COMMENT, issue=42) == [
        c.Ready(42, "aurora", "staging", "4.2.0", "a1b2c3d"),
        c.Advance(42, "soak verified by hand"),
        c.Advance(42, "soak verified by hand", "canary"),
        c.Advance(42, None, "canary"),
        c.ShowRollout(42),
        c.PauseRollout(42, "devnet forks at 1200"),
        c.ResumeRollout(42, ""),
        c.Inventory(42),
        c.Rollback(42, ("aurora",), "state root mismatch"),
        c.MoveActivation(42, "2027-04-01T14:00Z", "slipped"),
        c.Flag("fast-sync", "off", "bug"),
        c.IncidentDeclare("sev2", "halt", (42,)),
        c.IncidentDeclare("sev2", "halt", (7,)),
        c.IncidentRole(None, "lead", "kofi-sec"),
        c.IncidentUpdate(2, "fixed"),
        c.IncidentResolve(None, ""),
        c.MeetingDecide("go"),
        c.MeetingAction("bob", "write notes"),
        c.AgendaAdd("core-sync", "discuss"),
        c.Withdraw(42),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/vote approve", [c.CastVote(None, "approve", "")]),
        ("/withdraw", [c.Withdraw(None)]),
        ("/incident declare sev1 x", [c.IncidentDeclare("sev1", "x")]),
        ("/vote approve\r\n/withdraw\r\n", [c.CastVote(None, "approve", ""), c.Withdraw(None)]),
        ("thanks\r/withdraw", [c.Withdraw(None)]),
        ("```\n/withdraw", []),  # an unclosed fence runs to the end, as GitHub renders it
        ("````\n```\n/withdraw\n````\n/status", [c.Status(None)]),
        ("```\n/withdraw\n~~~\n```\n/status", [c.Status(None)]),
        ("```\n```` not a close\n/withdraw\n```\n/status", [c.Status(None)]),
        ("```\n``~\n/withdraw\n```\n/status", [c.Status(None)]),
        ("<!-- unclosed\n/withdraw", []),
        ("+1", []),
        ("+1 /vote approve", []),
        (
            "/approve 2",
            [
                c.ParseError(
                    "In a comment the proposal is the issue; comment on #2 or leave out the number.",
                    COMMENT_USAGE["approve"],
                )
            ],
        ),
    ],
)
def test_parse_comment_without_issue_leaves_n_to_the_caller(
    body: str, expected: list[c.Command]
) -> None:
    """Without an issue number the proposal stays None; line endings and fences follow GitHub."""
    assert parse_comment(body) == expected


@pytest.mark.parametrize(
    ("line", "message", "usage"),
    [
        ("/vot approve", "'vot' is not a command. Did you mean 'vote'?", COMMENT_USAGE["vote"]),
        ("/vote", "Give the choice", COMMENT_USAGE["vote"]),
        (
            "/vote 42 approve",
            "In a comment the proposal is this issue (#1); comment on #42 or leave out the number.",
            COMMENT_USAGE["vote"],
        ),
        (
            "/approve 2 looks good",
            "comment on #2 or leave out the number.",
            COMMENT_USAGE["approve"],
        ),
        ("/approve #2", "comment on #2 or leave out", COMMENT_USAGE["approve"]),
        ("/reject ＃２ too risky", "comment on #2 or leave out", COMMENT_USAGE["reject"]),
        ("/approve 2, fine", "comment on #2 or leave out", COMMENT_USAGE["approve"]),
        ("/charter vote 2 approve", "comment on #2 or leave out", COMMENT_USAGE["vote"]),
        ("/charter approve 2", "comment on #2 or leave out", COMMENT_USAGE["approve"]),
        ("/status 2", "comment on #2 or leave out", COMMENT_USAGE["status"]),
        ("/withdraw #2", "comment on #2 or leave out", COMMENT_USAGE["withdraw"]),
        ("/inventory 2", "comment on #2 or leave out", COMMENT_USAGE["inventory"]),
        ("/inventory 1 2", "is more than this command takes", COMMENT_USAGE["inventory"]),
        ("/concern 2 gas: too high", "comment on #2 or leave out", COMMENT_USAGE["concern"]),
        ("/approve 0", "A proposal number starts at 1; got '0'.", COMMENT_USAGE["approve"]),
        (
            "/subscribe here",
            "'subscribe' works in chat only: use /charter subscribe",
            USAGE["subscribe"],
        ),
        ("/link", "'link' works in chat only", USAGE["link"]),
        (
            "/meeting schedule x y",
            "'meeting schedule' works in chat only",
            USAGE["meeting schedule"],
        ),
        ("/meeting foo", "'meeting' takes one of", group("meeting", COMMENT_USAGE)),
        ("/rollback aurora", "Give the reason in quotes", COMMENT_USAGE["rollback"]),
        ("/rollout pause", "Give the reason for the pause.", COMMENT_USAGE["rollout pause"]),
        (
            "/rollout pause 2 forks",
            "comment on #2 or leave out the number",
            COMMENT_USAGE["rollout pause"],
        ),
        (
            "/rollout 1 pause x",
            "is more than this command takes",
            "\n".join(COMMENT_USAGE[k] for k in ("rollout", "rollout pause", "rollout resume")),
        ),
        ("/incidnet declare sev1 x", "Did you mean 'incident'?", group("incident", COMMENT_USAGE)),
    ],
)
def test_parse_comment_errors(line: str, message: str, usage: str) -> None:
    """Near misses and chat-only commands in a comment get a reply, with the comment form."""
    [result] = parse_comment(line, issue=1)
    assert isinstance(result, c.ParseError), result
    assert message in result.message
    assert result.usage == usage


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/approve 1 looks good", c.CastVote(1, "approve", "looks good")),
        ("/approve #1", c.CastVote(1, "approve", "")),
        ("/approve ＃１ ok", c.CastVote(1, "approve", "ok")),
        ("/vote 1 reject", c.CastVote(1, "reject", "")),
        ("/charter vote 1 approve ship it", c.CastVote(1, "approve", "ship it")),
        ("/status 1", c.Status(1)),
        ("/withdraw #1.", c.Withdraw(1)),
        ("/concern 1 gas: too high", c.RaiseConcern(1, "gas", "too high")),
        ('/advance 1 to canary --override "x"', c.Advance(1, "x", "canary")),
        ("/inventory #1", c.Inventory(1)),
        ('/charter rollout resume 1 "fix verified"', c.ResumeRollout(1, "fix verified")),
        ('/rollout resume 1 --override "the fix"', c.ResumeRollout(1, override_reason="the fix")),
        # not a proposal number: the start of the reason, as before
        ("/approve 1.5x faster sync", c.CastVote(1, "approve", "1.5x faster sync")),
        ("/approve v2 is fine", c.CastVote(1, "approve", "v2 is fine")),
        ('/approve "unclosed reason', c.CastVote(1, "approve", '"unclosed reason')),
        ("/vote approve 2 nodes tested", c.CastVote(1, "approve", "2 nodes tested")),
    ],
)
def test_parse_comment_accepts_the_issues_own_number(body: str, expected: c.Command) -> None:
    """A number written anyway in a comment is accepted when it is the issue's, and dropped;
    a number after the choice, or a word that is no number, is still the reason."""
    assert parse_comment(body, issue=1) == [expected]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/approve.", [c.CastVote(7, "approve", "")]),
        ("/approve!", [c.CastVote(7, "approve", "")]),
        ("/approve,", [c.CastVote(7, "approve", "")]),
        ("/approve;", [c.CastVote(7, "approve", "")]),
        ("/approve:", [c.CastVote(7, "approve", "")]),
        ("/approve!! ship it", [c.CastVote(7, "approve", "ship it")]),
        ("Looks good to me.\n/approve.", [c.CastVote(7, "approve", "")]),
        ("LGTM\n/approve!", [c.CastVote(7, "approve", "")]),
        ("/vote approve.", [c.CastVote(7, "approve", "")]),
        ("/status.", [c.Status(7)]),
        ("/charter. approve!", [c.CastVote(7, "approve", "")]),
        ("/charter.", [c.Help(None)]),
        ("/incident resolve. fixed", [c.IncidentResolve(None, "fixed")]),
        ("／approve", [c.CastVote(7, "approve", "")]),
        ("  ／reject too risky", [c.CastVote(7, "reject", "too risky")]),
        ("／ａｐｐｒｏｖｅ ＬＧＴＭ", [c.CastVote(7, "approve", "ＬＧＴＭ")]),  # reason as typed
        ("／ｃｈａｒｔｅｒ ｖｏｔｅ ７ ａｐｐｒｏｖｅ", [c.CastVote(7, "approve", "")]),
        # a colon or a dash introduces the reason, spaced or not
        ("/approve: lgtm", [c.CastVote(7, "approve", "lgtm")]),
        ("/approve:lgtm", [c.CastVote(7, "approve", "lgtm")]),
        ("/approve：lgtm", [c.CastVote(7, "approve", "lgtm")]),  # full-width colon
        ("/approve:)", [c.CastVote(7, "approve", ")")]),
        ("/reject—too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/reject–too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/reject — too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/reject – too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/reject - too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/reject -- too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/reject : too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/reject —too risky", [c.CastVote(7, "reject", "—too risky")]),  # no lone dash
        ("/reject -1 for now", [c.CastVote(7, "reject", "-1 for now")]),
        ("/reject 7 — too risky", [c.CastVote(7, "reject", "too risky")]),
        ('/reject — "too risky"', [c.CastVote(7, "reject", "too risky")]),
        ("/vote reject:too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/vote reject—too risky", [c.CastVote(7, "reject", "too risky")]),
        ("/charter approve:lgtm", [c.CastVote(7, "approve", "lgtm")]),
        ("/status:", [c.Status(7)]),
        ("/withdraw—#7", [c.Withdraw(7)]),
        ("/incident:declare sev1 x", [c.IncidentDeclare("sev1", "x", (7,))]),
        # still not commands: other slashes, other symbols, unknown words run into text
        ("⁄approve", []),
        ("/usr/bin/env.", []),
        ("/ok,thanks", []),
        ("/e.g. this", []),
    ],
)
def test_parse_comment_reads_trailing_punctuation_and_full_width_slashes(
    body: str, expected: list[c.Command]
) -> None:
    """``/approve.``, ``/approve!`` and an IME's ``／approve`` are commands, not silence; a
    colon or dash after the command word or choice introduces the reason, spaced or not."""
    assert parse_comment(body, issue=7) == expected


@pytest.mark.parametrize(
    ("body", "message", "usage"),
    [
        (
            "/approve,lgtm",
            "Put a space after 'approve,', as in 'approve, lgtm'.",
            COMMENT_USAGE["approve"],
        ),
        (
            "/approve.lgtm",
            "Put a space after 'approve.', as in 'approve. lgtm'.",
            COMMENT_USAGE["approve"],
        ),
        (
            "/reject;too risky",
            "Put a space after 'reject;', as in 'reject; too risky'.",
            COMMENT_USAGE["reject"],
        ),
        (
            "/REJECT!!no",
            "Put a space after 'REJECT!!', as in 'REJECT!! no'.",
            COMMENT_USAGE["reject"],
        ),
        (
            "/approve:—lgtm",
            "Put a space after 'approve:—', as in 'approve:— lgtm'.",
            COMMENT_USAGE["approve"],
        ),
        (
            "/vote approve,lgtm",
            "Put a space after 'approve,', as in 'approve, lgtm'.",
            COMMENT_USAGE["vote"],
        ),
        ("/status.x", "Put a space after 'status.', as in 'status. x'.", COMMENT_USAGE["status"]),
        ("/list,all", "'proposals' works in chat only", USAGE["proposals"]),
        ("/link:x", "'link' works in chat only", USAGE["link"]),
        (
            "/aprove:lgtm",
            "'aprove:lgtm' is not a command. Did you mean 'approve'?",
            COMMENT_USAGE["approve"],
        ),
        (
            "/approve—",
            "'approve—' is not a command. Did you mean 'approve'?",
            COMMENT_USAGE["approve"],
        ),
    ],
)
def test_parse_comment_answers_a_command_word_run_into_text(
    body: str, message: str, usage: str
) -> None:
    """A command word run into text by other punctuation than a colon or dash is never
    silence: the reply says to put a space after it (as chat does)."""
    [result] = parse_comment(body, issue=7)
    assert isinstance(result, c.ParseError), result
    assert message in result.message
    assert result.usage == usage


APPROVE = [c.CastVote(7, "approve", "")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # indented code (CommonMark): four columns or more, a tab counting up to four
        ("   /approve", APPROVE),
        ("To object, write:\n\n    /vote reject\n\nI am undecided.", []),
        ("     /reject", []),
        ("\t/reject", []),
        ("  \t/reject", []),
        (" \u3000/approve", APPROVE),  # a full-width space is text, not indentation
        ("\u00a0   /approve", APPROVE),
        ("text\n    /reject", []),  # kept simple: no lazy paragraph continuation
        # <pre> blocks run to </pre>, across blank lines
        ("Syntax:\n<pre>\n/vote reject\n</pre>\nundecided", []),
        ("<pre>\n/reject\n\n/reject\n</pre>\n/approve", APPROVE),
        ("<PRE class='x'>\n/reject\n</Pre>\n/approve", APPROVE),
        ("<pre>\n/reject", []),  # unclosed: to the end, as GitHub renders it
        ("see <pre>\n/reject\n</pre>\n/approve", APPROVE),
        ("<pre><code>\n/reject\n</code>\n/reject\n</pre>\n/approve", APPROVE),
        ("<pre>a</pre>\n/approve", APPROVE),
        # <code> blocks run to </code> or a blank line
        ("<code>\n/reject\n</code>\n/approve", APPROVE),
        ("<code>\n/reject\n\n/approve", APPROVE),
        ("use <code>/reject</code> to object\n/approve", APPROVE),
        ("</code>\n/approve", APPROVE),  # a stray closing tag opens nothing
        ("<precious>\n/approve", APPROVE),
        ("/approve <pre>\n/reject\n</pre>", [c.CastVote(7, "approve", "<pre>")]),
        # fences and tags do not see into each other
        ("```\n<pre>\n```\n/approve", APPROVE),
        ("<pre>\n```\n</pre>\n/approve", APPROVE),
    ],
)
def test_parse_comment_ignores_indented_code_and_pre_or_code_blocks(
    body: str, expected: list[c.Command]
) -> None:
    """What GitHub shows as code is not a command: a command line has at most three leading
    spaces, and ``<pre>``/``<code>`` blocks are skipped like fences."""
    assert parse_comment(body, issue=7) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("one\r\n  two  words \rthree", ["one", "two words", "three"]),
        ("> quoted\n>also\n   > indented quote\nlive", ["live"]),
        ("> > nested\n\nafter", ["", "after"]),  # blank lines are live, and empty
        ("```\nfenced\n```\nlive", ["live"]),
        ("~~~\nfenced, unclosed", []),
        ("text\n    indented code\n\tand a tab", ["text"]),
        ("   three spaces", ["three spaces"]),
        ("<pre>\nshown\n\nstill shown\n</pre>\nlive", ["<pre>", "live"]),
        ("<pre>on one line</pre>", ["<pre>on one line</pre>"]),
        ("<code>\nshown\n\nlive", ["<code>", "live"]),
        ("<!-- hidden -->live<!--\nhidden\n-->", ["live"]),
        ("a > b", ["a > b"]),
    ],
)
def test_live_lines_are_what_github_shows_as_the_authors_text(
    body: str, expected: list[str]
) -> None:
    """Every reading of a comment starts from its live lines: quotes (``>``), code (fences,
    indented, ``<pre>``/``<code>`` blocks) and HTML comments are left out; the lines that
    open a block (``<pre>…``) are the author's own text."""
    assert list(live_lines(body)) == expected


def _comment_group(word: str) -> list[str]:
    return [COMMENT_USAGE[k] for k in sorted(COMMENT_USAGE) if k.startswith(word + " ")]


MORE_IN_CHAT = "More commands work in chat: /charter help in Discord, Slack or the console."


@pytest.mark.parametrize(
    ("topic", "comment", "expected"),
    [
        (None, False, [USAGE[k] for k in sorted(USAGE)]),
        (None, True, [*(COMMENT_USAGE[k] for k in sorted(COMMENT_USAGE)), MORE_IN_CHAT]),
        ("nonsense", False, [USAGE[k] for k in sorted(USAGE)]),
        ("vote", False, [USAGE["vote"]]),
        ("vote", True, ["/vote approve|reject|abstain [reason]"]),
        ("incident", False, sorted(group("incident").split("\n"))),
        ("incident", True, _comment_group("incident")),
        ("incident declare", True, [COMMENT_USAGE["incident declare"]]),
        ("meeting", True, [*_comment_group("meeting"), MORE_IN_CHAT]),  # schedule etc. left out
        ("list", False, ["/charter proposals"]),
        ("rollout", False, ROLLOUT_FORMS.split("\n")),  # the command and its subcommands
        (
            "rollout",
            True,
            ["/rollout", '/rollout pause "<reason>"', '/rollout resume [--override] ["<reason>"]'],
        ),
        ("rollout pause", False, ['/charter rollout pause <n> "<reason>"']),
        ("list", True, ["/charter proposals (works in chat only: Discord, Slack or the console)"]),
        (
            "subscribe",
            True,
            [f"{USAGE['subscribe']} (works in chat only: Discord, Slack or the console)"],
        ),
    ],
)
def test_help_lines_follow_the_topic_and_the_surface(
    topic: str | None, comment: bool, expected: list[str]
) -> None:
    """``help`` in a comment shows the comment forms; a group shows its commands; aliases work."""
    assert help_lines(topic, comment=comment) == expected


def test_help_lines_in_a_comment_only_show_forms_a_comment_accepts() -> None:
    """Every line ``/help`` shows in a comment parses as a command there (no chat syntax)."""
    for line in help_lines(None, comment=True)[:-1]:
        form = re.sub(r"\[.*|<.*|approve\|.*", "", line).strip()
        [parsed] = parse_comment(form, issue=1)
        if isinstance(parsed, c.ParseError):
            assert "Give the" in parsed.message or "Say" in parsed.message, (line, parsed)
            assert "chat only" not in parsed.message, line


def test_meeting_schedule_suggests_only_times_that_parse() -> None:
    """The "Say when" hint names forms charter.when accepts (it once said "next thursday")."""
    result = parse_chat('meeting schedule "Sync"')
    assert isinstance(result, c.ParseError)
    found = re.fullmatch(r"Say when, e\.g\. (.*)\.", result.message)
    assert found is not None, result.message
    examples = re.split(r", | or ", found.group(1))
    assert len(examples) == 3
    now = datetime(2027, 2, 25, 12, tzinfo=UTC)
    for example in examples:
        assert parse_when(example, now, "UTC").at_utc > now, example


def test_parse_comment_caps_the_number_of_commands() -> None:
    """At most 20 commands per comment are read; the reply says the rest were not."""
    assert len(parse_comment("/status\n" * 20 + "/usr/bin is not a command\n", issue=1)) == 20
    results = parse_comment("/status\n" * 25, issue=1)
    assert results[:20] == [c.Status(1)] * 20
    [error] = results[20:]
    assert isinstance(error, c.ParseError)
    assert "at most 20 commands" in error.message


def _command_classes() -> tuple[type, ...]:
    return typing.get_args(c.Command)


def test_every_command_class_is_frozen_and_has_a_chat_form() -> None:
    """Every command is immutable data and has a usage line under its key."""
    keys = {re.sub(r"^/charter (\w+(?: [a-z]+)?).*$", r"\1", u) for u in USAGE.values()}
    assert keys == set(USAGE)  # every usage line starts with its own key
    for cls in _command_classes():
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_every_usage_key_parses_a_command() -> None:
    """Each USAGE key names a production: its bare key never reads as an unknown command."""
    for key in USAGE:
        result = parse_chat(key)
        if isinstance(result, c.ParseError):
            assert "is not a command" not in result.message, key
            assert "takes one of" not in result.message, key


@given(st.text(max_size=300))
def test_parse_chat_never_raises(text: str) -> None:
    """No input makes the chat parser raise: it returns a command or a ParseError."""
    result = parse_chat(text)
    assert isinstance(result, (*_command_classes(), c.ParseError))


_WORDS = st.sampled_from(
    [
        *USAGE,
        "42",
        "#7",
        '"x y"',
        "“q”",
        "--override",
        "to",
        "for",
        "clients",
        "severity",
        ">=",
        "sev2",
        "aurora",
        "approve",
        "label",
        "not",
        "digest",
        "daily",
        "8:00",
        "```",
        ">",
        "/",
    ]
)


@given(st.lists(st.one_of(_WORDS, st.text(max_size=8)), max_size=12))
def test_parse_chat_never_raises_on_near_commands(words: list[str]) -> None:
    """Sequences of real keywords and junk reach deep into productions without raising."""
    parse_chat(" ".join(words))


@given(st.lists(st.one_of(_WORDS, st.text(max_size=8)), max_size=12), st.text(max_size=200))
def test_parse_comment_never_raises(words: list[str], noise: str) -> None:
    """No comment makes the comment parser raise."""
    results = parse_comment(noise + "\n/" + " ".join(words) + "\n" + noise, issue=3)
    assert len(results) <= 21
