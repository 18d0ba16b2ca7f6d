"""What the core team's dashboard counts.

Each figure is counted by the same selector, with the same filters, as the list its number
links to (visits.selectors.filtered_visits, filtered_tasks, qips.selectors.programme_plans
counted by plan_summary with the same codes, programmes' enrolment list), so a number and
the list behind it cannot disagree: the tests follow every link and count the rows. It lives
in qips, the highest app, because it reads every app. A fixed number of queries whatever the
programme's size.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.formats import date_format

from ilcop.activity import timeline_for
from ilcop.models import ActivityLog, User
from programmes import funnel
from programmes import selectors as programme_selectors
from programmes.models import CoreTeamMembership, Enrolment, Pairing, Programme
from visits import selectors as visit_selectors
from visits.models import Visit

from . import digest, selectors

NEXT_WEEKS = 4
ACTIVITY_SHOWN = 8
# The statuses on the visits timeline, in the order a visit moves through them.
TIMELINE_STATUSES = [Visit.Status.PROPOSED, Visit.Status.POLLING, Visit.Status.DATE_AGREED,
                     Visit.Status.CONFIRMED, Visit.Status.HAPPENED, Visit.Status.REPORT_SENT]


@dataclass
class TimelineCell:
    count: int
    query: str  # the visits list's filters for the cell
    words: str  # what the number counts, for screen readers


@dataclass
class TimelineMonth:
    month: datetime.date | None  # None: visits not dated yet
    counts: dict[str, int]

    @property
    def end(self) -> datetime.date | None:
        if self.month is None:
            return None
        following = (self.month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        return following - datetime.timedelta(days=1)

    @property
    def cells(self) -> list[TimelineCell]:
        """The month's row of the table, a cell for each of TIMELINE_STATUSES: put together
        here rather than in the template, where the 80 or so cells of a year's timeline took
        a third of the page's rendering."""
        if self.month is None:
            dates, when = "undated=1", ", not dated yet"
        else:
            dates = f"from={self.month.isoformat()}&to={self.end.isoformat()}"
            when = f" in {date_format(self.month, 'F Y')}"
        return [TimelineCell(self.counts.get(status, 0), f"status={status}&{dates}",
                             f"{Visit.Status(status).label.lower()}{when}")
                for status in TIMELINE_STATUSES]


@dataclass
class FacilitatorLoad:
    person: User
    next_weeks: int = 0
    reports_to_approve: int = 0
    visits: int = 0


@dataclass
class Dashboard:
    today: datetime.date
    window_end: datetime.date
    funnel: list[dict]
    funnel_total: int
    intervention_sites: int
    pairing: Pairing | None
    pairs: int
    visit_counts: dict[str, int]
    timeline: list[TimelineMonth]
    next_visits: list[Visit]
    open_tasks: dict[int, int]
    overdue_by_owner: list[tuple[str, str, int]]
    overdue_tasks: int
    plan_counts: dict[str, int]
    plans_total: int
    support: dict[str, int]
    support_sites: dict[str, int]
    needing_help: int
    report_problems: int
    passed_not_happened: int
    visits_this_week: int
    facilitators: list[FacilitatorLoad]
    quiet_teams: list = field(default_factory=list)
    activity: list[ActivityLog] = field(default_factory=list)


def _funnel(programme: Programme) -> tuple[list[dict], int, int]:
    """The funnel's stages, the number of sites in all and those now in the intervention arm
    (the enrolment list's status filter counts the same current status)."""
    counts = programme_selectors.funnel_counts(programme)
    stages = [{"key": stage, "label": Enrolment.Status(stage).label,
               "count": counts.reached[stage]} for stage in funnel.FUNNEL_STAGES]
    return stages, counts.total, counts.current[Enrolment.Status.INTERVENTION]


def _visits_by_month(programme: Programme) -> tuple[dict[str, int], list[TimelineMonth]]:
    """Every visit counted by status, and the timeline of those not cancelled by month, from
    one GROUP BY."""
    by_status: Counter = Counter()
    rows: dict[datetime.date | None, Counter] = {}
    for month, status, count in (programme.visits.annotate(month=TruncMonth("date"))
                                 .values_list("month", "status").annotate(n=Count("pk"))
                                 .order_by()):
        by_status[status] += count
        if status == Visit.Status.CANCELLED:
            continue
        if isinstance(month, datetime.datetime):  # SQLite truncates a date to a datetime
            month = month.date()
        rows.setdefault(month, Counter())[status] += count
    dated = sorted(m for m in rows if m is not None)
    months = [TimelineMonth(m, dict(rows[m])) for m in dated]
    if None in rows:
        months.append(TimelineMonth(None, dict(rows[None])))
    return dict(by_status), months


