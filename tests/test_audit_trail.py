"""The history of one object for the core team (qips.history): who did what, when."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import ActivityLog
from programmes import services as programme_services
from programmes.models import Enrolment
from qips.services import plans as plan_services
from visits.models import FocusArea, Visit, VisitReport
from visits.services.common import log_visit

from .factories import EnrolmentFactory, ProgrammeFactory, SiteMembershipFactory


@pytest.fixture
def visit(programme, site, other_site):
    return Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                status=Visit.Status.HAPPENED, date=datetime.date(2026, 9, 2))


@pytest.fixture
def report(visit, core):
    return VisitReport.objects.create(visit=visit, version=1, html="<p>Report</p>",
                                      approved_by=core)


@pytest.fixture
def plan(visit, lead):
    focus = FocusArea.objects.create(visit=visit, title="CNS at diagnosis", created_by=lead)
    plan, _ = plan_services.plan_from_focus_area(focus_area=focus, user=lead)
    return plan


def url(programme, kind, pk) -> str:
    return f"/programmes/{programme.pk}/history/{kind}/{pk}/"


def kinds(programme, site, visit, report, plan, lead):
    enrolment = Enrolment.objects.get(programme=programme, site=site)
    return {"site": site, "enrolment": enrolment, "visit": visit, "visit-report": report,
            "plan": plan, "person": lead}


# --- Who may see it -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["site", "enrolment", "visit", "visit-report", "plan",
                                  "person"])
def test_only_the_programmes_core_team_sees_an_objects_history(
        kind, programme, site, visit, report, plan, lead, cns, other_lead, other_core,
        outsider, facilitator, client_for, as_core):
    obj = kinds(programme, site, visit, report, plan, lead)[kind]
    page = url(programme, kind, obj.pk)
    assert as_core.get(page).status_code == 200
    assert client_for(facilitator).get(page).status_code == 200  # a member of the core team
    for person in (lead, cns, other_lead, other_core, outsider):
        assert client_for(person).get(page).status_code == 404, person
    assert Client().get(page).status_code == 302  # anonymous: to the sign-in page


def test_an_object_from_another_programme_is_not_found(as_core, programme, core):
    elsewhere = ProgrammeFactory()
    foreign_site = EnrolmentFactory(programme=elsewhere).site
    stranger = SiteMembershipFactory(site=foreign_site).user
    assert as_core.get(url(programme, "site", foreign_site.pk)).status_code == 404
    assert as_core.get(url(programme, "person", stranger.pk)).status_code == 404
    # The core team of the other programme cannot reach ours through its own programme id.
    assert as_core.get(url(elsewhere, "site", foreign_site.pk)).status_code == 404


def test_an_unknown_kind_of_object_is_not_found(as_core, programme, site):
    assert as_core.get(url(programme, "organisation", site.organisation_id)).status_code == 404
    assert as_core.get(url(programme, "site", 999999)).status_code == 404


# --- What it shows --------------------------------------------------------------------------

def test_a_plans_history_has_its_entries_newest_first_with_who_and_when(
        as_core, programme, plan, lead, core):
    plan_services.plan_update(plan=plan, user=lead, problem_statement="Only 55% see a CNS.")
    log_action(plan, "qip.test", actor=core, summary="Asked about the measures",
               data={"fields": ["aim_what", "aim_by_when"], "urgent": True},
               scopes=[programme])
    html = as_core.get(url(programme, "plan", plan.pk)).content.decode()
    entries = ActivityLog.objects.filter(
        object_id=plan.pk, content_type__model="qualityimprovementplan").order_by("-id")
    assert len(entries) >= 3
    positions = [html.index(entry.summary) for entry in entries]
    assert positions == sorted(positions)  # newest first
    assert "Priya Manager" in html and "Dr Lena Lead" in html
    # The details, in words, and the moment in a machine-readable <time>.
    assert "aim_what, aim_by_when" in html
    assert "Urgent" in html and "Yes" in html
    newest = entries.order_by("-created_at").first()
    assert f'datetime="{timezone.localtime(newest.created_at).isoformat()}"' in html


def test_a_visits_history_includes_its_report_and_not_other_visits(
        as_core, programme, visit, report, site, other_site, core):
    log_visit(visit, "visit.confirmed", "Confirmed the visit", user=core)
    log_action(report, "visit.report_test", actor=core, summary="Looked at version 1",
               scopes=[programme])
    other = Visit.objects.create(programme=programme, host=other_site, visitor=site)
    log_visit(other, "visit.created", "Proposed the other visit", user=core)
    html = as_core.get(url(programme, "visit", visit.pk)).content.decode()
    assert "Confirmed the visit" in html and "Looked at version 1" in html
    assert "Proposed the other visit" not in html


def test_a_reports_history_has_its_versions_steps_only(as_core, programme, visit, report, core):
    second = VisitReport.objects.create(visit=visit, version=2, html="<p>2</p>", approved_by=core,
                                       correction_note="The date was wrong")
    log_visit(visit, "visit.report_approved", "Approved version 1 of the visit report",
              user=core, data={"version": 1})
    log_visit(visit, "visit.report_approved", "Approved version 2 of the visit report",
              user=core, data={"version": 2})
    log_visit(visit, "visit.confirmed", "Confirmed the visit", user=core)
    html = as_core.get(url(programme, "visit-report", report.pk)).content.decode()
    assert "Approved version 1" in html
    assert "Approved version 2" not in html and "Confirmed the visit" not in html
    html = as_core.get(url(programme, "visit-report", second.pk)).content.decode()
    assert "Approved version 2" in html and "Approved version 1" not in html


def test_a_persons_history_shows_what_they_did_and_what_was_done_about_them_here_only(
        as_core, programme, site, lead, core):
    invitation = programme_services.invitation_create(
        programme=programme, site=site, invited_by=core, email="sam@trust.example",
        full_name="Sam Surgeon", site_role="other_clinician")
    log_action(site, "site.test", actor=lead, summary="Changed the MDT day", scopes=[programme])
    elsewhere = ProgrammeFactory()
    EnrolmentFactory(programme=elsewhere, site=site)
    log_action(site, "site.test", actor=lead, summary="Did something elsewhere",
               scopes=[elsewhere])
    html = as_core.get(url(programme, "person", lead.pk)).content.decode()
    assert "Changed the MDT day" in html
    assert "Did something elsewhere" not in html
    assert f"Invited {invitation.full_name}" not in html  # done by the core team, not to lead
    html = as_core.get(url(programme, "person", core.pk)).content.decode()
    assert "Invited Sam Surgeon" in html


def test_a_sites_history_is_this_programmes_part(as_core, programme, site, core):
    log_action(site, "site.test", actor=core, summary="Ours", scopes=[programme])
    elsewhere = ProgrammeFactory()
    EnrolmentFactory(programme=elsewhere, site=site)
    log_action(site, "site.test", actor=None, summary="Theirs", scopes=[elsewhere])
    html = as_core.get(url(programme, "site", site.pk)).content.decode()
    assert "Ours" in html and "Theirs" not in html
    assert "System" in html or "Priya Manager" in html


def test_history_is_paged(as_core, programme, plan, core):
    ActivityLog.objects.all().delete()
    for n in range(55):
        log_action(plan, "qip.test", actor=core, summary=f"Entry {n:02d}", scopes=[programme])
    first = as_core.get(url(programme, "plan", plan.pk)).content.decode()
    assert "Page 1 of 2" in first and "Entry 54" in first and "Entry 04" not in first
    second = as_core.get(url(programme, "plan", plan.pk) + "?page=2").content.decode()
    assert "Entry 04" in second and "Entry 54" not in second


# --- Query budget ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["site", "enrolment", "visit", "visit-report", "plan",
                                  "person"])
def test_history_pages_have_a_fixed_query_budget(
        kind, programme, site, visit, report, plan, lead, core, as_core,
        django_assert_max_num_queries):
    obj = kinds(programme, site, visit, report, plan, lead)[kind]
    for n in range(30):
        log_action(obj, "test.entry", actor=core if n % 2 else lead, summary=f"Entry {n}",
                   data={"n": n}, scopes=[programme, site, plan, visit, report])
    as_core.get(url(programme, kind, obj.pk))  # warms the content-type cache
    # A fixed number whatever the entries: none is read per entry or per actor.
    with django_assert_max_num_queries(7):
        response = as_core.get(url(programme, kind, obj.pk))
    assert response.status_code == 200
    assert "Entry 29" in response.content.decode()


# --- Links from each object's page -------------------------------------------------------

def test_the_core_team_is_offered_the_history_links_and_the_site_team_is_not(
        as_core, client_for, programme, site, visit, report, plan, lead):
    report.generated_at = timezone.now()
    report.save(update_fields=["generated_at"])
    enrolment = Enrolment.objects.get(programme=programme, site=site)
    pages = {f"/sites/{site.pk}/": [url(programme, "site", site.pk),
                                    url(programme, "enrolment", enrolment.pk),
                                    url(programme, "person", lead.pk)],
             f"/visits/{visit.pk}/": [url(programme, "visit", visit.pk)],
             f"/visits/{visit.pk}/report/": [url(programme, "visit-report", report.pk)],
             f"/qips/{plan.pk}/": [url(programme, "plan", plan.pk)]}
    for page, links in pages.items():
        html = as_core.get(page).content.decode()
        for link in links:
            assert link in html, (page, link)
            assert as_core.get(link).status_code == 200
        response = client_for(lead).get(page)
        assert response.status_code == 200
        assert "/history/" not in response.content.decode(), page


def test_timestamps_are_uk_time(as_core, programme, plan, core):
    entry = log_action(plan, "qip.test", actor=core, summary="Summer entry", scopes=[programme])
    ActivityLog.objects.filter(pk=entry.pk).update(
        created_at=datetime.datetime(2026, 7, 1, 11, 30, tzinfo=datetime.UTC))
    html = as_core.get(url(programme, "plan", plan.pk)).content.decode()
    assert "1 July 2026, 12:30" in html  # British Summer Time
