"""The visit day: the Box 1 agenda, live mode (timers, quick capture, equal voice), the summary
with each team's feedback and the focus areas, attendance and the facilitator's notes."""

import datetime
import uuid
from html import escape

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ilcop.models import ActivityLog
from programmes.models import Enrolment, SiteMembership
from visits import agenda_default
from visits.models import (
    AgendaTemplate,
    Contribution,
    FacilitatorNote,
    FocusArea,
    TeamFeedback,
    Visit,
    VisitAgendaItem,
    VisitAttendee,
)
from visits.models.day import SessionKind
from visits.services import day as services

from .factories import EnrolmentFactory, SiteMembershipFactory, UserFactory

NOW = datetime.datetime(2026, 3, 31, 9, 0, tzinfo=datetime.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(site, other_site, lead, cns, other_lead):
    """Both teams' minimum roles: the host's lead and CNS, the visitors' lead, plus these."""
    return {
        "host_mdtc": SiteMembershipFactory(site=site, role="mdt_coordinator",
                                           user__full_name="Mo Coordinator").user,
        "visiting_cns": SiteMembershipFactory(site=other_site, role="cns",
                                              user__full_name="Val Nurse").user,
        "visiting_mdtc": SiteMembershipFactory(site=other_site, role="mdt_coordinator").user,
    }


@pytest.fixture
def visit(programme, site, other_site, core, lead, cns, other_lead, people):
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.CONFIRMED, date=datetime.date(2026, 3, 31),
                                 start_time=datetime.time(9), end_time=datetime.time(16),
                                 facilitator=core)
    for user, team, role in (
        (lead, "host", "clinical_lead"), (cns, "host", "cns"),
        (people["host_mdtc"], "host", "mdt_coordinator"),
        (other_lead, "visiting", "clinical_lead"), (people["visiting_cns"], "visiting", "cns"),
        (people["visiting_mdtc"], "visiting", "mdt_coordinator"),
        (core, "facilitator", "facilitator"),
    ):
        VisitAttendee.objects.create(visit=visit, user=user, team=team, role=role)
    return visit


@pytest.fixture
def agenda(visit, core):
    return services.visit_agenda_ensure(visit=visit, user=core)


@pytest.fixture
def third_lead(programme):
    """The clinical lead of a site in the same programme that is not in this visit."""
    third = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION).site
    return SiteMembershipFactory(site=third, role=SiteMembership.Role.CLINICAL_LEAD).user


def capture(visit, user, text, *, kind="strength", team="visiting", role="cns", session=None,
            client_id=None):
    return services.contribution_add(visit=visit, user=user, kind=kind, team=team, role=role,
                                     text=text, client_id=client_id or uuid.uuid4(),
                                     session=session)


# --- the default agenda ----------------------------------------------------------------------


def test_the_default_agenda_is_box_1_in_order():
    kinds = [s.kind for s in agenda_default.DEFAULT_AGENDA]
    assert kinds == ["introduction", "observation", "mdt_discussion", "audit_discussion",
                     "survey_discussion", "summary"]
    assert set(kinds) <= set(SessionKind.values)
    assert [s.minutes for s in agenda_default.DEFAULT_AGENDA] == [20, 90, 45, 45, 45, 45]
    discussions = agenda_default.DEFAULT_AGENDA[2:5]
    for session in discussions:
        assert 30 <= session.minutes <= 60
        guidance = session.guidance
        # The study's order: host first, role to role, within teams, between teams.
        steps = ["host team speaks first", "nurse to nurse", "among itself",
                 "feed back to each other"]
        positions = [guidance.index(step) for step in steps]
        assert positions == sorted(positions)
        assert "MDT coordinator" in guidance and "strengths" in guidance
    assert "observation form" in agenda_default.DEFAULT_AGENDA[1].guidance
    assert "PDSA" in agenda_default.DEFAULT_AGENDA[5].guidance
    assert "QIP" in agenda_default.DEFAULT_AGENDA[5].guidance