def _facilitators(programme: Programme, today: datetime.date,
                  window_end: datetime.date) -> list[FacilitatorLoad]:
    """The programme's QI facilitators, and anyone else facilitating one of its visits."""
    live = ~Q(status=Visit.Status.CANCELLED)
    loads = {
        row["facilitator"]: row for row in programme.visits.filter(facilitator__isnull=False)
        .values("facilitator").annotate(
            visits=Count("pk"),
            next_weeks=Count("pk", filter=live & Q(date__gte=today, date__lte=window_end)),
            reports=Count("pk", filter=Q(status=Visit.Status.HAPPENED)),
        ).order_by()
    }
    people = {m.user_id: m.user for m in CoreTeamMembership.objects.filter(
        programme=programme).filter(
        Q(role=CoreTeamMembership.Role.QI_FACILITATOR) | Q(user_id__in=list(loads)))
        .select_related("user")}
    if others := [pk for pk in loads if pk not in people]:
        people.update({user.pk: user for user in User.objects.filter(pk__in=others)})
    rows = [FacilitatorLoad(person, next_weeks=loads.get(pk, {}).get("next_weeks", 0),
                            reports_to_approve=loads.get(pk, {}).get("reports", 0),
                            visits=loads.get(pk, {}).get("visits", 0))
            for pk, person in people.items()]
    return sorted(rows, key=lambda r: (-r.next_weeks, -r.visits, r.person.full_name))


def dashboard(programme: Programme, *, now: datetime.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = timezone.localdate(now)
    window_end = today + datetime.timedelta(weeks=NEXT_WEEKS) - datetime.timedelta(days=1)
    stages, total, intervention_sites = _funnel(programme)

    pairing = programme.pairings.filter(status=Pairing.Status.CONFIRMED).annotate(
        n=Count("pairs")).first()
    visit_counts, timeline = _visits_by_month(programme)
    window = visit_selectors.VisitFilters(status=visit_selectors.LIVE, start=today,
                                          end=window_end)
    next_visits = list(visit_selectors.filtered_visits(programme, window))
    week = visit_selectors.VisitFilters(status=visit_selectors.LIVE, start=today,
                                        end=today + datetime.timedelta(days=6))

    tasks = visit_selectors.outstanding_tasks(programme, listed=False)
    open_tasks = Counter(task.visit_id for task in tasks)
    overdue = [task for task in tasks if task.overdue]
    owners = Counter((str(t.owner_id) if t.owner_id else visit_selectors.NOBODY,
                      t.owner.full_name if t.owner else "Nobody") for t in overdue)
    overdue_by_owner = sorted(((key, name, n) for (key, name), n in owners.items()),
                              key=lambda row: (-row[2], row[1]))

    plans = selectors.plan_summary(programme, now=now)

    return Dashboard(
        today=today, window_end=window_end, funnel=stages, funnel_total=total,
        intervention_sites=intervention_sites,
        pairing=pairing, pairs=pairing.n if pairing else 0,
        visit_counts=visit_counts, timeline=timeline, next_visits=next_visits,
        open_tasks=dict(open_tasks), overdue_by_owner=overdue_by_owner,
        overdue_tasks=len(overdue),
        plan_counts=plans.by_status, plans_total=plans.total,
        support=plans.by_reason, support_sites=plans.sites_by_reason,
        needing_help=plans.needing_help,
        report_problems=len(visit_selectors.undelivered_report_visits(programme)),
        passed_not_happened=visit_selectors.filtered_visits(programme, visit_selectors.VisitFilters(
            status=Visit.Status.CONFIRMED, end=today - datetime.timedelta(days=1))).count(),
        visits_this_week=sum(1 for v in next_visits if v.date <= week.end),
        facilitators=_facilitators(programme, today, window_end),
        # The same definition of a quiet team as the core team's Monday digest.
        quiet_teams=digest.quiet_teams(programme, now),
        activity=list(timeline_for(programme)[:ACTIVITY_SHOWN]),
    )
