"""The parts of a plan the team adds and edits: driver diagram, roles, milestones, barriers,
measures, PDSA cycles, progress updates and the core team's support. Each write is logged on
the plan's timeline."""

import datetime

from django.db import models, transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.concurrency import lock_for_edit, unchanged, version_bump
from ilcop.models import User
from ilcop.services import model_update

from ..models import (
    Barrier,
    Driver,
    Measure,
    MeasureRebase,
    Milestone,
    PdsaCycle,
    PlanRole,
    ProgressUpdate,
    QualityImprovementPlan,
    SupportRecord,
)

PARTS = {Driver: "driver diagram", PlanRole: "role", Milestone: "milestone",
         Barrier: "barrier", Measure: "measure", PdsaCycle: "PDSA cycle",
         MeasureRebase: "chart rebase"}


class PartRefused(Exception):
    pass


def _log(plan: QualityImprovementPlan, verb: str, user: User, summary: str,
         data: dict | None = None) -> None:
    plan.updated_at = timezone.now()
    plan.save(update_fields=["updated_at"])
    log_action(plan, verb, actor=user, summary=summary, data=data,
               scopes=[plan.programme, plan.site])


def _check_editable(plan: QualityImprovementPlan) -> None:
    if not plan.is_editable:
        raise PartRefused("A completed or stopped plan cannot be changed.")


@transaction.atomic
def part_save(*, plan: QualityImprovementPlan, user: User, model: type[models.Model],
              instance: models.Model | None = None, version: int | None = None,
              **fields) -> models.Model:
    """Add a part to the plan, or change one. For a change, ``version`` is the one the form
    was opened from: if someone else has saved the part since, and this would overwrite
    their change, ``EditConflict`` is raised and nothing is written (ilcop.concurrency)."""
    _check_editable(plan)
    name = PARTS[model]
    if model is Milestone:
        fields = milestone_in_step(fields, timezone.localdate())
    if instance is None:
        instance = model(**({"plan": plan} if hasattr(model, "plan_id") else {}), **fields)
        if hasattr(instance, "created_by_id"):
            instance.created_by = user
        instance.full_clean()
        instance.save()
        _log(plan, "qip.part_added", user, f"Added a {name}: {str(instance)[:80]}")
        return instance
    current = lock_for_edit(model.objects.all(), pk=instance.pk, version=version,
                            changes=fields)
    if unchanged(current, fields):
        return instance
    version_bump(current)
    changed = model_update(instance=current, data=fields)
    for field in [*fields, "version"]:  # the caller's copy matches the database
        setattr(instance, field, getattr(current, field))
    # The part and version in the entry name who made the version a later conflict shows.
    _log(plan, "qip.part_changed", user, f"Changed a {name}: {str(current)[:80]}",
         data={"part": name, "part_id": current.pk, "version": current.version,
               "fields": changed})
    return instance


def milestone_in_step(fields: dict, today: datetime.date) -> dict:
    """A milestone is done exactly when it has a date done: a date given makes it done, and
    marking it done without a date dates it today. Clearing the date of a done milestone
    reopens it as in progress."""
    fields = dict(fields)
    status, done_on = fields.get("status"), fields.get("done_on")
    if done_on:
        fields["status"] = Milestone.Status.DONE
    elif status == Milestone.Status.DONE:
        fields["done_on"] = today
    elif "done_on" in fields and status is None:
        fields["status"] = Milestone.Status.IN_PROGRESS
    return fields


@transaction.atomic
def part_delete(*, plan: QualityImprovementPlan, user: User, instance: models.Model) -> None:
    _check_editable(plan)
    if isinstance(instance, Driver) and PdsaCycle.objects.filter(
            change_idea__in=_with_descendants(instance)).exists():
        raise PartRefused("PDSA cycles test this change idea, so it cannot be removed.")
    if isinstance(instance, Measure) and instance.measurements.exists():
        raise PartRefused("This measure has data. Keep it, so the record of what was "
                          "measured stays true.")
    label = f"Removed a {PARTS[type(instance)]}: {str(instance)[:80]}"
    instance.delete()
    _log(plan, "qip.part_removed", user, label)


def _with_descendants(driver: Driver) -> list[Driver]:
    found, frontier = [driver], [driver]
    while frontier:
        frontier = list(Driver.objects.filter(parent__in=frontier))
        found += frontier
    return found


@transaction.atomic
def pdsa_complete(*, cycle: PdsaCycle, user: User,
                  completed_on: datetime.date | None = None) -> PdsaCycle:
    """Close a cycle. Every stage must be written up: a test without its Study and Act
    teaches nobody anything."""
    _check_editable(cycle.plan)
    if missing := cycle.missing_stages():
        raise PartRefused("The cycle cannot be completed yet. Still to write: "
                          + "; ".join(missing) + ".")
    cycle.completed_on = completed_on or timezone.localdate()
    cycle.save(update_fields=["completed_on"])
    _log(cycle.plan, "qip.pdsa_completed", user,
         f"Completed a PDSA cycle ({cycle.get_decision_display().lower()}): {cycle.title}")
    return cycle


@transaction.atomic
def progress_update_save(*, plan: QualityImprovementPlan, user: User, month: datetime.date,
                         **fields) -> tuple[ProgressUpdate, bool]:
    """The month's update; sending it again for the same month replaces it."""
    month = month.replace(day=1)
    update, created = ProgressUpdate.objects.update_or_create(
        plan=plan, month=month,
        defaults={**fields, "submitted_by": user, "submitted_at": timezone.now()})
    _log(plan, "qip.progress_update", user,
         f"{'Sent' if created else 'Updated'} the progress update for {month:%B %Y} "
         f"({update.get_rag_display().split(':')[0].lower()})")
    return update, created


@transaction.atomic
def support_record(*, plan: QualityImprovementPlan, user: User, kind: str,
                   given_on: datetime.date, notes: str) -> SupportRecord:
    record = SupportRecord.objects.create(plan=plan, kind=kind, given_on=given_on,
                                          notes=notes, given_by=user)
    log_action(plan, "qip.support", actor=user, summary=f"Recorded support: "
               f"{record.get_kind_display().lower()}", scopes=[plan.programme])
    return record
