"""Reads, and the scoping rules behind every page.

The core team of a programme sees all of it. A site member sees their own site. Anyone else
gets a 404 (not a 403), so the existence of someone else's record is not given away.
"""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from ilcop.models import User

from .. import funnel
from ..models import (
    CoreTeamMembership,
    Enrolment,
    Invitation,
    Programme,
    RegionalHubMembership,
    Reviewer,
    Site,
    SiteMembership,
)
from .participants import participating_enrolments


def core_programmes(user: User) -> QuerySet[Programme]:
    if not user.is_authenticated:
        return Programme.objects.none()
    return Programme.objects.filter(core_team__user=user)


def programme_for_core_team(user: User, pk: int) -> Programme:
    return get_object_or_404(core_programmes(user), pk=pk)


def can_create_programme(user: User) -> bool:
    """Only platform staff set up programmes: a new programme's core team sees its sites."""
    return user.is_authenticated and user.is_staff


def visible_sites(user: User) -> QuerySet[Site]:
    if not user.is_authenticated:
        return Site.objects.none()
    return Site.objects.filter(
        Q(enrolments__programme__core_team__user=user)
        | Q(memberships__user=user, memberships__ended_at__isnull=True)
    ).distinct()


def site_for_user(user: User, pk: int) -> Site:
    return get_object_or_404(visible_sites(user).select_related("organisation"), pk=pk)


def is_core_team_for_site(user: User, site: Site) -> bool:
    return CoreTeamMembership.objects.filter(
        user=user, programme__enrolments__site=site
    ).exists()


def can_manage_site_team(user: User, site: Site) -> bool:
    """The site's clinical lead manages their own team; the core team may help."""
    return (
        SiteMembership.objects.current()
        .filter(site=site, user=user, role=SiteMembership.Role.CLINICAL_LEAD)
        .exists()
        or is_core_team_for_site(user, site)
    )


def funnel_counts(programme: Programme) -> funnel.FunnelCounts:
    rows = (
        Enrolment.objects.filter(programme=programme)
        .values_list("status", "withdrawn_from")
        .annotate(n=Count("id"))
        .order_by()
    )
    return funnel.count_funnel(rows)


def enrolments_for_list(
    programme: Programme, *, status: str = "", reached: str = "", region: str = "",
    query: str = "",
) -> QuerySet[Enrolment]:
    enrolments = Enrolment.objects.filter(programme=programme).select_related(
        "site__organisation"
    )
    if status:
        enrolments = enrolments.filter(status=status)
    if reached:
        statuses = funnel.statuses_reaching(reached)
        enrolments = enrolments.filter(
            Q(status__in=statuses)
            | Q(status=Enrolment.Status.WITHDRAWN, withdrawn_from__in=statuses)
        )
    if region:
        enrolments = enrolments.filter(site__organisation__region=region)
    if query:
        enrolments = enrolments.filter(
            Q(site__name__icontains=query)
            | Q(site__code__icontains=query)
            | Q(site__organisation__name__icontains=query)
            | Q(site__organisation__code__icontains=query)
        )
    return enrolments


def site_team(site: Site) -> QuerySet[SiteMembership]:
    return SiteMembership.objects.current().filter(site=site).select_related("user")


def pending_invitations(*, programme: Programme | None = None,
                        site: Site | None = None) -> QuerySet[Invitation]:
    invitations = Invitation.objects.filter(status=Invitation.Status.PENDING).select_related(
        "invited_by"
    )
    if site is not None:
        return invitations.filter(site=site)
    return invitations.filter(programme=programme, site__isnull=True)


def site_enrolments(site: Site) -> QuerySet[Enrolment]:
    return (
        Enrolment.objects.filter(site=site).select_related("programme")
        .order_by("-programme__start_date", "programme__name")
    )


def is_site_member(user: User, site: Site) -> bool:
    return SiteMembership.objects.current().filter(site=site, user=user).exists()


def site_enrolments_for(user: User, site: Site) -> list[Enrolment]:
    """The site's enrolments this person may see.

    The site's own team sees every programme it is in. A core team sees only its own
    programme's enrolment: another programme's approvals and reasons are not theirs to read.
    """
    enrolments = list(site_enrolments(site))
    if is_site_member(user, site):
        return enrolments
    core_ids = set(core_programmes(user).values_list("pk", flat=True))
    return [e for e in enrolments if e.programme_id in core_ids]


def current_programme_for_site(user: User, site: Site) -> Programme | None:
    """The newest visible programme the site is still in (or, failing that, the newest)."""
    enrolments = site_enrolments_for(user, site)
    current = [e for e in enrolments if not e.is_withdrawn] or enrolments
    return current[0].programme if current else None


def programme_core_team(programme: Programme) -> QuerySet[CoreTeamMembership]:
    return CoreTeamMembership.objects.filter(programme=programme).select_related("user")


def home_context(user: User) -> dict:
    """What a person's home page needs: their programmes and their sites."""
    core = list(
        CoreTeamMembership.objects.filter(user=user).select_related("programme")
        .order_by("-programme__start_date")
    )
    memberships = list(
        SiteMembership.objects.current().filter(user=user)
        .select_related("site__organisation")
        .prefetch_related(
            Prefetch("site__enrolments", queryset=Enrolment.objects.select_related("programme"))
        )
    )
    # Where a site team finds its programmes' events, directory and library (issue 11). The
    # core team reaches them from the programme's page.
    core_ids = {membership.programme_id for membership in core}
    taking_part = [programme for programme in Programme.objects.filter(
        pk__in=Enrolment.objects.filter(
            participating_enrolments(), site__memberships__user=user,
            site__memberships__ended_at__isnull=True).values("programme_id"),
    ).order_by("-start_date") if programme.pk not in core_ids]
    # Regional hubs (one-way review programmes): people who analyse a group of services'
    # self-reports, often with no site or core team of their own.
    hubs = list(RegionalHubMembership.objects.filter(user=user).select_related("hub__programme")
                .order_by("hub__name"))
    # The reviewer pools a person is in: a reviewer may have no team of their own.
    reviewer_roles = list(Reviewer.objects.filter(user=user).select_related("programme")
                          .order_by("programme__name"))
    return {"core_memberships": core, "site_memberships": memberships,
            "learning_programmes": taking_part, "hub_memberships": hubs,
            "reviewer_roles": reviewer_roles}


@dataclass(frozen=True)
class ExportScope:
    programme: Programme
    # None: the whole programme. Otherwise the only sites whose rows may be exported.
    sites: QuerySet[Site] | None

    @property
    def whole_programme(self) -> bool:
        return self.sites is None


def export_scope(user: User, pk: int) -> ExportScope:
    """Whose rows a person may export from a programme (ilcop.exports): its core team all
    of them; a current member of a site enrolled in it (at any stage) their own site's,
    or sites' if they belong to more than one; anyone else gets a 404."""
    if not user.is_authenticated:
        raise Http404
    programme = core_programmes(user).filter(pk=pk).first()
    if programme is not None:
        return ExportScope(programme=programme, sites=None)
    sites = Site.objects.filter(enrolments__programme_id=pk, memberships__user=user,
                                memberships__ended_at__isnull=True)
    programme = get_object_or_404(Programme.objects.filter(enrolments__site__in=sites).distinct(),
                                  pk=pk)
    return ExportScope(programme=programme, sites=sites)
