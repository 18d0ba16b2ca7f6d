"""Reads about an event's replies, attendance and materials: who may see them, the live counts
by role and by site, and the materials the library lists.

Who may see what (programmes.selectors.participants): an event belongs to its programme, so
its participants (the core team and the intervention sites' current members) may see an
announced event; a draft is the core team's alone. Anyone else gets a 404.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from ilcop.models import User
from programmes.selectors.participants import (
    AUDIENCE_ROLE_LABELS,
    CORE_TEAM_ROLE,
    audience_role_label,
    is_core_team,
    participant_programmes,
)

from .models import Event, EventInvitation, EventMaterial

# A low turnout is worth warning about once it can still be acted on (a reminder, a word
# with the leads) and no longer looks like people simply not having replied yet.
LOW_TURNOUT_WINDOW_DAYS = 14


def low_turnout(*, invited: int, coming: int, event_date: datetime.date | None,
                today: datetime.date) -> bool:
    """Fewer than a third of those invited are coming, within two weeks before the day."""
    if not invited or event_date is None:
        return False
    days_to_go = (event_date - today).days
    return 0 < days_to_go <= LOW_TURNOUT_WINDOW_DAYS and coming * 3 < invited


def was_announced(event: Event) -> bool:
    """Participants see an event once it has been announced, and still after it is cancelled
    (so they know); a draft, or a draft cancelled before anyone heard of it, is the core
    team's alone."""
    return (event.status == Event.Status.ANNOUNCED
            or (event.status == Event.Status.CANCELLED and event.announced_at is not None))


def announced_events(events: QuerySet[Event]) -> QuerySet[Event]:
    """The same rule as was_announced, as a filter."""
    return events.filter(Q(status=Event.Status.ANNOUNCED)
                         | Q(status=Event.Status.CANCELLED, announced_at__isnull=False))


def event_for_participant(user: User, pk: int) -> Event:
    """The event, if this person takes part in its programme and it has been announced (or
    they are in its core team); a 404 otherwise."""
    event = get_object_or_404(
        Event.objects.select_related("programme").filter(
            programme__in=participant_programmes(user)), pk=pk)
    if not was_announced(event) and not is_core_team(user, event.programme):
        raise Http404("No such event")
    return event


def event_for_core_team(user: User, pk: int) -> Event:
    """The event for its core team; a 403 for a participant who may see it, else a 404."""
    event = event_for_participant(user, pk)
    if not is_core_team(user, event.programme):
        raise PermissionDenied("Only the programme's core team can do this")
    return event


def draft_event_for_core_team(user: User, pk: int) -> Event:
    """The event for its core team, drafts included. Finding a date comes before the event
    is announced, and its pages are the core team's: a participant who follows a link to one
    is told it is not theirs (403) rather than that it does not exist."""
    event = get_object_or_404(Event.objects.select_related("programme").filter(
        programme__in=participant_programmes(user)), pk=pk)
    if not is_core_team(user, event.programme):
        raise PermissionDenied("Only the programme's core team can do this")
    return event


def own_invitation(user: User, event: Event) -> EventInvitation | None:
    return EventInvitation.objects.filter(event=event, user=user).first()


@dataclass
class ReplyRow:
    label: str
    coming: int = 0
    not_coming: int = 0
    not_replied: int = 0
    attended: int = 0

    @property
    def invited(self) -> int:
        return self.coming + self.not_coming + self.not_replied

    def add(self, response: str, count: int, attended: int) -> None:
        if response == EventInvitation.Response.ATTENDING:
            self.coming += count
        elif response == EventInvitation.Response.NOT_ATTENDING:
            self.not_coming += count
        else:
            self.not_replied += count
        self.attended += attended


@dataclass
class ReplyCounts:
    by_role: list[ReplyRow]
    by_site: list[ReplyRow]
    total: ReplyRow = field(default_factory=lambda: ReplyRow("Total"))
    attendance_recorded: bool = False

    @property
    def summary(self) -> str:
        """The short line read out when the counts change."""
        t = self.total
        return (f"{t.coming} coming, {t.not_coming} not coming, {t.not_replied} not replied "
                f"({t.invited} invited)")


def _site_label(organisation: str | None, site: str | None) -> str:
    return f"{organisation}: {site}" if site else AUDIENCE_ROLE_LABELS[CORE_TEAM_ROLE]


def reply_counts(event: Event) -> ReplyCounts:
    """Coming, not coming and not replied, by role and by site, in one query."""
    groups = (EventInvitation.objects.filter(event=event)
              .values("role", "site_id", "site__name", "site__organisation__name", "response")
              .annotate(n=Count("pk"), came=Count("pk", filter=Q(attended=True)),
                        recorded=Count("pk", filter=Q(attended__isnull=False)))
              .order_by())
    roles: dict[str, ReplyRow] = {}
    sites: dict[tuple, ReplyRow] = defaultdict(lambda: ReplyRow(""))
    total = ReplyRow("Total")
    recorded = False
    for group in groups:
        label = audience_role_label(group["role"])
        roles.setdefault(group["role"], ReplyRow(label)).add(group["response"], group["n"],
                                                             group["came"])
        key = (group["site_id"] is not None, group["site__organisation__name"] or "",
               group["site__name"] or "", group["site_id"])
        sites[key].label = _site_label(group["site__organisation__name"], group["site__name"])
        sites[key].add(group["response"], group["n"], group["came"])
        total.add(group["response"], group["n"], group["came"])
        recorded = recorded or group["recorded"] > 0
    role_order = list(AUDIENCE_ROLE_LABELS)
    by_role = sorted(roles.items(), key=lambda item: (
        role_order.index(item[0]) if item[0] in role_order else len(role_order), item[0]))
    # The core team first, then the sites by organisation and name.
    return ReplyCounts(by_role=[row for _, row in by_role],
                       by_site=[sites[key] for key in sorted(sites)],
                       total=total, attendance_recorded=recorded)




def event_invitations(event: Event) -> list[EventInvitation]:
    """Everyone invited, by site, role and name, each with ``role_label``."""
    invitations = list(EventInvitation.objects.filter(event=event)
                       .select_related("user", "site__organisation"))
    for invitation in invitations:
        invitation.role_label = audience_role_label(invitation.role)
    return invitations


def event_materials(event: Event) -> QuerySet[EventMaterial]:
    return EventMaterial.objects.filter(event=event).order_by("title", "pk")


def programme_event_materials(programme) -> QuerySet[EventMaterial]:
    """Materials of the programme's announced events, newest event first, each with its
    event: what the library lists."""
    return (EventMaterial.objects
            .filter(event__programme=programme, event__status=Event.Status.ANNOUNCED)
            .select_related("event")
            .order_by("-event__date", "-event__start_time", "-event_id", "title", "pk"))
