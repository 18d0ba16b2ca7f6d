"""When a site's own team last did anything there: kept by the services as they log, equal
to what the whole activity log says (programmes.services.team_activity)."""

import datetime

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ilcop.activity import log_action
from programmes.models import Enrolment, Site, SiteMembership
from programmes.services.team_activity import site_team_activity_rebuild
from programmes.services.teams import site_membership_end
from qips import digest
from qips.services import measurements as measurement_services
from qips.services import parts as part_services
from qips.services import plans as plan_services
from visits.models import FocusArea, Visit

START = datetime.datetime(2026, 1, 5, 9, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def kept(*sites) -> list[datetime.datetime | None]:
    return list(Site.objects.filter(pk__in=[s.pk for s in sites]).order_by("pk")
                .values_list("team_last_active_at", flat=True))


def rebuilt(*sites) -> list[datetime.datetime | None]:
    site_team_activity_rebuild()
    return kept(*sites)


def a_plan(programme, site, other_site, lead):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.HAPPENED, date=datetime.date(2025, 12, 2))
    area = FocusArea.objects.create(visit=visit, title="CNS at diagnosis", created_by=lead)
    plan, _ = plan_services.plan_from_focus_area(focus_area=area, user=lead)
    return plan


def test_the_services_keep_what_the_whole_log_says(programme, site, other_site, core, lead,
                                                     cns, other_lead):
    with time_machine.travel(START, tick=False):
        plan = a_plan(programme, site, other_site, lead)
        measure = part_services.part_save(
            plan=plan, user=lead, model=plan.measures.model, kind="outcome", name="CNS present",
            numerator="Told with a CNS", denominator="Told", data_source="Clinic log",
            direction="increase", frequency="monthly", baseline=55, target=85, chart="xmr")
    assert kept(site, other_site) == [START, None] == rebuilt(site, other_site)

    with time_machine.travel(START + 10 * DAY, tick=False):
        measurement_services.measurements_paste(measure=measure, user=cns, text="2025-11\t5\t9")
    with time_machine.travel(START + 20 * DAY, tick=False):
        # Entered by the core team on the team's behalf: no sign of life from the team.
        measurement_services.measurements_paste(measure=measure, user=core, text="2025-12\t6\t9")
        # Filed under both sites: only the site whose team the actor is in moves on.
        log_action(programme, "programme.noted", actor=other_lead, summary="Both",
                   scopes=[site, other_site])
    assert kept(site, other_site) == [START + 10 * DAY, START + 20 * DAY]
    assert rebuilt(site, other_site) == [START + 10 * DAY, START + 20 * DAY]

    with time_machine.travel(START + 30 * DAY, tick=False):
        site_membership_end(membership=SiteMembership.objects.get(site=site, user=cns),
                            user=lead)
        part_services.progress_update_save(plan=plan, user=lead, month=datetime.date(2026, 1, 1),
                                           done="Tried", rag="green")
    with time_machine.travel(START + 40 * DAY, tick=False):
        # A former member no longer speaks for the team.
        log_action(site, "site.noted", actor=cns, summary="After leaving", scopes=[site])
    assert kept(site) == [START + 30 * DAY] == rebuilt(site)


def test_an_entry_filed_under_no_site_costs_no_query(programme, core):
    with CaptureQueriesContext(connection) as captured:
        log_action(programme, "programme.noted", actor=core, summary="x", scopes=[programme])
    assert not any("programmes_site" in q["sql"] for q in captured.captured_queries)


def test_a_team_is_quiet_six_weeks_after_its_own_last_entry(programme, site, core, lead):
    Enrolment.objects.filter(site=site).update(status_changed_at=START)
    with time_machine.travel(START + 10 * DAY, tick=False):
        log_action(site, "site.updated", actor=lead, summary="Changed", scopes=[site])
    with time_machine.travel(START + 30 * DAY, tick=False):
        log_action(site, "site.updated", actor=core, summary="Changed", scopes=[site])
    assert digest.quiet_teams(programme, START + 10 * DAY + digest.TEAM_QUIET_AFTER) == []
    [row] = digest.quiet_teams(programme, START + 11 * DAY + digest.TEAM_QUIET_AFTER)
    assert row.text == f"{site}: last heard from on Thursday 15 January 2026"
