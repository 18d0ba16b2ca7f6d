"""The core team's Monday digest: what is overdue in their programme, and who has gone quiet.

One email per core-team member per programme per week (keyed on the week's Monday), sent
whatever their own digest preference: it is how the core team finds the teams that need a
nudge. It lives in qips, the highest app, because it lists visits and plans alike; each list
comes from the module whose reminders share its definition of "overdue".
"""

import datetime
import logging
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone

from ilcop.models import Notification
from ilcop.notifications import Tally, notify_or_log, week_start
from programmes.models import Enrolment, Programme
from visits import reminders as visit_reminders
from visits.reminders import Overdue, active, day_text, link

from . import reminders
from .selectors import QUIET_AFTER

logger = logging.getLogger(__name__)

KIND = "core_team_digest"
# A team has gone quiet when nobody in it has done anything here for this long: the same
# six weeks after which the programme's plans page flags a plan with no progress update.
TEAM_QUIET_AFTER = QUIET_AFTER


@dataclass
class Section:
    title: str
    rows: list[Overdue]


def quiet_teams(programme: Programme, now: datetime.datetime) -> list[Overdue]:
    """Intervention sites with no sign of life from their own team for TEAM_QUIET_AFTER.

    A sign of life is an entry its members made on the site's timeline: every state change,
    progress update and measurement entry is filed there (ilcop.activity), and
    Site.team_last_active_at keeps the latest (programmes.services.team_activity). A site
    counts from the day it joined the intervention arm. Entries by anyone outside the team,
    the core team entering data on its behalf included, do not count: they say nothing
    about whether the team is still going. One query whatever the programme's size."""
    since = now - TEAM_QUIET_AFTER
    enrolments = programme.enrolments.filter(
        Q(site__team_last_active_at__isnull=True) | Q(site__team_last_active_at__lt=since),
        status=Enrolment.Status.INTERVENTION, status_changed_at__lt=since,
    ).select_related("site__organisation")
    last = sorted((max(e.status_changed_at, e.site.team_last_active_at or e.status_changed_at),
                   e.site_id, e.site) for e in enrolments)
    return [Overdue(f"{site}: last heard from on {day_text(timezone.localdate(when))}",
                    link("programmes:site_detail", site_id)) for when, site_id, site in last]


def digest_sections(programme: Programme, now: datetime.datetime) -> list[Section]:
    today = timezone.localdate(now)
    weeks = TEAM_QUIET_AFTER.days // 7
    return [
        Section("Checklist tasks overdue", visit_reminders.overdue_tasks(programme, today)),
        Section("Visits whose day has passed, not yet marked as happened",
                visit_reminders.visits_not_marked_happened(programme, today)),
        Section("Observation forms not submitted",
                visit_reminders.observations_overdue(programme, today)),
        Section("Visit reports that failed or have not finished sending",
                visit_reminders.reports_undelivered(programme, today)),
        Section("Visit reports awaiting approval for more than a week",
                visit_reminders.reports_overdue(programme, today)),
        Section("Improvement plans overdue", reminders.plans_overdue(programme, today)),
        Section("Progress updates overdue", reminders.updates_overdue(programme, today)),
        Section(f"Teams gone quiet (nothing from the team for {weeks} weeks)",
                quiet_teams(programme, now)),
    ]


def core_team_digests_send(now: datetime.datetime | None = None) -> Tally:
    """Send this week's digest to each core-team member of every programme still running.

    Beat runs it on Monday mornings; run on any other day it sends only what this week's
    Monday run did not (a new core-team member, or a send that failed)."""
    now = now or timezone.now()
    monday = week_start(timezone.localdate(now))
    tally = Tally()
    for programme in Programme.objects.exclude(status=Programme.Status.CLOSED):
        members = active(m.user for m in programme.core_team.select_related("user"))
        sent = set(Notification.objects.filter(
            kind=KIND, content_type=ContentType.objects.get_for_model(Programme),
            object_id=programme.pk, due_on=monday).values_list("recipient_id", flat=True))
        if all(person.pk in sent for person in members):
            tally.already += len(members)
            continue  # skip working out the lists again
        try:
            sections = digest_sections(programme, now)
        except Exception:
            # One programme's bad data must not cost every later programme its digest. Nothing
            # is in the ledger for this one, so the next run tries again; ids only in the log.
            logger.exception("core team digest programme=%s failed; the next run tries again",
                             programme.pk)
            tally.failed += sum(person.pk not in sent for person in members)
            continue
        for person in members:
            tally.add(notify_or_log(
                kind=KIND, obj=programme, recipient=person, due_on=monday, must_send=True,
                template="emails/core_digest", programme_name=programme.name,
                summary=f"What is overdue in {programme.name}",
                url=link("qips:dashboard", programme.pk),
                context={"programme": programme, "sections": sections,
                         "today": timezone.localdate(now),
                         # The subject names the week, which a rerun on Tuesday is still in.
                         "monday": monday,
                         "nothing": not any(s.rows for s in sections)},
            ))
    return tally
