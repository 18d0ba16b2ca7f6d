from ilcop.activity import log_action
from ilcop.models import User
from programmes.models import SiteMembership

from ..models import Visit, VisitAttendee


def log_visit(visit: Visit, verb: str, summary: str, *, user: User | None,
              data: dict | None = None, on_site_timelines: bool = True) -> None:
    """File a visit's log entry under the visit and its programme, and (unless it is a
    moment-to-moment entry of the visit day, which would crowd everything else off a site's
    timeline) under both sites."""
    sites = [visit.host, visit.visitor] if on_site_timelines else []
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
    for site_id, team in ((visit.host_id, VisitAttendee.Team.HOST),
                          (visit.visitor_id, VisitAttendee.Team.VISITING)):
        for membership in SiteMembership.objects.current().filter(site_id=site_id
                                                                  ).select_related("user"):
            if membership.user_id not in seen:
                seen.add(membership.user_id)
                people.append((membership.user, team, membership.role))
    return people
