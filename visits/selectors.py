"""Reads for visits, and who may see them: the programme's core team and the current
members of the two sites (for a one-way review's visit, the service's members and the
review team). Anyone else gets a 404."""

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ilcop.listing import iso_date, search_text
from ilcop.models import User
from programmes.models import Programme, SiteMembership
from programmes.selectors import is_site_member, site_profile, site_team
from programmes.selectors.survey import programme_survey, survey_comments, survey_results

from . import observation_form as observation_rules
from .calendar import REVIEW_VISITING_ROLES, Quorum, date_quorum
from .models import (
    AvailabilityPoll,
    LogisticsTask,
    ObservationForm,
    ObservationResponse,
    PollAnswer,
    PollInvitee,
    Visit,
    VisitReport,
)


def visible_visits(user: User) -> QuerySet[Visit]:
    if not user.is_authenticated:
        return Visit.objects.none()
    return Visit.objects.filter(
        Q(programme__core_team__user=user)
        | Q(host__memberships__user=user, host__memberships__ended_at__isnull=True)
        | Q(visitor__memberships__user=user, visitor__memberships__ended_at__isnull=True)
        | Q(review__team__reviewer__user=user)
    ).distinct()


def visit_for_user(user: User, pk: int) -> Visit:
    return get_object_or_404(
        visible_visits(user).select_related("programme", "host__organisation",
                                            "visitor__organisation", "facilitator"), pk=pk)


def is_core_for_visit(user: User, visit: Visit) -> bool:
    return visit.programme.core_team.filter(user=user).exists()


def visit_for_core_team(user: User, pk: int) -> Visit:
    return get_object_or_404(
        Visit.objects.filter(programme__core_team__user=user).select_related(
            "programme", "host__organisation", "visitor__organisation", "facilitator"), pk=pk)


@dataclass
class DateRow:
    date: datetime.date
    quorum: Quorum
    answers: dict[int, str] = field(default_factory=dict)  # invitee id -> answer


@dataclass
class PollGrid:
    poll: AvailabilityPoll
    invitees: list[PollInvitee]
    dates: list[DateRow]

    @property
    def responded(self) -> int:
        return sum(1 for i in self.invitees if i.responded_at)


def poll_grid(poll: AvailabilityPoll) -> PollGrid:
    """Who can come on each candidate date, and whether the minimum roles are met."""
    invitees = list(poll.invitees.select_related("user").order_by("team", "role", "pk"))
    by_id = {i.pk: i for i in invitees}
    answers: dict[int, dict[int, str]] = {}
    for invitee_id, date_id, answer in PollAnswer.objects.filter(
            invitee__poll=poll).values_list("invitee_id", "poll_date_id", "answer"):
        answers.setdefault(date_id, {})[invitee_id] = answer
    required = poll.visit.programme.minimum_roles
    visiting = REVIEW_VISITING_ROLES if poll.visit.review_id is not None else None
    rows = []
    for poll_date in poll.dates.all():
        given = answers.get(poll_date.pk, {})
        quorum = date_quorum(
            [(by_id[i].team, by_id[i].role, a) for i, a in given.items() if i in by_id],
            required, visiting=visiting)
        rows.append(DateRow(poll_date.date, quorum, given))
    return PollGrid(poll, invitees, rows)


def programme_visits(programme: Programme) -> QuerySet[Visit]:
    return programme.visits.select_related(
        "host__organisation", "visitor__organisation", "facilitator").order_by(
        "date", "pk")


# --- The programme's lists, filtered from the dashboard ---------------------------------------

NOBODY = "none"  # the facilitator or owner filter for "not assigned"
LIVE = "live"  # the status filter for every visit not cancelled


@dataclass(frozen=True)
class VisitFilters:
    """What the visits list is narrowed to; every field comes from the query string."""

    status: str = ""  # a Visit.Status, LIVE or empty for any
    facilitator: str = ""  # a user's id, NOBODY or empty for anyone
    undated: bool = False
    start: datetime.date | None = None
    end: datetime.date | None = None
    report: str = ""  # "problem": approved reports that failed or are stuck
    query: str = ""

    @property
    def active(self) -> bool:
        return any((self.status, self.facilitator, self.undated, self.start, self.end,
                    self.report, self.query))


def person_filter(text: str) -> str:
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
    return text if text == NOBODY or re.fullmatch(r"[0-9]{1,9}", text) else ""


def visit_filters(query) -> VisitFilters:
    """Filters from a query string. A value that makes no sense is dropped, not an error: the
    list then shows more, and the filter form shows what is really applied."""
    status = query.get("status", "")
    return VisitFilters(
        status=status if status in (*Visit.Status.values, LIVE) else "",
        facilitator=person_filter(query.get("facilitator", "")),
        undated=query.get("undated") == "1",
        start=iso_date(query.get("from", "")), end=iso_date(query.get("to", "")),
        report="problem" if query.get("report") == "problem" else "",
        query=search_text(query),
    )


