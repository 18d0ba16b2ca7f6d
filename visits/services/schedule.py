"""The programme-wide scheduler: proposes dates for every open visit at once.

Visits that already have a date take part as fixed points (their one option is their date),
so the proposal fits around them: a facilitator's confirmed visits and the gap between a
site's visits count against the new ones too.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ilcop.models import User
from programmes.models import Programme

from ..models import Visit
from ..scheduler import Rules, Schedule, VisitRequest, check_schedule, propose_schedule
from ..selectors import poll_grid
from .visits import visit_choose_date

SCHEDULABLE = (Visit.Status.PROPOSED, Visit.Status.POLLING)
FIXED = (Visit.Status.DATE_AGREED, Visit.Status.CONFIRMED)
DATED = (*FIXED, Visit.Status.HAPPENED, Visit.Status.REPORT_SENT)


def _rules(programme: Programme) -> Rules:
    return Rules(facilitator_max_per_week=programme.facilitator_max_visits_per_week,
                 site_min_gap_days=programme.visit_gap_days)


def schedule_requests(programme: Programme) -> list[VisitRequest]:
    """Open visits with the poll dates on which the minimum roles can come, and dated visits
    as fixed points."""
    today = timezone.localdate()
    # Visits held within the gap before today still count against their sites' next visit.
    since = today - datetime.timedelta(days=programme.visit_gap_days)
    visits = list(programme.visits.filter(
        Q(status__in=SCHEDULABLE) | Q(status__in=DATED, date__gte=since)
    ).select_related("poll").order_by("pk"))
    # Dated visits first: the greedy baseline places them before anything else.
    visits.sort(key=lambda v: (v.status not in DATED, v.pk))
    ids = {v.pk for v in visits}
    requests = []
    for visit in visits:
        fixed = visit.status in DATED
        if fixed:
            if visit.date is None:
                continue
            options = {visit.date: "yes"}
        else:
            options = {}
            if hasattr(visit, "poll"):
                for row in poll_grid(visit.poll).dates:
                    if row.quorum.met and row.date > today:
                        options[row.date] = "yes" if row.quorum.with_yes_only else "if_need_be"
        requests.append(VisitRequest(
            # A review's visits have no visiting site: its review team stands in for one, so
            # a deep dive's visits are spaced like any site's.
            visit=visit.pk, host=visit.host_id,
            visitor=visit.visitor_id if visit.review_id is None else ("review", visit.review_id),
            facilitator=visit.facilitator_id, options=options,
            after=visit.after_id if visit.after_id in ids else None, fixed=fixed,
        ))
    return requests


def schedule_propose(programme: Programme, *, time_limit_seconds: float = 10.0) -> Schedule:
    return propose_schedule(schedule_requests(programme), _rules(programme),
                            time_limit_seconds=time_limit_seconds)


@transaction.atomic
def schedule_accept(*, programme: Programme, dates: dict[int, datetime.date],
                    user: User) -> int:
    """Agree the accepted dates (all of the proposal or part of it), after checking that
    together with the visits already dated they break no hard constraint."""
    requests = schedule_requests(programme)
    fixed = {r.visit: next(iter(r.options)) for r in requests if r.fixed and r.options}
    problems = check_schedule(requests, _rules(programme), {**fixed, **dates})
    if problems:
        raise ValidationError("Those dates no longer fit: " + "; ".join(problems[:3]))
    visits = list(programme.visits.select_for_update().filter(pk__in=dates,
                                                              status__in=SCHEDULABLE))
    for visit in visits:
        visit_choose_date(visit=visit, date=dates[visit.pk], user=user)
    return len(visits)
