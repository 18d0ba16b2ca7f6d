"""A one-way review's visits on the shared visit machinery: adding one, then the same poll,
confirmation, calendar invitations, reminders and visit day as a reciprocal visit, with the
review team as the visiting team (visits.services.review_visits, visits.services.common)."""

import datetime
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from ilcop.models import ActivityLog
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Programme,
    Reviewer,
    Standard,
)
from visits import reminders, services
from visits.agenda_default import REVIEW_AGENDA
from visits.calendar import REVIEW_VISITING_ROLES, missing_roles
from visits.models import LogisticsTask, PeerReview, ReviewTeamMember, Visit
from visits.services.review_visits import review_visit_add

from .factories import (
    CoreTeamMembershipFactory,
    ProgrammeFactory,
    SiteFactory,
    SiteMembershipFactory,
    UserFactory,
)

# The service's MDT meets on Tuesdays (SiteFactory); "today" is a Monday.
TODAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
LINK = re.compile(r"http://testserver(/availability/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _frozen_and_linked(settings):
    settings.SITE_URL = "http://testserver"
    with time_machine.travel(TODAY, tick=False):
        yield


class World:
    pass


@pytest.fixture
def world(db):
    w = World()
    w.programme = ProgrammeFactory(name="Specialised Lung Services Review",
                                   kind=Programme.Kind.ONE_WAY)
    w.core = CoreTeamMembershipFactory(programme=w.programme,
                                       role=CoreTeamMembership.Role.PROJECT_MANAGER,
                                       user__full_name="Priya Manager").user
    w.facilitator = CoreTeamMembershipFactory(programme=w.programme,
                                              role=CoreTeamMembership.Role.QI_FACILITATOR,
                                              user__full_name="Fran Facilitator").user
    w.service = SiteFactory(name="Specialised lung service")
    Enrolment.objects.create(programme=w.programme, site=w.service,
                             status=Enrolment.Status.APPROVED)
    w.members = {role: SiteMembershipFactory(site=w.service, role=role,
                                             user__full_name=f"Service {role}").user
                 for role in ("clinical_lead", "cns", "mdt_coordinator")}
    w.member = w.members["clinical_lead"]
    w.lead_reviewer = UserFactory(full_name="Dr Rita Reviewer")
    w.patient_reviewer = UserFactory(full_name="Pat Reviewer")
    lead = Reviewer.objects.create(programme=w.programme, user=w.lead_reviewer,
                                   profession="doctor", region="london")
    patient = Reviewer.objects.create(programme=w.programme, user=w.patient_reviewer,
                                      is_patient_reviewer=True, region="london")
    w.review = PeerReview.objects.create(programme=w.programme, site=w.service,
                                         created_by=w.core)
    ReviewTeamMember.objects.create(review=w.review, reviewer=lead, is_lead=True)
    ReviewTeamMember.objects.create(review=w.review, reviewer=patient)
    Standard.objects.create(programme=w.programme, code="S1", title="Weekly MDT", order=1)
    w.other_member = SiteMembershipFactory(site=SiteFactory()).user
    w.outsider = UserFactory()
    return w


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_visit(world, **kwargs) -> Visit:
    return review_visit_add(review=world.review, user=world.core,
                            facilitator=world.facilitator, **kwargs)


# --- adding a visit ----------------------------------------------------------------------------


def test_a_review_visit_is_hosted_by_the_service_and_visited_by_the_review_team(world):
    visit = add_visit(world, virtual=True)
    assert (visit.host, visit.visitor, visit.review, visit.virtual) == (
        world.service, None, world.review, True)
    assert visit.status == Visit.Status.PROPOSED and visit.is_review
    attendance = {(a.user, a.team, a.role) for a in visit.attendees.all()}
    assert attendance == {
        (world.facilitator, "facilitator", "facilitator"),
        *((person, "host", role) for role, person in world.members.items()),
        (world.lead_reviewer, "visiting", "lead_reviewer"),
        (world.patient_reviewer, "visiting", "patient_reviewer"),
    }
    entry = ActivityLog.objects.get(verb="visit.created")
    assert entry.summary == "Review visit proposed, held online"
    # Filed under the programme and the service only: there is no visiting site.
    assert set(entry.scopes.values_list("content_type__model", "object_id")) >= {
        ("programme", world.programme.pk), ("site", world.service.pk)}


def test_a_one_day_review_has_one_visit_a_deep_dive_several(world):
    first = add_visit(world)
    with pytest.raises(ValidationError, match="A one-day review has one visit"):
        add_visit(world)
    services.visit_cancel(visit=first, user=world.core, reason="The service asked to move it")
    add_visit(world)  # a cancelled visit does not count
    world.review.format = PeerReview.Format.DEEP_DIVE
    world.review.save()
    add_visit(world, virtual=True)
    assert world.review.visits.exclude(status="cancelled").count() == 2


def test_the_facilitator_must_be_in_the_core_team(world):
    with pytest.raises(ValidationError):
        review_visit_add(review=world.review, user=world.core, facilitator=world.member)


def test_the_add_page_for_each_person(world):
    url = f"/reviews/{world.review.pk}/visits/add/"
    assert client_for(world.core).get(url).status_code == 200
    for person in (world.member, world.lead_reviewer):
        assert client_for(person).post(url, {"virtual": "on"}).status_code == 403
    for person in (world.other_member, world.outsider):
        assert client_for(person).post(url).status_code == 404
    assert not Visit.objects.exists()
    response = client_for(world.core).post(url, {"virtual": "on",
                                                 "facilitator": world.facilitator.pk})
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/visits/{visit.pk}/"
    assert visit.virtual and visit.facilitator == world.facilitator
    # A second visit of a one-day review: the page says why, and nothing is saved.
    page = client_for(world.core).post(url, {}).content.decode()
    assert "A one-day review has one visit" in page
    assert Visit.objects.count() == 1


def test_the_review_page_slot_lists_the_visits(world, django_assert_max_num_queries):
    from django.template.loader import render_to_string

    add_visit(world, virtual=True)
    with django_assert_max_num_queries(2):
        html = render_to_string("visits/reviews/_visits.html",
                                {"review": world.review, "is_core": True})
    assert "held online" in html and "Not agreed yet" in html and "Add a visit" in html
    html = render_to_string("visits/reviews/_visits.html",
                            {"review": world.review, "is_core": False})
    assert "Add a visit" not in html


# --- the shared machinery with a review's visit ------------------------------------------------


def test_poll_confirmation_invitations_and_reminders_for_a_review_visit(
        world, mailoutbox, django_capture_on_commit_callbacks):
    visit = add_visit(world)
    with django_capture_on_commit_callbacks(execute=True):
        poll = services.poll_open(
            visit=visit, user=world.core, window_start=datetime.date(2026, 3, 30),
            window_end=datetime.date(2026, 4, 28),
            deadline=datetime.datetime(2026, 3, 20, 17, tzinfo=datetime.UTC))
    # The facilitator, the service's three and the two reviewers.
    assert {(i.user, i.team) for i in poll.invitees.all()} >= {
        (world.lead_reviewer, "visiting"), (world.patient_reviewer, "visiting")}
    assert len(mailoutbox) == 6
    to_reviewer = next(m for m in mailoutbox if m.to == [world.lead_reviewer.email])
    assert to_reviewer.subject == ("Which dates can you make? Peer review of Specialised lung "
                                   f"service, {world.service.organisation.name}")
    assert (f"We are arranging the peer review visit to the Specialised lung service team at "
            f"{world.service.organisation.name}") in to_reviewer.body
    assert "so the reviewers can observe the meeting" in to_reviewer.body
    assert "None" not in to_reviewer.body

    # Everyone answers by their link, without signing in; the reviewer's link works.
    links = {m.to[0]: LINK.search(m.body)[1] for m in mailoutbox}
    for link in links.values():
        page = Client().get(link)
        assert page.status_code == 200
        response = Client().post(link, {"date-2026-03-31": "yes"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    assert "the peer review team is visiting the Specialised lung service team" in \
        Client().get(links[world.lead_reviewer.email]).content.decode()

    grid = client_for(world.core).get(f"/visits/{visit.pk}/poll/").content.decode()
    assert "Missing:" not in grid.split("Tue 31 Mar 2026")[1].split("</tr>")[0]
    # The rule stated above the grid is the one it applies: the reviewers need their lead.
    assert ("the host team's clinical lead, clinical nurse specialist, MDT coordinator, the "
            "visiting team's lead reviewer, and a facilitator") in " ".join(grid.split())

    client_for(world.core).post(f"/visits/{visit.pk}/date/", {"date": "2026-03-31"})
    visit.refresh_from_db()
    assert visit.status == "date_agreed" and visit.attendees.count() == 6
    assert services.visit_missing_roles(visit) == []

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.core).post(f"/visits/{visit.pk}/confirm/", {
            "start_time": "09:00", "end_time": "16:00", "venue": "Education centre",
            "directions": "Ask at main reception"})
    assert response.status_code == 302
    assert len(mailoutbox) == 6
    invitation = next(m for m in mailoutbox if m.to == [world.patient_reviewer.email])
    assert invitation.subject.startswith("Visit confirmed: Peer review of Specialised lung")
    assert "The peer review visit to the Specialised lung service team at" in invitation.body
    assert "(visiting team)" in invitation.body
    assert REVIEW_AGENDA[0].title in invitation.body
    assert "Read the lines of enquiry agreed with the service." in invitation.body
    assert "observation form" not in invitation.body
    filename = invitation.attachments[0][0]
    assert filename.endswith(".ics")
    # The observation form is a reciprocal visit's: no task to issue it.
    kinds = set(LogisticsTask.objects.filter(visit=visit).values_list("kind", flat=True))
    assert "observation_forms" not in kinds and "room" in kinds

    # A visit in 14 days: the reviewers are reminded like any attendee.
    mailoutbox.clear()
    with time_machine.travel(datetime.datetime(2026, 3, 17, 8, tzinfo=datetime.UTC),
                             tick=False):
        reminders.visit_reminders_send()
    reminder = next(m for m in mailoutbox if m.to == [world.lead_reviewer.email])
    assert reminder.subject == ("Peer review visit in 14 days: Peer review of Specialised "
                                f"lung service, {world.service.organisation.name}")
    assert "The peer review visit to the Specialised lung service team at" in reminder.body
    assert "You are on the attendance list (visiting team)." in reminder.body


def test_a_reviewer_who_leaves_the_team_loses_the_poll_link(world, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    visit = add_visit(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.poll_open(
            visit=visit, user=world.core, window_start=datetime.date(2026, 3, 30),
            window_end=datetime.date(2026, 4, 28),
            deadline=datetime.datetime(2026, 3, 20, 17, tzinfo=datetime.UTC))
    link = next(LINK.search(m.body)[1] for m in mailoutbox
                if m.to == [world.patient_reviewer.email])
    ReviewTeamMember.objects.filter(reviewer__user=world.patient_reviewer).delete()
    assert Client().get(link).status_code == 410


def test_the_visit_pages_for_each_person(world, django_assert_max_num_queries):
    visit = add_visit(world, virtual=True)
    readers = (world.core, world.member, world.lead_reviewer)
    for path in ("", "agenda/", "summary/", "data-pack/"):
        for person in readers:
            response = client_for(person).get(f"/visits/{visit.pk}/{path}")
            assert response.status_code == 200, (path, person)
        for person in (world.other_member, world.outsider):
            assert client_for(person).get(f"/visits/{visit.pk}/{path}").status_code == 404
    page = client_for(world.core).get(f"/visits/{visit.pk}/").content.decode()
    assert "Peer review visit: Specialised lung service" in page
    assert "The peer review team (held online)" in page
    assert "observation" not in page.lower()
    for path in ("edit/", "poll/new/", "live/", "attendance/", "notes/"):
        assert client_for(world.core).get(f"/visits/{visit.pk}/{path}").status_code == 200
        for person in (world.member, world.lead_reviewer, world.outsider):
            assert client_for(person).get(f"/visits/{visit.pk}/{path}").status_code == 404
    edit = client_for(world.core).get(f"/visits/{visit.pk}/edit/").content.decode()
    assert "Joining details" in edit
    # The agenda is the one-way programme's default: the review day.
    agenda = client_for(world.lead_reviewer).get(f"/visits/{visit.pk}/agenda/").content.decode()
    assert REVIEW_AGENDA[0].title in agenda
    # The observation form is a reciprocal visit's: 404 for everyone.
    for person in readers:
        for path in ("observation/", "observations/"):
            assert client_for(person).get(f"/visits/{visit.pk}/{path}").status_code == 404
    core = client_for(world.core)
    with django_assert_max_num_queries(30):
        assert core.get(f"/visits/{visit.pk}/").status_code == 200


def test_the_day_and_happened_for_a_review_visit(world):
    visit = add_visit(world)
    services.visit_choose_date(visit=visit, date=datetime.date(2026, 3, 3), user=world.core)
    services.visit_confirm(visit=visit, user=world.core, start_time=datetime.time(9),
                           end_time=datetime.time(16), venue="Online", directions="")
    core = client_for(world.core)
    assert core.get(f"/visits/{visit.pk}/live/").status_code == 200
    with time_machine.travel(datetime.datetime(2026, 3, 3, 17, tzinfo=datetime.UTC),
                             tick=False):
        response = client_for(world.core).post(f"/visits/{visit.pk}/happened/")
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Visit.Status.HAPPENED
    # The reviewers write the visiting team's feedback; the service member the host's.
    summary = client_for(world.lead_reviewer).get(f"/visits/{visit.pk}/summary/")
    assert summary.status_code == 200


def test_a_reviewer_not_on_the_list_can_be_added_in_their_review_role(world):
    visit = add_visit(world)
    visit.attendees.filter(user=world.patient_reviewer).delete()
    member = ReviewTeamMember.objects.get(reviewer__user=world.patient_reviewer)
    page = client_for(world.core).get(f"/visits/{visit.pk}/").content.decode()
    assert "Add a reviewer from the review team" in page
    client_for(world.core).post(f"/visits/{visit.pk}/attendees/add/",
                                {"team_member": member.pk})
    assert visit.attendees.get(user=world.patient_reviewer).role == "patient_reviewer"
    response = client_for(world.core).post(f"/visits/{visit.pk}/attendees/add/",
                                           {"team_member": "x"})
    assert response.status_code == 302


# --- the pure rule ---------------------------------------------------------------------------


def test_a_review_visit_needs_the_host_minimum_and_its_lead_reviewer():
    host = [("host", "clinical_lead"), ("host", "cns"), ("host", "mdt_coordinator")]
    minimum = ["clinical_lead", "cns", "mdt_coordinator"]
    assert missing_roles([*host, ("visiting", "lead_reviewer"), ("facilitator", "x")],
                         minimum, visiting=REVIEW_VISITING_ROLES) == []
    assert missing_roles([*host, ("visiting", "clinical_peer"), ("facilitator", "x")],
                         minimum, visiting=REVIEW_VISITING_ROLES) == [
        "visiting team: lead reviewer"]
    # Without ``visiting`` the reciprocal rule is unchanged: both teams need every role.
    assert missing_roles([*host, ("facilitator", "x")], minimum) == [
        "visiting team: clinical lead", "visiting team: clinical nurse specialist",
        "visiting team: MDT coordinator"]
    with pytest.raises(ValueError):
        missing_roles(host, minimum, visiting=["chief_reviewer"])

