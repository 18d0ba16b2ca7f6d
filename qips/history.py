"""An object's history for the core team: every activity-log entry about one site, enrolment,
visit, visit report, plan or person in their programme, newest first.

It lives in qips, the highest app, because the objects come from every app. Each kind is
checked to belong to the programme before anything is read, so another programme's object
is a 404 like any other out-of-scope page. Every entry is filed under its own object as a
scope (ilcop.activity.log_action), so "about X" is one indexed lookup in ActivityScope.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404

from ilcop.models import ActivityLog, ActivityScope, User
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Invitation,
    Programme,
    Site,
    SiteMembership,
)
from visits.models import Visit, VisitReport

from .models import QualityImprovementPlan


@dataclass(frozen=True)
class History:
    kind: str
    label: str  # what the page calls the object: "Site", "Visit report"...
    obj: models.Model
    entries: QuerySet[ActivityLog]


def _filed_under(model: type[models.Model], ids: Any) -> Q:
    """Entries filed under any of ``ids`` (a list or a subquery of primary keys)."""
    return Q(pk__in=ActivityScope.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id__in=ids,
    ).values("entry_id"))


def _one(queryset: QuerySet, pk: int) -> models.Model:
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def _site(programme: Programme, pk: int) -> tuple[models.Model, Q]:
    site = _one(Site.objects.filter(enrolments__programme=programme)
                .select_related("organisation"), pk)
    # The site's entries that are this programme's: the same rule as the site's own page.
    return site, _filed_under(Site, [site.pk]) & _filed_under(Programme, [programme.pk])


def _enrolment(programme: Programme, pk: int) -> tuple[models.Model, Q]:
    enrolment = _one(Enrolment.objects.filter(programme=programme)
                     .select_related("site__organisation", "programme"), pk)
    return enrolment, _filed_under(Enrolment, [enrolment.pk])


def _visit(programme: Programme, pk: int) -> tuple[models.Model, Q]:
    visit = _one(Visit.objects.filter(programme=programme)
                 .select_related("host__organisation", "visitor__organisation"), pk)
    # Its parts (agenda, notes, attendance, tasks, the poll) are logged against the visit
    # itself; only a report version is an object of its own.
    reports = VisitReport.objects.filter(visit=visit).values("pk")
    return visit, _filed_under(Visit, [visit.pk]) | _filed_under(VisitReport, reports)


def _visit_report(programme: Programme, pk: int) -> tuple[models.Model, Q]:
    report = _one(VisitReport.objects.filter(visit__programme=programme)
                  .select_related("visit__host__organisation", "visit__visitor__organisation")
                  .defer("html", "pdf"), pk)
    # visits.services.report logs each version's steps against the visit, with the version
    # in the details.
    about_version = (_filed_under(Visit, [report.visit_id])
                     & Q(verb__startswith="visit.report_", data__version=report.version))
    return report, _filed_under(VisitReport, [report.pk]) | about_version


def _plan(programme: Programme, pk: int) -> tuple[models.Model, Q]:
    plan = _one(QualityImprovementPlan.objects.filter(programme=programme)
                .select_related("site__organisation"), pk)
    return plan, _filed_under(QualityImprovementPlan, [plan.pk])


def _person(programme: Programme, pk: int) -> tuple[models.Model, Q]:
    person = _one(User.objects.filter(
        Q(core_memberships__programme=programme)
        | Q(site_memberships__site__enrolments__programme=programme)
        | Q(facilitated_visits__programme=programme)
        | Q(visit_attendances__visit__programme=programme)
        | Q(pk__in=Invitation.objects.filter(programme=programme).values("accepted_by"))
    ).distinct(), pk)
    memberships = SiteMembership.objects.filter(user=person).values("pk")
    core = CoreTeamMembership.objects.filter(user=person).values("pk")
    invitations = Invitation.objects.filter(accepted_by=person).values("pk")
    about = (Q(actor=person) | _filed_under(User, [person.pk])
             | _filed_under(SiteMembership, memberships)
             | _filed_under(CoreTeamMembership, core)
             | _filed_under(Invitation, invitations))
    # Only this programme's part of what they did: the rest is other programmes' business.
    return person, about & _filed_under(Programme, [programme.pk])


KINDS: dict[str, tuple[str, Callable[[Programme, int], tuple[models.Model, Q]]]] = {
    "site": ("Site", _site),
    "enrolment": ("Enrolment", _enrolment),
    "visit": ("Visit", _visit),
    "visit-report": ("Visit report", _visit_report),
    "plan": ("Improvement plan", _plan),
    "person": ("Person", _person),
}


def object_history(programme: Programme, kind: str, pk: int) -> History:
    if kind not in KINDS:
        raise Http404
    label, resolve = KINDS[kind]
    obj, about = resolve(programme, pk)
    entries = (ActivityLog.objects.filter(about).select_related("actor")
               .order_by("-created_at", "-id"))
    return History(kind=kind, label=label, obj=obj, entries=entries)


def readable(value: Any) -> str:
    """A detail of an entry as a clinician would read it."""
    if value is None or value == "":
        return "None"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value) or "None"
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')}: {readable(item)}"
                         for key, item in value.items()) or "None"
    return str(value)


def details(entry: ActivityLog) -> list[tuple[str, str]]:
    data = entry.data if isinstance(entry.data, dict) else {"details": entry.data}
    return [(key.replace("_", " ").capitalize(), readable(value)) for key, value in data.items()]