def test_the_programme_template_is_made_once_and_each_visit_copies_it(visit, programme, core):
    first = services.agenda_template_default(programme=programme, user=core)
    assert services.agenda_template_default(programme=programme, user=core) == first
    assert AgendaTemplate.objects.filter(programme=programme).count() == 1
    assert [i.minutes for i in first.items.all()] == [20, 90, 45, 45, 45, 45]

    items = services.visit_agenda_ensure(visit=visit, user=core)
    assert services.visit_agenda_ensure(visit=visit, user=core) == items
    assert [(i.order, i.kind, i.planned_minutes) for i in items] == [
        (1, "introduction", 20), (2, "observation", 90), (3, "mdt_discussion", 45),
        (4, "audit_discussion", 45), (5, "survey_discussion", 45), (6, "summary", 45)]
    assert all(i.guidance for i in items)
    assert VisitAgendaItem.objects.filter(visit=visit).count() == 6


def test_changes_to_a_visits_agenda_leave_the_template_alone(visit, agenda, programme, core):
    template = AgendaTemplate.objects.get(programme=programme)
    before = list(template.items.values_list("order", "title", "minutes"))
    intro, observation, mdt, *_ = agenda

    services.agenda_item_update(item=mdt, user=core, title="MDT discussion", planned_minutes=60)
    services.agenda_item_move(item=mdt, user=core, direction="up")
    added = services.agenda_item_add(visit=visit, user=core, title="Lunch", planned_minutes=30,
                                     after=observation)
    services.agenda_item_remove(item=intro, user=core)

    rows = list(visit.agenda.values_list("order", "title", "kind", "planned_minutes"))
    assert rows == [
        (1, "MDT discussion", "mdt_discussion", 60),
        (2, "Observation of the host's MDT meeting", "observation", 90),
        (3, "Lunch", "other", 30),
        (4, "Discussion: national audit data", "audit_discussion", 45),
        (5, "Discussion: patient experience survey", "survey_discussion", 45),
        (6, "Summary and quality improvement plan", "summary", 45),
    ]
    assert added.kind == SessionKind.OTHER
    assert list(template.items.values_list("order", "title", "minutes")) == before
    # Moving the first session up changes nothing.
    services.agenda_item_move(item=visit.agenda.first(), user=core, direction="up")
    assert visit.agenda.first().title == "MDT discussion"
    with pytest.raises(ValidationError):
        services.agenda_item_update(item=mdt, user=core, title="", planned_minutes=0)


def test_a_started_session_cannot_be_removed(agenda, core):
    services.session_start(item=agenda[0], user=core)
    with pytest.raises(ValidationError):
        services.agenda_item_remove(item=agenda[0], user=core)


def test_the_core_team_edits_the_agenda_through_the_pages(visit, agenda, as_core, client_for,
                                                          lead):
    page = as_core.get(f"/visits/{visit.pk}/agenda/").content.decode()
    assert "Move up" in page and "Add a session" in page
    assert "Guidance for this session" in page
    assert "09:00" in page and "09:20" in page  # planned start times from the visit's start

    response = as_core.post(f"/visits/{visit.pk}/agenda/{agenda[2].pk}/edit/",
                            {"title": "How the MDT works", "planned_minutes": "50"})
    assert response.status_code == 302
    response = as_core.post(f"/visits/{visit.pk}/agenda/{agenda[2].pk}/edit/",
                            {"title": "", "planned_minutes": "0"})
    assert "There is a problem" in response.content.decode()
    as_core.post(f"/visits/{visit.pk}/agenda/{agenda[2].pk}/move/", {"direction": "up"})
    as_core.post(f"/visits/{visit.pk}/agenda/add/", {"title": "Lunch", "planned_minutes": "30",
                                                     "after": agenda[0].pk})
    as_core.post(f"/visits/{visit.pk}/agenda/{agenda[5].pk}/remove/")
    assert list(visit.agenda.values_list("title", flat=True)) == [
        "Host team's introduction", "Lunch", "How the MDT works",
        "Observation of the host's MDT meeting", "Discussion: national audit data",
        "Discussion: patient experience survey"]

    site_page = client_for(lead).get(f"/visits/{visit.pk}/agenda/").content.decode()
    assert "How the MDT works" in site_page
    assert "Move up" not in site_page and "Add a session" not in site_page


# --- live mode: timers -----------------------------------------------------------------------