VISIT_SORTS = {
    "date": ("date", "pk"), "host": ("host__organisation__name", "date", "pk"),
    "visitor": ("visitor__organisation__name", "date", "pk"), "status": ("status", "date", "pk"),
    "facilitator": ("facilitator__full_name", "date", "pk"),
}


def filtered_visits(programme: Programme, filters: VisitFilters, *, sort: str = "date",
                    descending: bool = False) -> QuerySet[Visit]:
    visits = programme_visits(programme)
    if filters.status == LIVE:
        visits = visits.exclude(status=Visit.Status.CANCELLED)
    elif filters.status:
        visits = visits.filter(status=filters.status)
    if filters.undated:
        visits = visits.filter(date__isnull=True)
    if filters.facilitator == NOBODY:
        visits = visits.filter(facilitator__isnull=True)
    elif filters.facilitator:
        visits = visits.filter(facilitator_id=int(filters.facilitator))
    if filters.start:
        visits = visits.filter(date__gte=filters.start)
    if filters.end:
        visits = visits.filter(date__lte=filters.end)
    if filters.report == "problem":
        visits = visits.filter(pk__in=undelivered_report_visits(programme))
    if filters.query:
        visits = visits.filter(
            Q(host__organisation__name__icontains=filters.query)
            | Q(visitor__organisation__name__icontains=filters.query)
            | Q(host__code__iexact=filters.query) | Q(visitor__code__iexact=filters.query))
    fields = VISIT_SORTS.get(sort, VISIT_SORTS["date"])
    # Undated visits sort last either way, as a spreadsheet would put blanks.
    ordering = [F(fields[0]).desc(nulls_last=True) if descending
                else F(fields[0]).asc(nulls_last=True), *fields[1:]]
    return visits.order_by(*ordering)


def _latest_unsent_reports(programme: Programme) -> QuerySet[VisitReport]:
    """The latest version of each of the programme's visit reports, if it is not sent (a
    corrected version replaces the one before)."""
    later = VisitReport.objects.filter(visit=OuterRef("visit"), version__gt=OuterRef("version"))
    return (VisitReport.objects.filter(visit__programme=programme, sent_at__isnull=True)
            .exclude(Exists(later)))


def undelivered_reports(programme: Programme) -> list[VisitReport]:
    """Approved reports that failed, or are stuck, and have not reached everyone: the latest
    version of each visit's report only (a corrected version replaces the one before)."""
    reports = (_latest_unsent_reports(programme).defer("html", "pdf")
               .select_related("visit__host__organisation", "visit__visitor__organisation"))
    return [report for report in reports if report.is_failed or report.is_stuck]


# What VisitReport.is_failed and is_stuck read.
DELIVERY_FIELDS = ("sent_at", "approved_at", "retried_at", "generation_failed_at",
                   "send_failed_at")


def undelivered_report_visits(programme: Programme) -> list[int]:
    """The visits of undelivered_reports(programme), one report each: the same reports and
    rule, reading only the fields the rule reads (for the visits list's filter and the
    dashboard's count)."""
    return [report.visit_id for report in _latest_unsent_reports(programme)
            .only("visit", *DELIVERY_FIELDS) if report.is_failed or report.is_stuck]


@dataclass(frozen=True)
class TaskFilters:
    owner: str = ""  # a user's id, NOBODY or empty for anyone
    overdue: bool = False

    @property
    def active(self) -> bool:
        return bool(self.owner or self.overdue)


def task_filters(query) -> TaskFilters:
    return TaskFilters(owner=person_filter(query.get("owner", "")),
                       overdue=query.get("overdue") == "1")


TASK_SORTS = {
    "due": lambda t: (t.due or datetime.date.max, t.pk),
    "visit": lambda t: (t.visit.date or datetime.date.max, t.visit_id, t.pk),
    "owner": lambda t: (t.owner.full_name if t.owner else "\uffff", t.due or datetime.date.max),
    "task": lambda t: (t.get_kind_display(), t.due or datetime.date.max),
}


def task_owners(tasks: list[LogisticsTask]) -> list[tuple[str, str]]:
    """Everyone who owns one of these tasks, for the owner filter: site members own some."""
    owners = {t.owner_id: t.owner.full_name for t in tasks if t.owner is not None}
    return sorted(((str(pk), name) for pk, name in owners.items()), key=lambda o: o[1])


def filtered_tasks(tasks: list[LogisticsTask], filters: TaskFilters) -> list[LogisticsTask]:
    if filters.owner == NOBODY:
        tasks = [t for t in tasks if t.owner_id is None]
    elif filters.owner:
        tasks = [t for t in tasks if t.owner_id == int(filters.owner)]
    if filters.overdue:
        tasks = [t for t in tasks if t.overdue]
    return tasks


