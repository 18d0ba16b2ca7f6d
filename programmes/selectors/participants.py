"""Who takes part in a programme: the one rule behind its events, directory, role groups and
library.

A participant is a member of the core team, or a current member of a site in the programme's
intervention arm. Control-arm sites are left out on purpose: meeting intervention teams,
reading their plans or joining their workshops would contaminate the comparison the
programme's evaluation rests on (as for the plan library). Sites not yet allocated, and
withdrawn sites, are not participants either.

A one-way review programme has no arms and nothing to contaminate: every service enrolled in
it takes part unless it withdrew or was found ineligible, so its teams share good practice and
come to its events (seed 003: learning was not shared between providers).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from ilcop.models import User

from ..models import CoreTeamMembership, Enrolment, Programme, Site, SiteMembership

PARTICIPATING_STATUSES = (Enrolment.Status.INTERVENTION,)
ONE_WAY_PARTICIPATING_STATUSES = (Enrolment.Status.INTERESTED, Enrolment.Status.APPROVED,
                                  Enrolment.Status.ELIGIBLE, Enrolment.Status.INTERVENTION)


def participating_enrolments(prefix: str = "") -> Q:
    """The enrolments whose site's members take part, as a filter on Enrolment (or, with
    ``prefix`` such as "enrolments__", on a model that reaches it)."""
    return (Q(**{f"{prefix}programme__kind": Programme.Kind.RECIPROCAL,
                 f"{prefix}status__in": PARTICIPATING_STATUSES})
            | Q(**{f"{prefix}programme__kind": Programme.Kind.ONE_WAY,
                   f"{prefix}status__in": ONE_WAY_PARTICIPATING_STATUSES}))


def participating_statuses(programme: Programme) -> tuple[str, ...]:
    if programme.kind == Programme.Kind.ONE_WAY:
        return ONE_WAY_PARTICIPATING_STATUSES
    return PARTICIPATING_STATUSES


def participant_programmes(user: User) -> QuerySet[Programme]:
    """Programmes in which this person is a participant."""
    if not user.is_authenticated:
        return Programme.objects.none()
    taking_part = Enrolment.objects.filter(
        participating_enrolments(), site__memberships__user=user,
        site__memberships__ended_at__isnull=True).values("programme_id")
    return Programme.objects.filter(Q(core_team__user=user) | Q(pk__in=taking_part)).distinct()


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
                               enrolments__status__in=participating_statuses(programme))


def participant_memberships(programme: Programme) -> QuerySet[SiteMembership]:
    """Current site memberships of the programme's participating sites (a person in two of
    them appears twice, once per site)."""
    return (SiteMembership.objects.current()
            .filter(site__in=participant_sites(programme))
            .select_related("user", "site__organisation"))


CORE_TEAM_ROLE = "core_team"
# Every role someone can be reached through, in the order lists show them.
AUDIENCE_ROLE_LABELS = {CORE_TEAM_ROLE: "Core team", **dict(SiteMembership.Role.choices)}


def audience_role_label(role: str) -> str:
    """A role an invitation or email reached someone through, in words."""
    return AUDIENCE_ROLE_LABELS.get(role, role.replace("_", " ").capitalize())


@dataclass(frozen=True)
class AudienceMember:
    """Someone an event invitation, a poll or a group email goes to, with the site and role
    it reaches them through (site None and role CORE_TEAM_ROLE for the core team)."""

    user: User
    site: Site | None
    role: str


def participant_audience(programme: Programme, *, roles: Iterable[str] = (),
                         site_ids: Iterable[int] = (),
                         include_core_team: bool = False) -> list[AudienceMember]:
    """The programme's participants narrowed by role and by site: roles alone is "every CNS
    in the programme", sites alone "everyone at these sites", both "the CNSs at these sites",
    neither the whole programme. Only active accounts; each person once, through their first
    site (by organisation and site name) when they belong to two."""
    roles, site_ids = list(roles), list(site_ids)
    memberships = participant_memberships(programme).filter(user__is_active=True)
    if roles:
        memberships = memberships.filter(role__in=roles)
    if site_ids:
        memberships = memberships.filter(site_id__in=site_ids)
    seen: set[int] = set()
    audience: list[AudienceMember] = []
    if include_core_team:
        for membership in (CoreTeamMembership.objects.filter(programme=programme,
                                                             user__is_active=True)
                           .select_related("user").order_by("user__full_name")):
            seen.add(membership.user_id)
            audience.append(AudienceMember(membership.user, None, CORE_TEAM_ROLE))
    for membership in memberships.order_by("site__organisation__name", "site__name", "role",
                                           "user__full_name"):
        if membership.user_id not in seen:
            seen.add(membership.user_id)
            audience.append(AudienceMember(membership.user, membership.site, membership.role))
    return audience
