"""Not tests: the world the action plan and shared learning tests build. A small one-way
programme: a service under review (``member``), its lead reviewer (``reviewer``), another
service in the programme (``other_member``), the core team (``core``), and an outsider."""

import datetime
from dataclasses import dataclass

from ilcop.models import User
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Programme,
    Reviewer,
    Site,
    SiteMembership,
    Standard,
)
from visits.models import PeerReview, ReviewTeamMember, StandardFinding

from .factories import (
    CoreTeamMembershipFactory,
    ProgrammeFactory,
    SiteFactory,
    SiteMembershipFactory,
    UserFactory,
)


@dataclass
class OneWay:
    programme: Programme
    service: Site
    other_service: Site
    review: PeerReview
    standards: list[Standard]
    core: User
    member: User
    other_member: User
    reviewer: User
    outsider: User


def build(*, findings: bool = True) -> OneWay:
    programme = ProgrammeFactory(name="Specialised Lung Services Review",
                                 kind=Programme.Kind.ONE_WAY)
    core = CoreTeamMembershipFactory(programme=programme,
                                     role=CoreTeamMembership.Role.PROJECT_MANAGER,
                                     user__full_name="Priya Manager").user
    service = SiteFactory(name="Specialised lung service")
    other_service = SiteFactory(name="Thoracic surgery service")
    for site in (service, other_service):
        Enrolment.objects.create(programme=programme, site=site,
                                 status=Enrolment.Status.APPROVED)
    member = SiteMembershipFactory(site=service, role=SiteMembership.Role.CLINICAL_LEAD,
                                   user__full_name="Dr Sam Service").user
    other_member = SiteMembershipFactory(site=other_service,
                                         role=SiteMembership.Role.CLINICAL_LEAD).user
    reviewer_user = UserFactory(full_name="Dr Rita Reviewer")
    reviewer = Reviewer.objects.create(programme=programme, user=reviewer_user,
                                       region="london", profession="doctor")
    standards = [Standard.objects.create(programme=programme, code=f"S{n}", order=n,
                                         title=title)
                 for n, title in enumerate(["Every new patient is discussed at the MDT",
                                            "Patients have a named key worker",
                                            "The MDT audits its survival"], start=1)]
    review = PeerReview.objects.create(programme=programme, site=service, created_by=core)
    ReviewTeamMember.objects.create(review=review, reviewer=reviewer, is_lead=True)
    if findings:
        add_findings(review, standards, reviewer_user)
    return OneWay(programme, service, other_service, review, standards, core, member,
                  other_member, reviewer_user, UserFactory())


def add_findings(review: PeerReview, standards: list[Standard], by: User) -> None:
    Rating = StandardFinding.Rating
    StandardFinding.objects.create(
        review=review, standard=standards[0], rating=Rating.PARTLY_MET,
        evidence="Two in ten patients were not discussed",
        recommendation="Add a pre-MDT triage list so that every new patient is listed",
        good_practice="A chair's checklist read out at the start of every meeting",
        recorded_by=by)
    StandardFinding.objects.create(
        review=review, standard=standards[1], rating=Rating.MET,
        evidence="Every patient had a key worker", good_practice="Key worker cards",
        recorded_by=by)
    StandardFinding.objects.create(
        review=review, standard=standards[2], rating=Rating.NOT_MET,
        evidence="No audit since 2021", recommendation="", recorded_by=by)


def today() -> datetime.date:
    from django.utils import timezone

    return timezone.localdate()
