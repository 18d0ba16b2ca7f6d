"""The costly parts of a plan's page, rendered once per kind of viewer and cached.

The driver diagram, the measures with their charts, the PDSA cycles, the roles, timeline and
sustainability, the barriers, and the achievements with the results make up most of the page
and of its queries, and they show nothing but the plan's own data. They are cached as HTML
under a key made of:

- the plan's ``content_version``, which every change to the plan or one of its parts replaces
  in the writer's transaction (qips.services.versions), so a part is never served after what
  it shows has changed;
- ``code_release()``, so a release that changes a template or a drawing function never serves
  what the old code produced;
- the viewer's Access (core team, site team), since the parts show edit links to the plan's
  team only and some text differs by viewer;
- today's date for the timeline, where a review's action plan marks its overdue actions.

The parts show no one's name held outside the plan (the roles, owners and milestones are the
team's own text), and no form: the PDSA cycles carry the team's "Complete the cycle" forms,
with their CSRF tokens, so for the team of a plan still open they are rendered on every
request. What the page shows from outside the plan (the site and its organisation, the focus
area, who approved it, the evidence from the programme's audit and survey, resources, progress
updates, review comments, support, similar plans and the history, with people's names) is
read and rendered on every request, as before. The queries that only feed a part are made only
when that part is not cached.
"""

import hashlib

from django.core.cache import cache
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from ilcop.cache import code_release

from . import guidance, selectors
from .models import PdsaCycle, QualityImprovementPlan
from .views.charts import charts_for

# A part unchanged for a day is rendered again; one whose plan changes is never served again.
PART_CACHE_SECONDS = 24 * 60 * 60
TEMPLATES = "qips/plan_parts/{}.html"
# The parts in the order of the page, and the ones that show what depends on the date.
PARTS = ("aim_and_measures", "pdsa", "roles_to_sustainability", "barriers",
         "achievements_and_results")
DATED = ("roles_to_sustainability",)


def part_key(plan: QualityImprovementPlan, who: selectors.Access, name: str) -> str:
    return "plan-part-" + hashlib.sha256(repr((
        code_release(), name, plan.pk, str(plan.content_version), who.core, who.team,
        timezone.localdate().isoformat() if name in DATED else None,
    )).encode()).hexdigest()


def _cacheable(name: str, plan: QualityImprovementPlan, who: selectors.Access) -> bool:
    # The team's PDSA cycles of an open plan hold forms, which must carry this request's
    # CSRF token.
    return not (name == "pdsa" and who.team and plan.is_editable)


def _context(plan: QualityImprovementPlan, who: selectors.Access, names: set[str]) -> dict:
    """What the parts ``names`` render, read in as few queries as they allow."""
    context = {"plan": plan, "who": who}
    if names & {"aim_and_measures", "pdsa"}:
        # One read of the cycles for the list and the charts' annotations alike.
        prefetch_related_objects([plan], Prefetch(
            "pdsa_cycles",
            queryset=PdsaCycle.objects.select_related("change_idea", "follows")))
        context["cycles"] = plan.pdsa_cycles.all()
    if names & {"aim_and_measures", "achievements_and_results"}:
        measures = selectors.measures_with_data(plan)
        context["achievements"] = selectors.planned_vs_achieved(plan, measures)
    if "aim_and_measures" in names:
        context.update(
            tree=selectors.driver_tree(plan),
            charts=charts_for(measures, plan) if measures else [],
            aim_warnings=guidance.aim_warnings(
                what=plan.aim_what, how_much=plan.aim_how_much, by_when=plan.aim_by_when,
                for_whom=plan.aim_for_whom),
            measure_warnings=guidance.measure_warnings(m.kind for m in measures))
    if "roles_to_sustainability" in names:
        roles = list(plan.roles.all())
        context.update(
            roles=roles, milestones=plan.milestones.all(),
            sustainability_warnings=guidance.sustainability_warnings(
                plan_text=plan.sustainability_plan,
                owners_permanent=[r.permanent_staff for r in roles if r.owns_sustainability]))
    if "barriers" in names:
        context["barriers"] = plan.barriers.all()
    return context


def plan_parts(request: HttpRequest, plan: QualityImprovementPlan,
               who: selectors.Access) -> dict[str, SafeString]:
    """The parts of the plan's page this viewer sees, by name: from the cache where they are
    there, the others rendered (and cached, unless they hold a form)."""
    names = [name for name in PARTS if name != "barriers" or not who.reader_only]
    keys = {name: part_key(plan, who, name) for name in names if _cacheable(name, plan, who)}
    cached = cache.get_many(list(keys.values())) if keys else {}
    parts = {name: cached[keys[name]] for name in names if keys.get(name) in cached}
    missing = {name for name in names if name not in parts}
    if missing:
        context = _context(plan, who, missing)
        drawn = {}
        for name in missing:
            if name in keys:
                parts[name] = drawn[keys[name]] = render_to_string(
                    TEMPLATES.format(name), context)
            else:
                parts[name] = render_to_string(TEMPLATES.format(name), context, request)
        if drawn:
            cache.set_many(drawn, PART_CACHE_SECONDS)
    return {name: mark_safe(html) for name, html in parts.items()}


def similar_plans(plan: QualityImprovementPlan) -> list[QualityImprovementPlan]:
    """selectors.similar_plans, which plans they are cached under the programme's
    plans_version: it is replaced with every change to any of the programme's plans, and
    which plans are similar, and in what order, depends only on the plans (whether they
    are shared, their status, category, indicators, site and approval). The plans themselves
    are read again, with their sites' names, which are not the plans' data."""
    key = "similar-plans-" + hashlib.sha256(repr((
        plan.pk, str(plan.programme.plans_version))).encode()).hexdigest()
    pks = cache.get(key)
    if pks is not None:
        found = QualityImprovementPlan.objects.select_related("site__organisation").in_bulk(pks)
        # A plan deleted without a log entry leaves a gap that a 6th plan may fill.
        if len(found) == len(pks):
            return [found[pk] for pk in pks]
    similar = selectors.similar_plans(plan)
    cache.set(key, [other.pk for other in similar], PART_CACHE_SECONDS)
    return similar
