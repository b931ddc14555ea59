"""The JSON Schema of the charter file, generated from :class:`~charter.model.Charter`.

Editors (VS Code's YAML extension, JetBrains IDEs) use it to complete and check charter files as
they are typed. The committed copy, ``charter/schema/charter.schema.json``, is kept equal to
:func:`json_schema` by a test; regenerate it with
``charterbot charter schema > charter/schema/charter.schema.json``.

The schema is a guide, not the judge: :func:`charter.load.load_charter` also checks what a schema
cannot say (a channel named in ``announce`` exists, a maintainer sits in one client only, …).
Durations are written ``<number><unit>`` (unit s, m, h, d or w) rather than ISO 8601, and a
meeting's ``start`` is a local date and time read in the meeting's time zone.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from charter.model import Charter

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "charterbot upgrade charter"
DURATION_PATTERN = r"^\d+[smhdw](\d+[smhdw])*$"
LOCAL_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$"

_MODELS = {
    "Charter": "An upgrade charter: who decides what, by which rule, on which timeline, how a "
    "rollout moves from stage to stage, when the calls are and where announcements go.",
    "CharterMeta": "Name and version of this charter.",
    "GitHubConf": "Where proposals are opened.",
    "Client": "An independent implementation; holds one seat where an electorate is 'clients'.",
    "Track": "A decision class; a proposal picks one in the issue form.",
    "Stage": "A rollout stage; every client moves through the stages in order.",
    "DrillRequirement": "A rollback drill each client runs on an earlier stage before this one.",
    "Risk": "How proposal risk (likelihood x impact) limits a rollout.",
    "RolloutConf": "How an accepted proposal rolls out.",
    "IncidentsConf": "Incident severities and roles.",
    "Meeting": "A recurring coordination call.",
    "Channel": "A named destination; set exactly one of discord, slack, email or webhook.",
    "Escalation": "Whom to notify when something has waited too long.",
}

_FIELDS: dict[str, dict[str, str]] = {
    "Charter": {
        "charter": "Name, version and time zone of this charter.",
        "github": "The repository where proposals are opened as issues.",
        "clients": "The independent implementations that must upgrade together.",
        "roles": "People with rights beyond a client seat: role name -> GitHub logins.",
        "tracks": "Decision classes by name (e.g. protocol-change).",
        "rollout": "Stages and gates an accepted proposal walks through.",
        "incidents": "Incident severities (worst first) and incident roles.",
        "meetings": "Recurring coordination calls.",
        "channels": "Named destinations for announcements.",
        "announce": "Which kinds of event go to which channels by default.",
        "escalation": "Who is notified when something waits too long.",
    },
    "CharterMeta": {
        "name": "Human-readable name of the charter.",
        "version": "Raised on every amendment; each decision records the version that decided it.",
        "timezone": "IANA zone in which bare dates and times in commands are read.",
    },
    "GitHubConf": {
        "repository": "owner/name of the repository where proposals are opened as issues.",
        "proposal_label": "Label the issue form adds; an issue without it is not a proposal.",
    },
    "Client": {
        "id": "Short id (lowercase letters, digits, '-', '_').",
        "name": "Display name.",
        "language": "Implementation language, for information.",
        "repository": "owner/name of the client's repository (its check runs gate stages).",
        "maintainers": "GitHub logins that may cast this client's seat (one client per login).",
    },
    "Track": {
        "description": "What proposals on this track are.",
        "review": "Discussion time before voting opens.",
        "voting": "Voting window; ends early once every seat has voted and the outcome held "
        "for `confirm`.",
        "electorate": "'clients' (one seat per client) and/or role names (one seat per member).",
        "quorum": "Share of seats that must cast a vote (abstain counts towards quorum), 0..1.",
        "approval": "Share of approve among approve + reject needed to accept, 0..1.",
        "confirm": (
            "The outcome, approving or rejecting, must hold this long with every seat voted and "
            "no vote flipping it before voting ends early."
        ),
        "lazy_consensus": "If quorum is missed when voting closes, the proposal passes once this "
        "long has gone by with no reject.",
        "veto": "Roles whose members' reject rejects the proposal, whatever the tally.",
        "confidential": "Until disclosed, announced only on channels marked private.",
        "min_activation_after_decision": "The activation target must be at least this long "
        "after the decision.",
        "author_may_vote": "false: a proposal's author casts no vote on it; another maintainer "
        "of their client may cast its seat.",
    },
    "Stage": {
        "id": "Short id of the stage (e.g. canary).",
        "description": "What the stage is.",
        "soak": "The previous stage must have run this long with every client on it.",
        "require_ready": "'all-clients': each client reports a release for this stage first.",
        "require_checks": "GitHub check runs that must have succeeded on each client's release.",
        "block_on_incident": "An open incident of this severity or worse blocks advancing.",
        "go_no_go_meeting": "A go/no-go call is held before this stage and its decision recorded.",
        "require_drill": "Each client rehearses rolling back on an earlier stage, recovering in "
        "time, before this stage is entered.",
    },
    "DrillRequirement": {
        "stage": "The earlier stage the rollback drill runs on (e.g. canary).",
        "recover_within": "The longest recovery that scores a pass (more than 0).",
    },
    "Risk": {
        "scale": "Likelihood and impact are each scored 1..scale in the proposal form.",
        "pause_above": "Likelihood x impact above this needs an override to advance past "
        "the first stage.",
    },
    "RolloutConf": {
        "stages": "Stages in order.",
        "pause_on_incident": "Declaring an incident this severe pauses every rollout it names.",
        "risk": "Risk scoring and the score above which a rollout pauses.",
        "override_roles": "Roles that may advance past a failing gate with a written reason, "
        "and resume a rollout paused by hand.",
    },
    "IncidentsConf": {
        "severities": "Severity names, worst first.",
        "roles": "Incident roles to assign (e.g. lead, comms, scribe).",
        "review_within": "A post-incident review is scheduled this long after resolution.",
    },
    "Meeting": {
        "id": "Short id of the meeting.",
        "title": "Title shown in announcements and calendars.",
        "rrule": "RFC 5545 recurrence rule, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TH.",
        "start": "First occurrence, local date and time in `timezone` (e.g. 2026-01-08T15:00).",
        "timezone": "IANA zone of the call; occurrences follow its daylight-saving changes.",
        "duration": "Length of the call.",
        "agenda_before": "The agenda is posted this long before the call.",
        "reminders": "Reminders are sent this long before the call.",
        "announce_to": "Channels that get the agenda and reminders.",
    },
    "Channel": {
        "discord": "Discord channel id (quote it: ids are too long for YAML numbers).",
        "slack": "Slack channel id (C… or G…).",
        "email": "Email address (e.g. a mailing list).",
        "webhook": "HTTPS URL that receives a JSON POST per announcement.",
        "private": "Marks a channel fit for confidential tracks.",
    },
    "Escalation": {
        "when": "The situation that escalates.",
        "after": "How long the situation lasts before anyone is notified.",
        "notify": "Roles to notify.",
    },
}


class _CharterSchema(GenerateJsonSchema):
    """Durations and local times as the charter file writes them, not ISO 8601."""

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "<number><unit>, unit s, m, h, d or w (e.g. 36h, 2w), or several"
            " such parts, largest unit first (e.g. 1h30m).",
        }

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": LOCAL_DATETIME_PATTERN}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) for charter files, with a description on every field."""
    schema = Charter.model_json_schema(schema_generator=_CharterSchema)
    models: dict[str, Any] = {"Charter": schema, **schema["$defs"]}
    for name, model in models.items():
        model["description"] = _MODELS[name]
        for field, prop in model["properties"].items():
            # A duration keeps its own unit note; the field's meaning goes first.
            unit = prop.get("description") or _duration_note(prop)
            prop["description"] = _FIELDS[name][field] + (f" {unit}" if unit else "")
    schema["title"] = TITLE
    schema["patternProperties"] = {"^x-": {"description": "Ignored; a place for YAML anchors."}}
    return {"$schema": DIALECT, **schema}


def _duration_note(prop: dict[str, Any]) -> str:
    """The unit note of a nested duration (inside ``anyOf`` or ``items``), if any."""
    for inner in (*prop.get("anyOf", ()), prop.get("items", {})):
        if inner.get("pattern") == DURATION_PATTERN:
            return str(inner.get("description", ""))
    return ""
