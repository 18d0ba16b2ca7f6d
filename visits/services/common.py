from ilcop.activity import log_action
from ilcop.models import User
from programmes.models import SiteMembership

from ..models import ReviewTeamMember, Visit, VisitAttendee


def log_visit(visit: Visit, verb: str, summary: str, *, user: User | None,
              data: dict | None = None, on_site_timelines: bool = True) -> None:
    """File a visit's log entry under the visit and its programme, and (unless it is a
    moment-to-moment entry of the visit day, which would crowd everything else off a site's
    timeline) under both sites."""
    # A review's visit has no visiting site: its log goes on the service's timeline only.
    sites = [s for s in (visit.host, visit.visitor) if s is not None] if on_site_timelines \
        else []
    log_action(visit, verb, actor=user, summary=summary, data=data,
               scopes=[visit.programme, *sites])


def visit_people(visit: Visit) -> list[tuple[User, str, str]]:
    """(person, team, role) for both teams' current members and the facilitator, each person
    once: the facilitator first, then the host team, then the visiting team."""
    people: list[tuple[User, str, str]] = []
    seen: set[int] = set()
    if visit.facilitator_id:
        people.append((visit.facilitator, VisitAttendee.Team.FACILITATOR, "facilitator"))
        seen.add(visit.facilitator_id)
    host = [(m.user, m.role) for m in SiteMembership.objects.current().filter(
        site_id=visit.host_id).select_related("user")]
    for team, members in ((VisitAttendee.Team.HOST, host),
                          (VisitAttendee.Team.VISITING, visiting_team(visit))):
        for person, role in members:
            if person.pk not in seen:
                seen.add(person.pk)
                people.append((person, team, role))
    return people


def visiting_team(visit: Visit) -> list[tuple[User, str]]:
    """(person, role) for the visiting team as it is now: the visiting site's current
    members, or for a one-way review's visit its review team, in their review roles
    (ReviewTeamMember.role: lead reviewer, clinical peer, patient reviewer)."""
    if visit.review_id is not None:
        return [(m.reviewer.user, m.role) for m in ReviewTeamMember.objects.filter(
            review_id=visit.review_id).select_related("reviewer__user")]
    return [(m.user, m.role) for m in SiteMembership.objects.current().filter(
        site_id=visit.visitor_id).select_related("user")]
