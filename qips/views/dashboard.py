"""The core team's dashboard: the whole programme at a glance, each number a link to the
filtered list behind it."""

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from programmes import selectors as programme_selectors
from visits.models import Visit
from visits.selectors import LIVE

from .. import dashboard as data
from ..models import QualityImprovementPlan
from ..selectors import REASONS


@dataclass
class Attention:
    """One line of "what needs my attention this week"."""

    count: int
    one: str
    many: str
    url: str

    @property
    def text(self) -> str:
        return self.one if self.count == 1 else self.many


def _url(name: str, programme_pk: int, **params) -> str:
    url = reverse(name, args=[programme_pk])
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{url}?{query}" if query else url


def _attention(programme_pk: int, board: data.Dashboard) -> list[Attention]:
    visits = "visits:programme_visits"
    plans = "qips:programme_plans"
    yesterday = board.today - datetime.timedelta(days=1)
    week_end = board.today + datetime.timedelta(days=6)
    rows = [
        Attention(board.visit_counts.get(Visit.Status.HAPPENED, 0),
                  "visit report waiting for approval", "visit reports waiting for approval",
                  _url(visits, programme_pk, status=Visit.Status.HAPPENED)),
        Attention(board.report_problems,
                  "approved report that failed or has not finished sending",
                  "approved reports that failed or have not finished sending",
                  _url(visits, programme_pk, report="problem")),
        Attention(board.passed_not_happened,
                  "visit whose day has passed, not yet marked as happened",
                  "visits whose day has passed, not yet marked as happened",
                  _url(visits, programme_pk, status=Visit.Status.CONFIRMED,
                       to=yesterday.isoformat())),
        Attention(board.overdue_tasks, "checklist task overdue", "checklist tasks overdue",
                  _url("visits:logistics", programme_pk, overdue=1)),
        Attention(board.visits_this_week, "visit in the next seven days",
                  "visits in the next seven days",
                  _url(visits, programme_pk, status=LIVE, **{
                      "from": board.today.isoformat(), "to": week_end.isoformat()})),
        Attention(board.plan_counts.get(QualityImprovementPlan.Status.SUBMITTED, 0),
                  "plan submitted for review", "plans submitted for review",
                  _url(plans, programme_pk, status=QualityImprovementPlan.Status.SUBMITTED)),
        Attention(board.plan_counts.get(QualityImprovementPlan.Status.RESUBMITTED, 0),
                  "plan resubmitted after changes", "plans resubmitted after changes",
                  _url(plans, programme_pk, status=QualityImprovementPlan.Status.RESUBMITTED)),
        Attention(board.needing_help, "plan that may need help", "plans that may need help",
                  _url(plans, programme_pk, reason="any")),
    ]
    return [row for row in rows if row.count]


@login_required
@require_GET
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    programme = programme_selectors.programme_for_core_team(request.user, pk)
    request.programme = request.core_team_programme = programme
    board = data.dashboard(programme)
    return render(request, "dashboard/dashboard.html", {
        "programme": programme, "board": board,
        "attention": _attention(programme.pk, board),
        "visit_statuses": [(s, Visit.Status(s).label) for s in data.TIMELINE_STATUSES],
        "cancelled": board.visit_counts.get(Visit.Status.CANCELLED, 0),
        "plan_statuses": QualityImprovementPlan.Status.choices,
        "reasons": [(code, REASONS[code], board.support[code], board.support_sites[code])
                    for code in REASONS],
        "live": LIVE, "nobody": "none",
    })
