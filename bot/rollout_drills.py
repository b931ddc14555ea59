"""The ``drill`` command: a client's rollback drill, recorded on its rollout.

The path is the one a readiness report takes: the grammar reads it (:mod:`charter.grammar`),
``authorize_command`` lets a maintainer of that client or an override role's member through
(:mod:`charter.authz`), and here the rollout is located (a confidential, undisclosed one is
"no proposal" to whoever may not see it, :func:`bot.rollout_steps.locate`), the drill decided
(:func:`charter.rollout_drills.report_drill`) and saved with its ``drill-reported`` audit entry,
announcement (kind ``rollout``, private while the rollout is confidential) and tracking sync in
the service's one transaction. A refusal changes nothing but a ``command-refused`` entry.
``drill schedule`` plans one the same way (:func:`charter.rollout_drills.schedule_drill`), its
time read in the charter's zone as ``meeting schedule`` reads it (:mod:`charter.when`), the
reply saying how it was read ("Read as …") unless the text and the charter's zone are both UTC; the
client's maintainers are then reminded of it before, and nudged once if it passes unreported
(:mod:`bot.drill_reminders`, a tick hook installed here).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot import drill_reminders
from bot.messages import Actor, Message
from bot.rollout_steps import Rule, step
from bot.service import Governance
from charter import commands as c
from charter.rollout import Rollout, RolloutDecision
from charter.rollout_drills import report_drill, schedule_drill
from charter.rollout_facts import DrillReport, PlannedDrill
from charter.when import parse_when
from storage import proposals as repo


def install_on(gov: Governance) -> None:
    gov.register(c.Drill, drill)
    gov.register(c.DrillSchedule, schedule)
    gov.add_tick_hook(drill_reminders.tick)  # reminders of planned drills (bot.drill_reminders)


def drill(gov: Governance, session: Session, cmd: c.Drill, actor: Actor, now: datetime) -> Message:
    entry = DrillReport(cmd.client, cmd.stage, cmd.recovered, cmd.notes, actor.name, now)
    comment = actor.surface == "github"
    return step(
        gov,
        session,
        cmd,
        actor,
        now,
        lambda _, rollout: lambda: report_drill(rollout, gov.charter, entry, comment=comment),
    )


def schedule(
    gov: Governance, session: Session, cmd: c.DrillSchedule, actor: Actor, now: datetime
) -> Message:
    def decide(_: repo.Stored, rollout: Rollout) -> Rule:
        def rule() -> RolloutDecision:
            # A time that does not read (WhenError) or an unknown stage raises: refused.
            zone = gov.charter.charter.timezone
            when = parse_when(cmd.when_text, now, zone)
            plan = PlannedDrill(cmd.client, cmd.stage, when.at_utc, actor.name, now)
            # Say how the time was read, as ``meeting schedule`` does, unless all is UTC.
            plain = when.zone_used == "UTC" and zone == "UTC"
            read_as = "" if plain else when.interpreted_as
            return schedule_drill(rollout, gov.charter, plan, read_as=read_as)

        return rule

    return step(gov, session, cmd, actor, now, decide)
