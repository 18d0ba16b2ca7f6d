"""The demo's directory and role groups: most people listed, one email to the CNSs, and one
CNS who asked not to get the optional ones.

Deterministic (no random numbers): the n-th participant by site and name always gets the same
listing, so the demo reads the same every time it is built. Safe to run twice.
"""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ilcop.models import Notification
from ilcop.notifications import absolute_url

from .models import (
    CoreTeamMembership,
    DirectoryListing,
    GroupMessage,
    Programme,
    RoleGroupOptOut,
    SiteMembership,
)
from .selectors.participants import participant_memberships

Role = SiteMembership.Role

JOB_TITLES = {
    Role.CLINICAL_LEAD: ["Consultant respiratory physician", "Consultant chest physician",
                         "Lung cancer lead clinician"],
    Role.CNS: ["Lung cancer clinical nurse specialist", "Lead lung CNS",
               "Macmillan lung cancer CNS"],
    Role.MDT_COORDINATOR: ["Lung MDT coordinator", "Senior MDT coordinator"],
    Role.OTHER_CLINICIAN: ["Consultant thoracic surgeon", "Consultant clinical oncologist",
                           "Consultant radiologist"],
    Role.MANAGER: ["Cancer services manager", "Directorate manager, cancer"],
    Role.EXECUTIVE_SPONSOR: ["Deputy chief operating officer", "Medical director"],
}

INTERESTS = {
    Role.CLINICAL_LEAD: ["Running a pre-MDT huddle so the meeting discusses fewer cases",
                         "Straight-to-CT pathways from primary care",
                         "Getting pathology turnaround under ten days"],
    Role.CNS: ["CNS-led follow-up clinics", "Seeing every patient at diagnosis: how we "
               "rearranged clinic rotas", "Holistic needs assessments that actually happen"],
    Role.MDT_COORDINATOR: ["Tracking patients against the 62-day target",
                           "Preparing the MDT list the day before"],
    Role.OTHER_CLINICIAN: ["Lobectomy rates in older patients",
                           "Stereotactic radiotherapy referrals"],
    Role.MANAGER: ["Business cases for extra CNS posts", "Capacity and demand for bronchoscopy"],
    Role.EXECUTIVE_SPONSOR: ["Making the case for peer review to the trust board"],
}

MESSAGE_SUBJECT = "CNS breakout at the spring workshop: share your follow-up clinic"
MESSAGE_BODY = """The spring workshop will have a breakout for CNSs only, on nurse-led follow-up.

If your team runs a CNS-led follow-up clinic, or is setting one up, we would love you to bring
one slide on how it works and what you would do differently.

Reply to this email by the end of the month if you can share yours."""


def _phone(n: int) -> str:
    return f"0{113 + n % 80} {496 + n % 400:03d} {1000 + (n * 37) % 9000:04d}"


@transaction.atomic
def build_demo_community(programme: Programme) -> None:
    now = timezone.now()
    memberships = list(participant_memberships(programme).order_by(
        "site__organisation__name", "site__name", "user__full_name", "pk"))
    people: dict[int, SiteMembership] = {}
    for membership in memberships:
        people.setdefault(membership.user_id, membership)
    existing = set(DirectoryListing.objects.filter(user_id__in=people).values_list(
        "user_id", flat=True))
    listings = []
    for n, membership in enumerate(people.values()):
        if membership.user_id in existing:
            continue
        titles, topics = JOB_TITLES[membership.role], INTERESTS[membership.role]
        listed = n % 3 != 2  # about two thirds
        listings.append(DirectoryListing(
            user_id=membership.user_id, listed=listed,
            job_title=titles[n % len(titles)] if listed else "",
            show_email=listed and n % 2 == 0,
            phone=_phone(n) if listed and n % 3 == 0 else "",
            show_phone=listed and n % 3 == 0,
            interests=topics[n % len(topics)] if listed else "",
            updated_at=now - datetime.timedelta(days=n % 40)))
    # The core team's clinical lead and facilitator are listed too, as "Core team".
    for membership in CoreTeamMembership.objects.filter(
            programme=programme, role__in=["clinical_lead", "qi_facilitator"]).exclude(
            user_id__in=existing).select_related("user"):
        listings.append(DirectoryListing(
            user=membership.user, listed=True, show_email=True,
            job_title=membership.user.job_title or membership.get_role_display(),
            interests="Anything about the programme, the visits or the workshops",
            updated_at=now))
    DirectoryListing.objects.bulk_create(listings, ignore_conflicts=True)

    cnss = [m.user for m in people.values() if m.role == Role.CNS]
    if not cnss or programme.group_messages.filter(subject=MESSAGE_SUBJECT).exists():
        return
    sent_at = now - datetime.timedelta(days=9)
    sender = CoreTeamMembership.objects.filter(programme=programme).order_by("pk").first()
    message = GroupMessage.objects.create(
        programme=programme, roles=[Role.CNS], subject=MESSAGE_SUBJECT, body=MESSAGE_BODY,
        sent_by=sender.user if sender else None, sent_at=sent_at, recipient_count=len(cnss))
    # The ledger rows the send would have written: they are the record of who it reached.
    url = absolute_url(reverse("programmes:directory", args=[programme.pk]))
    content_type = ContentType.objects.get_for_model(GroupMessage)
    Notification.objects.bulk_create(
        [Notification(kind="group_message", content_type=content_type, object_id=message.pk,
                      recipient=user, due_on=timezone.localdate(sent_at),
                      programme_name=programme.name, summary=MESSAGE_SUBJECT, url=url,
                      created_at=sent_at, sent_at=sent_at) for user in cnss],
        ignore_conflicts=True)
    RoleGroupOptOut.objects.get_or_create(user=cnss[-1], programme=programme, role=Role.CNS,
                                          defaults={"created_at": sent_at
                                                    + datetime.timedelta(days=1)})