def test_the_timer_leaves_out_pauses_and_flags_an_overrun(visit, agenda, core, as_core):
    mdt = agenda[2]
    with time_machine.travel(NOW, tick=False) as clock:
        services.session_start(item=mdt, user=core)
        clock.shift(datetime.timedelta(minutes=10))
        services.session_pause(item=mdt, user=core)
        clock.shift(datetime.timedelta(minutes=5))
        mdt.refresh_from_db()
        assert mdt.elapsed_seconds() == 10 * 60  # the clock stands still while paused
        services.session_resume(item=mdt, user=core)
        clock.shift(datetime.timedelta(minutes=50))
        mdt.refresh_from_db()
        assert mdt.paused_seconds == 5 * 60
        assert mdt.elapsed_seconds() == 60 * 60
        assert mdt.elapsed_seconds() > mdt.planned_minutes * 60

        page = as_core.get(f"/visits/{visit.pk}/live/").content.decode()
        assert 'data-elapsed="3600"' in page and 'data-planned="2700"' in page
        assert "1:00:00" in page
        assert "15 min over" in page and "Over time" in page
        assert "has run past its planned 45 minutes" in page

        services.session_end(item=mdt, user=core)
        clock.shift(datetime.timedelta(minutes=30))
        mdt.refresh_from_db()
        assert mdt.elapsed_seconds() == 60 * 60  # ended: no more time counts


def test_session_buttons_are_idempotent_under_double_clicks(visit, agenda, core):
    intro = agenda[0]
    services.session_start(item=intro, user=core)
    started = VisitAgendaItem.objects.get(pk=intro.pk).started_at
    with time_machine.travel(NOW + datetime.timedelta(seconds=2), tick=False):
        services.session_start(item=intro, user=core)
        services.session_pause(item=intro, user=core)
        services.session_pause(item=intro, user=core)
        services.session_resume(item=intro, user=core)
        services.session_resume(item=intro, user=core)
    intro.refresh_from_db()
    assert intro.started_at == started and intro.paused_at is None
    assert ActivityLog.objects.filter(verb="visit.session_started").count() == 1
    assert ActivityLog.objects.filter(verb="visit.session_paused").count() == 1


def test_next_ends_the_current_session_and_starts_the_next(visit, agenda, core, as_core):
    intro, observation, mdt, *_ = agenda
    services.session_start(item=intro, user=core)
    with time_machine.travel(NOW + datetime.timedelta(minutes=25), tick=False):
        assert services.session_next(visit=visit, user=core, current=intro) == observation
        # A second click naming the session already left changes nothing.
        assert services.session_next(visit=visit, user=core, current=intro) == observation
    intro.refresh_from_db()
    observation.refresh_from_db()
    assert intro.ended_at == NOW + datetime.timedelta(minutes=25)
    assert intro.elapsed_seconds() == 25 * 60
    assert observation.started_at and not observation.ended_at

    # Starting another session ends the running one: only one runs at a time.
    services.session_start(item=mdt, user=core)
    assert [i.pk for i in VisitAgendaItem.objects.filter(
        visit=visit, started_at__isnull=False, ended_at__isnull=True)] == [mdt.pk]

    # Through the page, as htmx: the panel comes back with the capture form's session field.
    response = as_core.post(f"/visits/{visit.pk}/live/next/", {"current": mdt.pk}, **HTMX)
    page = response.content.decode()
    following = agenda[3]
    assert following.title in page
    assert 'id="id_session" hx-swap-oob="true"' in page
    assert f'name="session" value="{following.pk}"' in page
    # Without JavaScript it redirects back to live mode.
    response = as_core.post(f"/visits/{visit.pk}/live/next/", {"current": following.pk})
    assert response.status_code == 302 and response["Location"].endswith("/live/")



def test_running_the_whole_agenda_with_next_finishes_the_day(visit, agenda, core, as_core):
    current = services.session_next(visit=visit, user=core)
    assert current == agenda[0]
    seen = [current]
    while current is not None:
        current = services.session_next(visit=visit, user=core, current=current)
        if current:
            seen.append(current)
    assert seen == agenda
    assert not VisitAgendaItem.objects.filter(visit=visit, ended_at__isnull=True).exists()
    page = as_core.get(f"/visits/{visit.pk}/live/").content.decode()
    assert "Every session is done" in page