def outstanding_tasks(programme: Programme, *, listed: bool = True) -> list[LogisticsTask]:
    """Every open task of the programme's confirmed visits, soonest due first. ``listed``
    False reads only what the dashboard counts them by (when due, and the owner's name)."""
    tasks = LogisticsTask.objects.filter(
        visit__programme=programme, visit__status=Visit.Status.CONFIRMED, done_at__isnull=True)
    if listed:
        tasks = tasks.select_related("visit__host__organisation", "visit__visitor__organisation",
                                     "owner")
    else:
        tasks = tasks.select_related("visit", "owner").only(
            "visit", "owner", "days_before", "visit__date", "owner__full_name")
    tasks = list(tasks)
    today = timezone.localdate()
    for task in tasks:
        task.overdue = task.due is not None and task.due < today
    return sorted(tasks, key=lambda t: (t.due or datetime.date.max, t.pk))


@dataclass
class DataPack:
    """What the visiting team reads before a visit: the host's MDT profile, audit figures and
    patient survey. Assembled when asked for, so it is never staler than its sources; each
    figure carries its own source, period, denominator and age."""

    visit: Visit
    team: list
    figures: list
    survey: object  # programmes.models.Survey or None
    survey_results: object  # programmes.selectors.survey.SurveyResults or None
    comments: list
    ready_task: LogisticsTask | None
    assembled_at: datetime.datetime

    @property
    def is_ready(self) -> bool:
        return self.ready_task is not None and self.ready_task.done_at is not None


def data_pack(visit: Visit) -> DataPack:
    survey = programme_survey(visit.programme)
    return DataPack(
        visit=visit,
        team=list(site_team(visit.host)),
        figures=site_profile(visit.host, visit.programme, team_label="Host team"),
        survey=survey,
        survey_results=survey_results(survey, visit.host) if survey else None,
        # The pack is read by the visiting team, so even the core team sees the comments as
        # shared, never as written.
        comments=survey_comments(survey, visit.host, include_unreviewed=False) if survey else [],
        ready_task=visit.tasks.filter(kind=LogisticsTask.Kind.DATA_PACK)
        .select_related("done_by").first(),
        assembled_at=timezone.now(),
    )


def may_read_data_pack(user: User, visit: Visit, *, is_core: bool) -> bool:
    """The core team and the host team may read the pack as it is being prepared; the
    visiting team once the core team has marked it ready."""
    if is_core:
        return True
    if is_site_member(user, visit.host):
        return True
    return visit.tasks.filter(kind=LogisticsTask.Kind.DATA_PACK,
                              done_at__isnull=False).exists()


@dataclass
class Observer:
    response: ObservationResponse
    role: str = ""  # "Other clinician (thoracic surgery)"
    short_role: str = ""  # "Thoracic surgery", "CNS": for the report's narrow columns


@dataclass
class ObservationBlock:
    """The submitted answers to one version of the form, a column per observer."""

    form: ObservationForm
    observers: list[Observer]
    sections: list[dict] = field(default_factory=list)


@dataclass
class CombinedObservations:
    blocks: list[ObservationBlock]  # newest form version first
    submitted_count: int
    draft_count: int


def _side_by_side(form: ObservationForm, observers: list[Observer]) -> list[dict]:
    sections = []
    for section in form.definition:
        rows = []
        for question in section["questions"]:
            values = [o.response.answers.get(question["key"]) for o in observers]
            rows.append({
                "text": question["text"], "type": question["type"],
                "cells": [observation_rules.display_answer(question, v) for v in values],
                "summary": observation_rules.summarise(question, values),
            })
        sections.append({"key": section["key"], "title": section["title"], "rows": rows})
    return sections


def combined_observations(visit: Visit) -> CombinedObservations:
    """Every submitted observation of the host's MDT meeting, question by question, with each
    observer's role in the visiting team and a summary across observers. Drafts are counted,
    never shown. Used by the combined observations page and the visit report."""
    responses = list(visit.observations.select_related("form", "observer").order_by(
        "observer__full_name", "pk"))
    submitted = [r for r in responses if r.submitted_at is not None]
    roles: dict[int, tuple[str, str]] = {}
    for user_id, role, specialty in SiteMembership.objects.filter(
            site_id=visit.visitor_id, user_id__in=[r.observer_id for r in submitted]).order_by(
            "-joined_at").values_list("user_id", "role", "clinical_specialty"):
        label = SiteMembership.Role(role).label if role in SiteMembership.Role.values else role
        short = {SiteMembership.Role.CNS: "CNS", SiteMembership.Role.MDT_COORDINATOR: "MDTC"
                 }.get(role) or (specialty[:1].upper() + specialty[1:] if specialty else label)
        roles.setdefault(user_id, (f"{label} ({specialty})" if specialty else label, short))
    blocks: dict[int, ObservationBlock] = {}
    for response in submitted:
        block = blocks.setdefault(response.form_id, ObservationBlock(response.form, []))
        block.observers.append(Observer(response, *roles.get(response.observer_id, ("", ""))))
    ordered = sorted(blocks.values(), key=lambda b: -b.form.version)
    for block in ordered:
        block.sections = _side_by_side(block.form, block.observers)
    return CombinedObservations(ordered, len(submitted), len(responses) - len(submitted))
