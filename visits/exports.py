"""The visits app's exports: visits and who attended them.

Registered from VisitsConfig.ready; ilcop.exports explains the machinery and
docs/exports.md every column. A site member gets the visits their site hosted or made and
the attendance at them, which includes the partner team's people: both teams see them on
the visit page and in the report.
"""

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When

from ilcop.exports import Column, Dataset, choices_text, register
from programmes.models import Programme

from .calendar import ROLE_LABELS
from .models import Visit, VisitAttendee


def _visits(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = Visit.objects.filter(programme=programme)
    if sites is not None:
        rows = rows.filter(Q(host__in=sites) | Q(visitor__in=sites))
    return rows.order_by("pk")


def _attendance(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = VisitAttendee.objects.filter(visit__programme=programme)
    if sites is not None:
        rows = rows.filter(Q(visit__host__in=sites) | Q(visit__visitor__in=sites))
    return rows.annotate(site_code=Case(
        When(team=VisitAttendee.Team.HOST, then=F("visit__host__code")),
        When(team=VisitAttendee.Team.VISITING, then=F("visit__visitor__code")),
        default=Value(""), output_field=CharField(),
    )).order_by("visit_id", "team", "role", "pk")


register(Dataset(
    slug="visits",
    title="Visits",
    description="Each visit: who hosted, who visited, its state and its date.",
    columns=(
        Column("visit_id", "The visit's number; attendance and plans name their visit by it.",
               "pk"),
        Column("host_site_code", "The site whose MDT was visited.", "host__code"),
        Column("visitor_site_code", "The visiting site.", "visitor__code"),
        Column("pair_id", "The pair the visit belongs to (see Pairs); empty for a visit "
               "outside a pair, such as a three-site rotation.", "pair_id"),
        Column("follows_visit_id", "The visit that must happen first, for a pair's return "
               "visit.", "after_id"),
        Column("status", f"The visit's state: {choices_text(Visit.Status)}.", "status"),
        Column("date", "The visit's date, once agreed.", "date"),
        Column("start_time", "When the day starts, as a London time of day (HH:MM).",
               "start_time"),
        Column("end_time", "When the day ends, as a London time of day (HH:MM).",
               "end_time"),
        Column("facilitator", "The QI facilitator's name, once assigned.",
               "facilitator__full_name"),
        Column("confirmed_without_minimum", "TRUE if the core team confirmed the visit "
               "without the minimum attendance, recording why.", "quorum_override_reason",
               bool),
        Column("created_at", "When the visit was set up (UTC).", "created_at"),
    ),
    rows=_visits,
))

register(Dataset(
    slug="attendance",
    title="Attendance",
    description="Each person on a visit's attendance list, their team and role, and "
                "whether they came.",
    columns=(
        Column("visit_id", "The visit (see Visits).", "visit_id"),
        Column("visit_date", "The visit's date, once agreed.", "visit__date"),
        Column("site_code", "The person's site: the host's for the host team, the visitor's "
               "for the visiting team; empty for the facilitator.", "site_code"),
        Column("team", f"Their team: {choices_text(VisitAttendee.Team)}.", "team"),
        Column("name", "The person's name.", "user__full_name"),
        Column("role", "Their role on the day: "
               + "; ".join(f"{code} ({label})" for code, label in ROLE_LABELS.items())
               + ".", "role"),
        Column("present", "TRUE if they came, FALSE if they did not; empty until attendance "
               "is recorded.", "present"),
    ),
    rows=_attendance,
))
