"""The qips app's exports: plans, their measures, the data and the monthly updates.

Registered from QipsConfig.ready; ilcop.exports explains the machinery and
docs/exports.md every column. A site member gets their own site's plans only: a plan the
partner shares with them, or one in the programme's library, is the other team's to export.
Measurements are the largest export (a national programme holds hundreds of thousands), so
their rows are read in one query joined to the plan and site, never per measure.
"""

from django.db.models import QuerySet

from ilcop.exports import Column, Dataset, choices_text, register
from programmes.models import Programme

from .models import Measure, Measurement, ProgressUpdate, QualityImprovementPlan

Plan = QualityImprovementPlan


def _plans(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = Plan.objects.filter(programme=programme)
    if sites is not None:
        rows = rows.filter(site__in=sites)
    return rows.order_by("pk")


def _measures(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = Measure.objects.filter(plan__programme=programme)
    if sites is not None:
        rows = rows.filter(plan__site__in=sites)
    return rows.order_by("plan_id", "order", "pk")


def _measurements(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = Measurement.objects.filter(measure__plan__programme=programme)
    if sites is not None:
        rows = rows.filter(measure__plan__site__in=sites)
    # The (measure, period) unique index serves this order.
    return rows.order_by("measure_id", "period")


def _updates(programme: Programme, sites: QuerySet | None) -> QuerySet:
    rows = ProgressUpdate.objects.filter(plan__programme=programme)
    if sites is not None:
        rows = rows.filter(plan__site__in=sites)
    return rows.order_by("plan_id", "month")


register(Dataset(
    slug="plans",
    title="Improvement plans",
    description="Each quality improvement plan: its site, its SMART aim and where it is in "
                "review and delivery.",
    columns=(
        Column("plan_id", "The plan's number; measures and updates name their plan by it.",
               "pk"),
        Column("site_code", "The site whose plan it is (see Sites).", "site__code"),
        Column("visit_id", "The visit whose agreed focus area the plan grew from, if any "
               "(see Visits).", "focus_area__visit_id"),
        Column("title", "The plan's title.", "title"),
        Column("status", f"Where the plan is: {choices_text(Plan.Status)}.", "status"),
        Column("category", f"The kind of change: {choices_text(Plan.Category)}; empty if "
               "not chosen.", "category"),
        Column("aim_what", "The aim: what will improve.", "aim_what"),
        Column("aim_how_much", "The aim: by how much.", "aim_how_much"),
        Column("aim_by_when", "The aim: by when.", "aim_by_when"),
        Column("aim_for_whom", "The aim: for whom.", "aim_for_whom"),
        Column("created_at", "When the plan was started (UTC).", "created_at"),
        Column("status_changed_at", "When the status last changed (UTC).",
               "status_changed_at"),
        Column("approved_at", "When the core team approved the plan (UTC); empty before.",
               "approved_at"),
        Column("shared_with_partner", "TRUE if the team shares the plan with its partner "
               "site.", "share_with_partner"),
        Column("shared_with_programme", "TRUE if the team shares the plan in the programme's "
               "library.", "share_with_programme"),
    ),
    rows=_plans,
))

register(Dataset(
    slug="measures",
    title="Measures",
    description="Each plan's family of measures, with its operational definition.",
    columns=(
        Column("measure_id", "The measure's number; measurements name their measure by it.",
               "pk"),
        Column("plan_id", "The plan (see Improvement plans).", "plan_id"),
        Column("site_code", "The plan's site.", "plan__site__code"),
        Column("kind", f"The measure's place in the family: {choices_text(Measure.Kind)}.",
               "kind"),
        Column("name", "The measure's name.", "name"),
        Column("numerator_definition", "What is counted.", "numerator"),
        Column("denominator_definition", "Out of what; empty for a count or a time, whose "
               "measurements have a value instead.", "denominator"),
        Column("frequency", f"How often it is measured: {choices_text(Measure.Frequency)}.",
               "frequency"),
        Column("data_source", "Where the data comes from.", "data_source"),
        Column("direction", f"Which way is better: {choices_text(Measure.Direction)}.",
               "direction"),
        Column("baseline", "Where it stood at the start (a percentage from 0 to 100 for a "
               "measure with a denominator).", "baseline"),
        Column("target", "Where it should get to, on the same scale as the baseline.",
               "target"),
    ),
    rows=_measures,
))

register(Dataset(
    slug="measurements",
    title="Measurements",
    description="Every data point entered for a measure: one row per measure and period.",
    columns=(
        Column("measure_id", "The measure (see Measures).", "measure_id"),
        Column("plan_id", "The measure's plan.", "measure__plan_id"),
        Column("site_code", "The plan's site.", "measure__plan__site__code"),
        Column("period", "The first day of the week, month or quarter the data is for.",
               "period"),
        Column("numerator", "For a measure with a denominator: how many were counted.",
               "numerator"),
        Column("denominator", "For a measure with a denominator: out of how many.",
               "denominator"),
        Column("value", "For a count or a time: the value. Empty when numerator and "
               "denominator are given.", "value"),
    ),
    rows=_measurements,
))

register(Dataset(
    slug="progress-updates",
    title="Progress updates",
    description="Each plan's monthly progress update from its team, in the team's words.",
    columns=(
        Column("plan_id", "The plan (see Improvement plans).", "plan_id"),
        Column("site_code", "The plan's site.", "plan__site__code"),
        Column("month", "The first day of the month the update is for.", "month"),
        Column("rag", f"The team's own status: {choices_text(ProgressUpdate.Rag)}.", "rag"),
        Column("what_we_did", "What the team did that month.", "done"),
        Column("what_the_data_shows", "What the team reads in its data.", "new_data"),
        Column("barriers", "What got in the way.", "barriers"),
        Column("help_needed", "Help the team asked the core team for.", "help_needed"),
        Column("submitted_at", "When the update was sent (UTC).", "submitted_at"),
    ),
    rows=_updates,
))
