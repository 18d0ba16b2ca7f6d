"""One of everything, for the permission matrix (tests/test_permission_matrix.py).

A programme with three intervention sites: ``site`` hosts a visit from its partner
``partner`` (a confirmed pair), and ``unrelated`` is in the same programme but not paired
with either. Every URL of the project can be filled in from ``World.ids``.

The people, each the most senior of their kind, so the matrix tests the ceiling of what a
kind of person may do:

- ``core``: the programme's core team (project manager);
- ``other_core``: the core team of another programme;
- ``facilitator``: a quality improvement facilitator in the programme's core team, the
  visit's assigned facilitator (programmes.models.core.CoreTeamMembership.Role);
- ``site_member``: the clinical lead of the host site (a lead manages their team);
- ``partner_member``: the clinical lead of the visiting (partner) site;
- ``unrelated_member``: the clinical lead of the third site;
- ``anonymous``: nobody signed in.

Objects are made through the services where the services make them (a plan, a survey and
its response, the agenda), and directly where a test needs a state the services only reach
through a long journey (a visit that has happened, a pairing both confirmed and reproposed).
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.utils import timezone

from ilcop.models import User
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Indicator,
    Invitation,
    Pair,
    Pairing,
    PairingConflict,
    Programme,
    Randomisation,
    SiteMembership,
)
from programmes.services import invitations as invitation_services
from programmes.services import survey as survey_services
from qips.models import Driver, Measure, PdsaCycle, ReviewComment
from qips.services import plans as plan_services
from visits.models import (
    AvailabilityPoll,
    Event,
    FocusArea,
    LogisticsTask,
    PollDate,
    PollInvitee,
    Visit,
    VisitAttendee,
    VisitReport,
)
from visits.services import day as day_services
from visits.services import polls as poll_services

from .factories import (
    CoreTeamMembershipFactory,
    EnrolmentFactory,
    ProgrammeFactory,
    SiteMembershipFactory,
    UserFactory,
)

PEOPLE = ("core", "other_core", "facilitator", "site_member", "partner_member",
          "unrelated_member", "anonymous")


@dataclass
class World:
    people: dict[str, User | None]
    ids: dict[str, object] = field(default_factory=dict)
    staff: User | None = None


def build_world() -> World:
    programme = ProgrammeFactory(name="Lung Cancer Peer Review 2026")
    site, partner, unrelated = (
        EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION).site
        for _ in range(3))
    core = CoreTeamMembershipFactory(programme=programme,
                                     role=CoreTeamMembership.Role.PROJECT_MANAGER).user
    facilitator = CoreTeamMembershipFactory(
        programme=programme, role=CoreTeamMembership.Role.QI_FACILITATOR).user
    other_core = CoreTeamMembershipFactory().user
    lead = SiteMembership.Role.CLINICAL_LEAD
    site_member = SiteMembershipFactory(site=site, role=lead).user
    partner_member = SiteMembershipFactory(site=partner, role=lead).user
    unrelated_member = SiteMembershipFactory(site=unrelated, role=lead).user
    colleague = SiteMembershipFactory(site=site, role=SiteMembership.Role.CNS)
    world = World(people={
        "core": core, "other_core": other_core, "facilitator": facilitator,
        "site_member": site_member, "partner_member": partner_member,
        "unrelated_member": unrelated_member, "anonymous": None,
    }, staff=UserFactory(is_staff=True, is_superuser=True))
    now = timezone.now()
    today = timezone.localdate()

    # Allocation: a randomisation run and the confirmed pairing.
    randomisation = Randomisation.objects.create(programme=programme, seed=1,
                                                 intervention_count=0, allocation={})
    # A programme has one pairing; tests that need it open for changes call reopen_pairing.
    pairing = Pairing.objects.create(programme=programme, status=Pairing.Status.CONFIRMED)
    pair = Pair.objects.create(pairing=pairing, site_a=site, site_b=partner)
    conflict = PairingConflict.objects.create(programme=programme, site_a=site,
                                              site_b=unrelated, reason="Same consultants")
    indicator = Indicator.objects.create(programme=programme, code="HISTO", name="Histology",
                                         source="NLCA", is_headline=True)

    # Invitations: one to the site's team (pending), one to the core team, and a newcomer's
    # link to accept.
    site_invitation = Invitation.objects.create(
        programme=programme, site=site, email="new.cns@trust.example", full_name="New CNS",
        site_role="cns", invited_by=site_member)
    core_invitation = Invitation.objects.create(
        programme=programme, email="new@core.example", full_name="New Core",
        core_role="administrator", invited_by=core)

    # The visit: the partner came to the site yesterday, with the facilitator.
    visit = Visit.objects.create(
        programme=programme, host=site, visitor=partner, pair=pair,
        status=Visit.Status.HAPPENED, date=today - datetime.timedelta(days=1),
        start_time=datetime.time(9), end_time=datetime.time(16), facilitator=facilitator)
    attendee = VisitAttendee.objects.create(visit=visit, user=site_member, team="host",
                                            role=lead)
    VisitAttendee.objects.create(visit=visit, user=partner_member, team="visiting", role=lead)
    VisitAttendee.objects.create(visit=visit, user=facilitator, team="facilitator",
                                 role="facilitator")
    # The data pack is marked ready, so the visiting team may read it.
    task = LogisticsTask.objects.create(visit=visit, kind=LogisticsTask.Kind.DATA_PACK,
                                        owner=core, days_before=14, done_at=now,
                                        done_by=core)
    poll = AvailabilityPoll.objects.create(
        visit=visit, window_start=today, window_end=today + datetime.timedelta(days=28),
        deadline=now + datetime.timedelta(days=7), created_by=core)
    PollDate.objects.create(poll=poll, date=today + datetime.timedelta(days=14))
    invitee = PollInvitee.objects.create(poll=poll, user=site_member, team="host", role=lead,
                                         nonce=uuid.uuid4().hex)
    agenda = day_services.visit_agenda_ensure(visit=visit, user=core)
    focus_area = FocusArea.objects.create(visit=visit, title="Faster diagnosis",
                                          owner=site_member, created_by=core)
    report = VisitReport.objects.create(visit=visit, version=1, html="<p>Report</p>",
                                        pdf=b"%PDF-1.7", generated_at=now)

    # The site's plan, a draft shared with nobody.
    plan = plan_services.plan_create(programme=programme, site=site, user=site_member,
                                     title="Faster diagnosis")
    measure = Measure.objects.create(plan=plan, kind="outcome", name="Seen in 14 days",
                                     numerator="n", data_source="log", direction="increase")
    primary = Driver.objects.create(plan=plan, kind="primary", text="Quicker tests")
    secondary = Driver.objects.create(plan=plan, kind="secondary", parent=primary,
                                      text="Book scans early")
    idea = Driver.objects.create(plan=plan, kind="change_idea", parent=secondary,
                                 text="Nurse-led requests")
    cycle = PdsaCycle.objects.create(plan=plan, change_idea=idea, title="Try it for a week",
                                     question="Faster?", prediction="Yes")
    review_comment = ReviewComment.objects.create(plan=plan, field="aim", text="Sharper",
                                                  author=core)

    # The patient survey, with a patient's comment waiting for the core team's review.
    survey = survey_services.survey_create(programme=programme, user=core)
    collection = survey_services.collection_for(survey=survey, site=site)
    comment_question = survey.questions.get(code="IMPROVE")
    response, _ = survey_services.response_submit(
        collection=collection, answers={comment_question.pk: "More parking"},
        submission_key=uuid.uuid4(), mode="online")

    # Event polls: a draft workshop whose date is being found with a poll, and a draft
    # conference not yet polled.
    polled_event = Event.objects.create(programme=programme, kind=Event.Kind.WORKSHOP,
                                        title="Spring workshop", created_by=core)
    event_poll = AvailabilityPoll.objects.create(
        event=polled_event, window_start=today + datetime.timedelta(days=30),
        window_end=today + datetime.timedelta(days=60),
        deadline=now + datetime.timedelta(days=14), created_by=core)
    PollDate.objects.create(poll=event_poll, date=today + datetime.timedelta(days=35))
    undated_event = Event.objects.create(programme=programme, kind=Event.Kind.CONFERENCE,
                                         title="Autumn conference", created_by=core)
    world.ids.update({"event_poll_event": polled_event.pk,
                      "event_poll_undated": undated_event.pk})

    # Event replies and materials: an announced workshop in three weeks, to which the core
    # team and both visit sites' leads are invited (the facilitator and the unrelated site's
    # lead are not), with one document (its file is written by put_event_material_file).
    from visits.models import EventInvitation, EventMaterial

    replied_event = Event.objects.create(
        programme=programme, kind=Event.Kind.WORKSHOP, title="Summer workshop",
        status=Event.Status.ANNOUNCED, date=today + datetime.timedelta(days=21),
        start_time=datetime.time(10), end_time=datetime.time(15), created_by=core)
    for person, where, role in ((core, None, "core_team"), (site_member, site, lead),
                                (partner_member, partner, lead)):
        EventInvitation.objects.create(event=replied_event, user=person, site=where, role=role)
    event_material = EventMaterial.objects.create(
        event=replied_event, title="Pre-reading", file="events/matrix.pdf",
        filename="pre-reading.pdf", size=9)
    world.ids.update({"reply_event": replied_event.pk, "event_material": event_material.pk})
    # Events (visits.views_events): a session on that workshop's agenda.
    from visits.models import EventSession

    world.ids["event_session"] = EventSession.objects.create(
        event=replied_event, title="Welcome", start_time=datetime.time(10),
        end_time=datetime.time(11)).pk

    # The resource library: one resource with a file (written by put_resource_file) and one
    # that is only a link.
    from programmes.models import Resource

    resource = Resource.objects.create(
        programme=programme, title="Preparing for your visit", after_visit=True,
        file="resources/matrix.pdf", filename="preparing.pdf", size=9, created_by=core)
    link_resource = Resource.objects.create(
        programme=programme, title="Sustainable improvement", sustaining=True,
        link="https://www.england.nhs.uk/sustainableimprovement/", created_by=core)
    world.ids.update({"resource": resource.pk, "link_resource": link_resource.pk})

    # Role groups: an email the core team sent the clinical leads, the site lead's opt-out of
    # the CNS group, and the unsubscribe link their emails carry.
    from programmes.models import GroupMessage, RoleGroupOptOut
    from programmes.services.groups import unsubscribe_token

    group_message = GroupMessage.objects.create(
        programme=programme, roles=[lead], subject="Spring workshop", body="Save the date",
        sent_by=core, recipient_count=3)
    role_group_opt_out = RoleGroupOptOut.objects.create(user=site_member, programme=programme,
                                                        role=SiteMembership.Role.CNS)
    world.ids.update({"role_group_message": group_message.pk,
                      "role_group_opt_out": role_group_opt_out.pk,
                      "role_group_unsubscribe_token": unsubscribe_token(
                          site_member, programme, [lead])})

    other_programme = Programme.objects.exclude(pk=programme.pk).get()
    # One-way review programmes (issue 12): tests/matrix_world_one_way.py.
    from .matrix_world_one_way import build_one_way_world

    build_one_way_world(world, site=site, partner=partner, unrelated=unrelated)

    world.ids.update({
        "programme": programme.pk, "site": site.pk, "partner": partner.pk,
        "enrolment": Enrolment.objects.get(programme=programme, site=site).pk,
        "membership": colleague.pk, "indicator": indicator.pk,
        "randomisation": randomisation.pk, "pairing": pairing.pk, "pair": pair.pk,
        "conflict": conflict.pk,
        "site_invitation": site_invitation.pk, "core_invitation": core_invitation.pk,
        "invitation_token": invitation_services.invitation_token(site_invitation),
        "visit": visit.pk, "attendee": attendee.pk, "task": task.pk,
        "agenda_item": agenda[0].pk, "focus_area": focus_area.pk,
        "report_version": report.version,
        "poll_token": poll_services.poll_token(invitee),
        "plan": plan.pk, "measure": measure.pk, "driver": primary.pk, "cycle": cycle.pk,
        "review_comment": review_comment.pk,
        "question": comment_question.pk, "answer": response.answers.get().pk,
        "survey_code": collection.code,
        "staff": world.staff.pk, "person": site_member.pk,
        "other_programme": other_programme.pk,
    })
    return world


def reopen_pairing(world: World) -> None:
    """The pairing as the core team has it after reopening it: proposed, open for changes."""
    Pairing.objects.filter(pk=world.ids["pairing"]).update(status=Pairing.Status.PROPOSED)


def put_event_material_file(world: World) -> None:
    """The event document's file, in this test's media folder (tests/conftest.py gives each
    test its own, after the world is built)."""
    from django.core.files.base import ContentFile

    from visits.models import EventMaterial

    material = EventMaterial.objects.get(pk=world.ids["event_material"])
    material.file.save("pre-reading.pdf", ContentFile(b"%PDF-1.4\n"), save=True)


def put_resource_file(world: World) -> None:
    """The library resource's file, in this test's media folder (each test has its own)."""
    from django.core.files.base import ContentFile

    from programmes.models import Resource

    resource = Resource.objects.get(pk=world.ids["resource"])
    resource.file.save("preparing.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
