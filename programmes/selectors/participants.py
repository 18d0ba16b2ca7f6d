"""Who takes part in a programme: the one rule behind its events, directory, role groups and
library.

A participant is a member of the core team, or a current member of a site in the programme's
intervention arm. Control-arm sites are left out on purpose: meeting intervention teams,
reading their plans or joining their workshops would contaminate the comparison the
programme's evaluation rests on (as for the plan library). Sites not yet allocated, and
withdrawn sites, are not participants either.
"""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from ilcop.models import User

from ..models import CoreTeamMembership, Enrolment, Programme, Site, SiteMembership

PARTICIPATING_STATUSES = (Enrolment.Status.INTERVENTION,)


def participant_programmes(user: User) -> QuerySet[Programme]:
    """Programmes in which this person is a participant."""
    if not user.is_authenticated:
        return Programme.objects.none()
    return Programme.objects.filter(
        Q(core_team__user=user)
        | Q(enrolments__status__in=PARTICIPATING_STATUSES,
            enrolments__site__memberships__user=user,
            enrolments__site__memberships__ended_at__isnull=True)
    ).distinct()


def programme_for_participant(user: User, pk: int) -> Programme:
    """The programme, if this person takes part in it; a 404 otherwise."""
    return get_object_or_404(participant_programmes(user), pk=pk)


def is_participant(user: User, programme: Programme) -> bool:
    return participant_programmes(user).filter(pk=programme.pk).exists()


def is_core_team(user: User, programme: Programme) -> bool:
    return user.is_authenticated and CoreTeamMembership.objects.filter(
        programme=programme, user=user).exists()


def participant_sites(programme: Programme) -> QuerySet[Site]:
    return Site.objects.filter(enrolments__programme=programme,
                               enrolments__status__in=PARTICIPATING_STATUSES)


def participant_memberships(programme: Programme) -> QuerySet[SiteMembership]:
    """Current site memberships of the programme's participating sites (a person in two of
    them appears twice, once per site)."""
    return (SiteMembership.objects.current()
            .filter(site__in=participant_sites(programme))
            .select_related("user", "site__organisation"))