# --- live mode: capture ----------------------------------------------------------------------


def test_a_note_sent_twice_is_stored_once(visit, agenda, core, as_core):
    client_id = uuid.uuid4()
    first, created = capture(visit, core, "Clear chairing", client_id=client_id)
    again, created_again = capture(visit, core, "Clear chairing", client_id=client_id)
    assert created and not created_again and again == first
    assert Contribution.objects.filter(visit=visit).count() == 1
    with pytest.raises(ValidationError):
        capture(visit, core, "   ")

    # Through the page: the browser's replay of the same note.
    services.session_start(item=agenda[0], user=core)
    data = {"kind": "opportunity", "who": "host:cns", "text": "No CNS at the MDT",
            "client_id": str(uuid.uuid4()), "session": agenda[0].pk}
    for _ in range(2):
        response = as_core.post(f"/visits/{visit.pk}/live/capture/", data, **HTMX)
        assert response.status_code == 200
    note = Contribution.objects.get(client_id=data["client_id"])
    assert (note.team, note.role, note.kind, note.session) == (
        "host", "cns", "opportunity", agenda[0])
    page = response.content.decode()
    assert "No CNS at the MDT" in page and "CNS, host team" in page
    assert 'id="role-counts"' in page and 'hx-swap-oob="true"' in page

    # A replay of a stored note is answered as a success even if the form has changed since.
    response = as_core.post(f"/visits/{visit.pk}/live/capture/",
                            {**data, "who": "nobody:none"}, **HTMX)
    assert response.status_code == 200
    assert Contribution.objects.filter(client_id=data["client_id"]).count() == 1

    # An empty note is refused: 422 with the form (for htmx), the error summary without.
    bad = {**data, "text": " ", "client_id": str(uuid.uuid4())}
    response = as_core.post(f"/visits/{visit.pk}/live/capture/", bad, **HTMX)
    assert response.status_code == 422
    assert "Enter what was said" in response.content.decode()
    response = as_core.post(f"/visits/{visit.pk}/live/capture/", bad)
    assert "There is a problem" in response.content.decode()
    # Without JavaScript a good note redirects back.
    response = as_core.post(f"/visits/{visit.pk}/live/capture/",
                            {**data, "client_id": str(uuid.uuid4())})
    assert response.status_code == 302
    assert Contribution.objects.filter(visit=visit).count() == 3


def test_role_counts_show_every_role_not_heard_yet(visit, agenda, core, as_core, people):
    capture(visit, core, "Good tracking", team="visiting", role="cns")
    capture(visit, core, "Audit is current", team="visiting", role="cns")
    capture(visit, core, "Radiology slots", team="host", role="clinical_lead",
            kind="opportunity")
    rows = {(r.team, r.role): r.count for r in services.role_counts(visit)}
    assert rows == {
        ("host", "clinical_lead"): 1, ("host", "cns"): 0, ("host", "mdt_coordinator"): 0,
        ("visiting", "clinical_lead"): 0, ("visiting", "cns"): 2,
        ("visiting", "mdt_coordinator"): 0,
    }
    labels = [r.label for r in services.role_counts(visit)]
    assert labels[:3] == ["Clinical lead, host team", "CNS, host team",
                          "MDT coordinator, host team"]

    page = as_core.get(f"/visits/{visit.pk}/live/").content.decode()
    assert page.count("Not heard yet") == 4
    assert '<option value="visiting:cns">CNS, visiting team</option>' in page

    # Someone marked absent cannot be heard: their role drops out unless it spoke.
    mdtc = visit.attendees.get(user=people["host_mdtc"])
    services.attendance_mark(visit=visit, user=core, present={mdtc.pk: False})
    assert ("host", "mdt_coordinator") not in {(r.team, r.role)
                                               for r in services.role_counts(visit)}


# --- the summary -----------------------------------------------------------------------------


