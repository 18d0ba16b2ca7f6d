"""The versions that cached page fragments are keyed on.

A plan's ``content_version`` is replaced whenever an activity-log entry is filed under the
plan, and its programme's ``plans_version`` with it. ilcop.activity.log_action is the one
place every state change is written, and every change to a plan or one of its parts (its
measures and measurements, drivers, change ideas, PDSA cycles, roles, barriers, milestones,
progress updates, review comments and support) files its entry under the plan, in the same
transaction as the change. A plan deleted (no service deletes one, but a site deleted by staff
in the admin takes its plans with it) files no entry, so it replaces its programme's
plans_version as it goes. So a fragment cached under a plan's content_version, or a figure
worked out from all a programme's plans cached under its plans_version (the dashboard's plan
counts, qips.selectors.plans_health), can never be served after the data it came from has
changed. qips.signals calls these as each entry is written and each plan deleted.

The versions are random rather than counters, for the reason Measure.data_version is: a
database rebuilt or restored, or another one sharing the cache, never meets a fragment cached
for other data under the same plan and number.
"""

import uuid
from collections.abc import Iterable

from programmes.models import Programme

from ..models import QualityImprovementPlan


def plan_versions_replace(plans: Iterable[QualityImprovementPlan]) -> None:
    """Give each plan a new content_version, and each of their programmes a new
    plans_version. The caller's instances get the new values too, so a later save() of one
    cannot write the old version back. Two UPDATEs for one plan; none for no plan."""
    by_pk: dict[int, list[QualityImprovementPlan]] = {}
    for plan in plans:
        by_pk.setdefault(plan.pk, []).append(plan)
    if not by_pk:
        return
    for pk, instances in by_pk.items():
        version = uuid.uuid4()
        QualityImprovementPlan.objects.filter(pk=pk).update(content_version=version)
        for plan in instances:
            plan.content_version = version
    programme_ids = {instances[0].programme_id for instances in by_pk.values()}
    Programme.objects.filter(pk__in=programme_ids).update(plans_version=uuid.uuid4())


def programme_plans_version_replace(programme_id: int) -> None:
    """Give the programme a new plans_version: for a change to its set of plans that files
    no entry under a plan (a plan deleted)."""
    Programme.objects.filter(pk=programme_id).update(plans_version=uuid.uuid4())
