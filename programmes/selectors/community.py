"""Reads for the programme directory and the role groups (PRODUCT.md, 6: learn together).

Who is a participant is decided in `participants`; here is who of them shows in the
directory (only those who chose to be listed) and how many each role group reaches.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from ilcop.models import Notification, User

from ..models import (
    CoreTeamMembership,
    GroupMessage,
    Programme,
    RoleGroupOptOut,
    SiteMembership,
)
from .participants import (
    CORE_TEAM_ROLE,
    is_core_team,
    participant_audience,
    participant_memberships,
    participant_sites,
    programme_for_participant,
)

# How the groups are named in a sentence: "every clinical nurse specialist".
GROUP_NAMES = {
    SiteMembership.Role.CLINICAL_LEAD: "clinical leads",
    SiteMembership.Role.CNS: "clinical nurse specialists (CNSs)",
    SiteMembership.Role.MDT_COORDINATOR: "MDT coordinators",
    SiteMembership.Role.OTHER_CLINICIAN: "other clinicians",
    SiteMembership.Role.MANAGER: "managers",
    SiteMembership.Role.EXECUTIVE_SPONSOR: "executive sponsors",
}


def group_names(roles: list[str]) -> str:
    names = [GROUP_NAMES.get(role, role) for role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def programme_for_role_groups(user: User, pk: int) -> Programme:
    """The core team's programme; a participant who is not in its core team gets a 403, anyone
    else a 404."""
    programme = programme_for_participant(user, pk)
    if not is_core_team(user, programme):
        raise PermissionDenied
    return programme


# --- the directory -------------------------------------------------------------------------

DIRECTORY_SORTS = {
    "site": ("site__organisation__name", "site__name", "role", "user__full_name"),
    "role": ("role", "user__full_name", "site__organisation__name", "site__name"),
    "name": ("user__full_name", "site__organisation__name", "site__name"),
}


@dataclass(frozen=True)
class DirectoryFilters:
    role: str = ""  # a SiteMembership.Role, CORE_TEAM_ROLE or ""
    site: int | None = None
    query: str = ""

    @property
    def active(self) -> bool:
        return bool(self.role or self.site or self.query)


def directory_filters(query, site_ids: set[int]) -> DirectoryFilters:
    """Filters from the query string; a value that makes no sense is dropped (a mistyped link
    shows more, never an error)."""
    role = query.get("role", "")
    if role not in {*SiteMembership.Role.values, CORE_TEAM_ROLE}:
        role = ""
    try:
        site = int(query.get("site", ""))
    except ValueError:
        site = None
    if site not in site_ids:
        site = None
    text = query.get("q", "").replace("\x00", "").strip()[:100]
    return DirectoryFilters(role=role, site=site, query=text)


def _listed(user_path: str) -> Q:
    return Q(**{f"{user_path}directory_listing__listed": True, f"{user_path}is_active": True})


def directory_members(programme: Programme, filters: DirectoryFilters,
                      sort: str = "site", descending: bool = False) -> QuerySet[SiteMembership]:
    """Listed people of the programme's participating sites, one row per site they are in."""
    if filters.role == CORE_TEAM_ROLE:
        return SiteMembership.objects.none()
    rows = (participant_memberships(programme).filter(_listed("user__"))
            .select_related("user__directory_listing"))
    if filters.role:
        rows = rows.filter(role=filters.role)
    if filters.site:
        rows = rows.filter(site_id=filters.site)
    if filters.query:
        rows = rows.filter(user__full_name__icontains=filters.query)
    order = DIRECTORY_SORTS.get(sort, DIRECTORY_SORTS["site"])
    if descending:
        order = (f"-{order[0]}", *order[1:])
    return rows.order_by(*order, "pk")


def directory_core_team(programme: Programme,
                        filters: DirectoryFilters) -> QuerySet[CoreTeamMembership]:
    """Listed members of the core team, shown as "Core team" (they belong to no site)."""
    if (filters.role and filters.role != CORE_TEAM_ROLE) or filters.site:
        return CoreTeamMembership.objects.none()
    rows = (CoreTeamMembership.objects.filter(programme=programme).filter(_listed("user__"))
            .select_related("user__directory_listing").order_by("user__full_name", "pk"))
    if filters.query:
        rows = rows.filter(user__full_name__icontains=filters.query)
    return rows


def participants_not_listed(programme: Programme) -> int:
    """How many of the programme's participants (people, not memberships) are not listed."""
    members = participant_memberships(programme).values("user_id")
    core = CoreTeamMembership.objects.filter(programme=programme).values("user_id")
    return (User.objects.filter(Q(pk__in=members) | Q(pk__in=core), is_active=True)
            .exclude(directory_listing__listed=True).count())


def directory_sites(programme: Programme):
    return participant_sites(programme).select_related("organisation").order_by(
        "organisation__name", "name")


# --- role groups -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleGroup:
    role: str
    label: str
    members: int
    opted_out: int


def role_groups(programme: Programme) -> list[RoleGroup]:
    """Each site role with how many participants hold it and how many of them asked not to
    get the group's optional emails. Two queries, whatever the size of the programme."""
    members = participant_memberships(programme).filter(user__is_active=True)
    counts = dict(members.order_by().values_list("role").annotate(n=Count("user", distinct=True)))
    opted_out = dict(
        RoleGroupOptOut.objects.filter(programme=programme)
        .filter(Exists(members.filter(user=OuterRef("user"), role=OuterRef("role"))))
        .order_by().values_list("role").annotate(n=Count("pk")))
    return [RoleGroup(role, label, counts.get(role, 0), opted_out.get(role, 0))
            for role, label in SiteMembership.Role.choices]


def group_messages(programme: Programme) -> QuerySet[GroupMessage]:
    return programme.group_messages.select_related("sent_by")


def group_message_reached(message: GroupMessage) -> QuerySet[Notification]:
    """Who the message reached, from the notifications ledger."""
    return (Notification.objects.filter(kind="group_message", object_id=message.pk,
                                        content_type__app_label="programmes",
                                        content_type__model="groupmessage",
                                        sent_at__isnull=False)
            .select_related("recipient").order_by("recipient__full_name", "pk"))


def group_recipients(programme: Programme, roles: list[str], *,
                     essential: bool) -> list[tuple[User, list[str]]]:
    """Who a message to these role groups goes to, each with the groups that reach them: the
    groups' participants (participant_audience), less anyone who opted out of every one of
    their groups among these, unless the message is essential."""
    audience = participant_audience(programme, roles=roles)
    held: dict[int, set[str]] = defaultdict(set)
    for user_id, role in (participant_memberships(programme).filter(role__in=roles)
                          .values_list("user_id", "role")):
        held[user_id].add(role)
    opted: dict[int, set[str]] = defaultdict(set)
    if not essential:
        for user_id, role in RoleGroupOptOut.objects.filter(
                programme=programme, role__in=roles).values_list("user_id", "role"):
            opted[user_id].add(role)
    recipients = []
    for member in audience:
        reaching = held[member.user.pk] - opted[member.user.pk]
        if reaching:
            recipients.append((member.user, [r for r in SiteMembership.Role.values
                                             if r in reaching]))
    return recipients