def test_the_summary_groups_points_by_session_and_lists_focus_areas(visit, agenda, core,
                                                                    client_for, lead, cns):
    intro, observation, mdt, *_ = agenda
    capture(visit, core, "Clear local context", session=intro)
    capture(visit, core, "Chair keeps time well", session=mdt)
    capture(visit, core, "Imaging not always ready", session=mdt, kind="opportunity")
    capture(visit, core, "Share the pathway slides", session=mdt, kind="idea")
    capture(visit, core, "Book a radiology meeting", session=mdt, kind="action")
    capture(visit, core, "Said in the corridor")
    services.focus_area_add(visit=visit, user=core, title="Faster imaging reports",
                            description="Reports before the MDT", owner=cns)

    page = client_for(lead).get(f"/visits/{visit.pk}/summary/").content.decode()
    sessions = page.split('id="sessions"')[1].split('id="ideas"')[0]
    order = [escape(intro.title), "Clear local context", mdt.title, "Chair keeps time well",
             "Imaging not always ready"]
    positions = [sessions.index(text) for text in order]
    assert positions == sorted(positions)
    assert escape(observation.title) not in sessions  # nothing captured there
    assert "Not tied to a session" in sessions and "Said in the corridor" in sessions
    ideas = page.split('id="ideas"')[1].split('id="feedback"')[0]
    assert "Share the pathway slides" in ideas and "Book a radiology meeting" in ideas
    assert "Share the pathway slides" not in sessions
    focus = page.split('id="focus-areas"')[1]
    assert "Faster imaging reports" in focus and "Owner: Nia Nurse" in focus


def test_feedback_each_team_writes_its_own(visit, agenda, client_for, other_lead, lead,
                                           as_core):
    visiting = client_for(other_lead)
    url = f"/visits/{visit.pk}/summary/feedback/"
    response = visiting.post(url + "visiting/", {"visiting-strengths": "Strong CNS team",
                                                 "visiting-opportunities": "Late imaging"})
    assert response.status_code == 302
    # The visitors may not write the host's reflections.
    response = visiting.post(url + "host/", {"host-strengths": "x", "host-opportunities": "y"})
    assert response.status_code == 403
    assert not TeamFeedback.objects.filter(visit=visit, team="host").exists()
    # Nor the host the visitors' feedback.
    response = client_for(lead).post(url + "visiting/", {"visiting-strengths": "changed",
                                                         "visiting-opportunities": ""})
    assert response.status_code == 403
    response = client_for(lead).post(url + "host/", {"host-strengths": "We listened",
                                                     "host-opportunities": "Imaging"})
    assert response.status_code == 302
    # The core team may edit both; an empty form is refused with the error summary.
    response = as_core.post(url + "host/", {"host-strengths": "", "host-opportunities": ""})
    assert "There is a problem" in response.content.decode()
    assert as_core.post(url + "visiting/", {"visiting-strengths": "Strong CNS team",
                                            "visiting-opportunities": "Late imaging reports"}
                        ).status_code == 302

    feedback = TeamFeedback.objects.get(visit=visit, team="visiting")
    assert feedback.opportunities == "Late imaging reports"
    page = visiting.get(f"/visits/{visit.pk}/summary/").content.decode()
    block = page.split('id="feedback-visiting"')[1].split('id="feedback-host"')[0]
    assert block.index("Strengths") < block.index("Strong CNS team") < block.index(
        "Opportunities for improvement") < block.index("Late imaging reports")
    assert "We listened" in page
    # The visitors see a form for their own feedback only.
    assert f'action="/visits/{visit.pk}/summary/feedback/visiting/"' in page
    assert f'action="/visits/{visit.pk}/summary/feedback/host/"' not in page


def test_focus_areas_are_agreed_by_the_host_or_core_team(visit, agenda, client_for, lead,
                                                         other_lead, cns, as_core, core):
    url = f"/visits/{visit.pk}/summary/focus-areas/"
    response = client_for(lead).post(url, {"title": "CNS at every MDT", "description": "",
                                           "owner": cns.pk})
    assert response.status_code == 302
    area = FocusArea.objects.get(visit=visit)
    assert (area.owner, area.created_by) == (cns, lead)
    # The owner must be in the host team.
    response = client_for(lead).post(url, {"title": "Another", "owner": other_lead.pk})
    assert "There is a problem" in response.content.decode()
    assert client_for(other_lead).post(url, {"title": "Theirs", "owner": cns.pk}
                                       ).status_code == 403
    # Only the core team removes one.
    remove = f"/visits/{visit.pk}/summary/focus-areas/{area.pk}/remove/"
    assert client_for(lead).post(remove).status_code == 404
    assert as_core.post(remove).status_code == 302
    assert not FocusArea.objects.filter(visit=visit).exists()


# --- after the visit -------------------------------------------------------------------------


def test_attendance_is_marked_after_the_visit(visit, as_core, lead, other_lead):
    host_lead = visit.attendees.get(user=lead)
    visiting_lead = visit.attendees.get(user=other_lead)
    page = as_core.get(f"/visits/{visit.pk}/attendance/").content.decode()
    assert "Dr Lena Lead" in page
    response = as_core.post(f"/visits/{visit.pk}/attendance/", {
        f"attendee-{host_lead.pk}": "present", f"attendee-{visiting_lead.pk}": "absent"})
    assert response.status_code == 302
    host_lead.refresh_from_db()
    visiting_lead.refresh_from_db()
    assert (host_lead.present, visiting_lead.present) == (True, False)
    assert visit.attendees.filter(present__isnull=True).count() == 5
    assert "1 present, 1 absent" in as_core.get(f"/visits/{visit.pk}/attendance/"
                                                ).content.decode()


def test_facilitator_notes_are_never_shown_to_site_members(visit, agenda, as_core, client_for,
                                                           lead, cns, other_lead, site,
                                                           other_site, core):
    secret = "Tension between the two leads; follow up privately"
    response = as_core.post(f"/visits/{visit.pk}/notes/", {"text": secret})
    assert response.status_code == 302
    assert FacilitatorNote.objects.get(visit=visit).text == secret
    assert secret in as_core.get(f"/visits/{visit.pk}/notes/").content.decode()
    capture(visit, core, "A strength")

    pages = [f"/visits/{visit.pk}/", f"/visits/{visit.pk}/agenda/",
             f"/visits/{visit.pk}/summary/", f"/sites/{site.pk}/", f"/sites/{other_site.pk}/",
             f"/sites/{site.pk}/visits/", f"/sites/{other_site.pk}/visits/"]
    for person in (lead, cns, other_lead):
        client = client_for(person)
        for url in pages:
            response = client.get(url)
            # A site member sees their own site's pages, not the partner's (a 404).
            assert response.status_code == (404 if url.startswith(
                "/sites/") and str(site.pk if person == other_lead else other_site.pk)
                + "/" in url else 200), (person, url)
            assert secret not in response.content.decode(), url
        for url in (f"/visits/{visit.pk}/notes/", f"/visits/{visit.pk}/live/"):
            assert client.get(url).status_code == 404
    # The log says the notes changed, but only to the core team's timelines, never the text.
    entry = ActivityLog.objects.get(verb="visit.facilitator_note_saved")
    assert secret not in entry.summary and secret not in str(entry.data)
    assert not ActivityLog.objects.filter(verb="visit.facilitator_note_saved",
                                          scopes__object_id=site.pk,
                                          scopes__content_type__model="site").exists()


# --- permissions -----------------------------------------------------------------------------

BOTH_TEAMS = ["/visits/{v}/agenda/", "/visits/{v}/summary/"]
CORE_ONLY = ["/visits/{v}/live/", "/visits/{v}/attendance/", "/visits/{v}/notes/",
             "/visits/{v}/agenda/add/", "/visits/{v}/agenda/{i}/edit/"]
CORE_ONLY_POSTS = ["/visits/{v}/agenda/{i}/move/", "/visits/{v}/agenda/{i}/remove/",
                   "/visits/{v}/live/next/", "/visits/{v}/live/capture/",
                   "/visits/{v}/live/sessions/{i}/start/", "/visits/{v}/live/sessions/{i}/pause/",
                   "/visits/{v}/live/sessions/{i}/resume/", "/visits/{v}/live/sessions/{i}/end/",
                   "/visits/{v}/summary/focus-areas/{f}/remove/"]
SITE_POSTS = ["/visits/{v}/summary/feedback/visiting/", "/visits/{v}/summary/feedback/host/",
              "/visits/{v}/summary/focus-areas/"]


@pytest.mark.parametrize("who", ["core", "lead", "other_lead", "third_lead", "other_core",
                                 "outsider", "anonymous"])
def test_who_may_open_each_page(request, visit, agenda, core, who):
    area = FocusArea.objects.create(visit=visit, title="Imaging", created_by=core)
    fill = {"v": visit.pk, "i": agenda[-1].pk, "f": area.pk}
    if who == "anonymous":
        client = Client()
    else:
        client = Client()
        client.force_login(request.getfixturevalue(who))
    partner = who in ("lead", "other_lead")
    for template in BOTH_TEAMS + CORE_ONLY:
        url = template.format(**fill)
        response = client.get(url)
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        elif who == "core" or (partner and template in BOTH_TEAMS):
            assert response.status_code == 200, (who, url)
        else:
            assert response.status_code == 404, (who, url, response.status_code)
    for template in CORE_ONLY_POSTS + SITE_POSTS:
        url = template.format(**fill)
        if who == "core":
            continue  # each is exercised by the tests above
        response = client.post(url, {})
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        elif partner and template in SITE_POSTS:
            assert response.status_code in (200, 403), (who, url)  # form errors, or not theirs
        else:
            assert response.status_code == 404, (who, url, response.status_code)
    assert FocusArea.objects.filter(pk=area.pk).exists()
    assert not Contribution.objects.exists()


def test_a_visit_of_another_programme_is_a_404_for_this_core_team(visit, agenda, other_core):
    client = Client()
    client.force_login(other_core)
    assert client.get(f"/visits/{visit.pk}/live/").status_code == 404
    assert client.get(f"/visits/{visit.pk}/summary/").status_code == 404


# --- query budgets ---------------------------------------------------------------------------


def grow(visit, agenda, core, n):
    """n more people on each team, each with a note in each session, and n focus areas."""
    for team, site in (("host", visit.host), ("visiting", visit.visitor)):
        for _ in range(n):
            member = SiteMembershipFactory(site=site, role="other_clinician").user
            VisitAttendee.objects.create(visit=visit, user=member, team=team,
                                         role="other_clinician")
            for item in agenda:
                for kind in Contribution.Kind.values:
                    capture(visit, core, f"Point from {member}", kind=kind, team=team,
                            role="other_clinician", session=item)
    owner = SiteMembership.objects.current().filter(site=visit.host).first().user
    for k in range(n):
        services.focus_area_add(visit=visit, user=core, title=f"Area {k}", description="",
                                owner=owner)
    services.feedback_save(visit=visit, team="visiting", user=core, strengths="s",
                           opportunities="o")


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize(("page", "budget"), [
    ("live", 12), ("summary", 12), ("agenda", 10), ("attendance", 6),
])
def test_visit_day_pages_stay_flat(visit, agenda, core, as_core, client_for, lead, page,
                                   budget):
    services.session_start(item=agenda[2], user=core)
    url = f"/visits/{visit.pk}/{page}/"
    client = as_core
    grow(visit, agenda, core, 1)
    small = count(client, url)
    grow(visit, agenda, core, 6)
    large = count(client, url)
    assert Contribution.objects.filter(visit=visit).count() > 300
    assert small == large, f"{page}: {small} queries, then {large} with more notes and people"
    assert large <= budget, f"{page}: {large} queries, budget {budget}"
    if page == "summary":
        assert count(client_for(lead), url) <= budget


def test_a_person_with_no_site_does_not_see_the_summary(visit):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(f"/visits/{visit.pk}/summary/").status_code == 404


def test_odd_characters_in_the_next_session_form_are_ignored(client_for, core, programme,
                                                            site, other_site):
    """"²".isdigit() is true but int("²") fails: such input must not reach int()."""
    from visits.models import Visit

    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status="confirmed")
    response = client_for(core).post(f"/visits/{visit.pk}/live/next/", {"current": "²"})
    assert response.status_code in (200, 302)


def test_the_day_is_run_only_for_a_confirmed_visit(core, programme, site, other_site):
    import uuid

    from django.core.exceptions import ValidationError

    from visits.models import Visit
    from visits.services import day

    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status="proposed")
    with pytest.raises(ValidationError, match="once the visit is confirmed"):
        day.contribution_add(visit=visit, user=core, kind="strength", team="host",
                             role="cns", text="x", client_id=uuid.uuid4())
