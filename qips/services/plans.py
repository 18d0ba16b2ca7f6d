"""Creating plans, the review workflow, and approval's frozen commitment."""

from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.concurrency import lock_for_edit, unchanged, version_bump
from ilcop.models import User
from ilcop.services import changed_summary, model_update
from programmes.models import Programme, Site
from visits.models import FocusArea

from .. import guidance
from ..models import QualityImprovementPlan, ReviewComment
from . import action_plans

Status = QualityImprovementPlan.Status

# Who may move a plan from one state to another: the site team ("team") or the core team.
TRANSITIONS: dict[str, dict[str, tuple[str, str]]] = {
    "submit": {Status.DRAFT: (Status.SUBMITTED, "team"),
               Status.CHANGES_REQUESTED: (Status.RESUBMITTED, "team")},
    "request_changes": {Status.SUBMITTED: (Status.CHANGES_REQUESTED, "core"),
                        Status.RESUBMITTED: (Status.CHANGES_REQUESTED, "core")},
    "approve": {Status.SUBMITTED: (Status.APPROVED, "core"),
                Status.RESUBMITTED: (Status.APPROVED, "core")},
    "start": {Status.APPROVED: (Status.IN_PROGRESS, "team")},
    "hold": {Status.IN_PROGRESS: (Status.ON_HOLD, "team")},
    "resume": {Status.ON_HOLD: (Status.IN_PROGRESS, "team")},
    "complete": {Status.IN_PROGRESS: (Status.COMPLETED, "team")},
    "stop": {Status.APPROVED: (Status.STOPPED, "team"),
             Status.IN_PROGRESS: (Status.STOPPED, "team"),
             Status.ON_HOLD: (Status.STOPPED, "team")},
}
SUMMARIES = {
    "submit": "Submitted the plan for review", "request_changes": "Asked for changes",
    "approve": "Approved the plan", "start": "Started work on the plan",
    "hold": "Put the plan on hold", "resume": "Resumed the plan",
    "complete": "Completed the plan", "stop": "Stopped the plan",
}


class TransitionRefused(Exception):
    pass


def _log(plan: QualityImprovementPlan, verb: str, user: User, summary: str, **data) -> None:
    log_action(plan, verb, actor=user, summary=summary, data=data,
               scopes=[plan.programme, plan.site])


@transaction.atomic
def plan_create(*, programme: Programme, site: Site, user: User, title: str,
                focus_area: FocusArea | None = None) -> QualityImprovementPlan:
    plan = QualityImprovementPlan.objects.create(
        programme=programme, site=site, title=title, focus_area=focus_area, created_by=user,
        reporting_owner=user,
        problem_statement=focus_area.description if focus_area else "",
    )
    _log(plan, "qip.created", user, "Started a quality improvement plan"
         + (" from a visit focus area" if focus_area else ""),
         focus_area=focus_area.pk if focus_area else None)
    return plan


def plan_from_focus_area(*, focus_area: FocusArea, user: User) -> tuple[QualityImprovementPlan,
                                                                         bool]:
    """The draft plan for a focus area agreed at a visit: made once, so a second click (or
    a double-submitted form) opens the same draft."""
    with transaction.atomic():
        FocusArea.objects.select_for_update().get(pk=focus_area.pk)
        existing = QualityImprovementPlan.objects.filter(focus_area=focus_area).first()
        if existing:
            return existing, False
        visit = focus_area.visit
        return plan_create(programme=visit.programme, site=visit.host, user=user,
                           title=focus_area.title, focus_area=focus_area), True


AIM_FIELDS = ("aim_what", "aim_how_much", "aim_by_when", "aim_for_whom")


def _aim(plan: QualityImprovementPlan) -> dict:
    return {"what": plan.aim_what, "how_much": plan.aim_how_much,
            "by_when": plan.aim_by_when.isoformat() if plan.aim_by_when else None,
            "for_whom": plan.aim_for_whom, "statement": plan.aim_statement}


@transaction.atomic
def plan_update(*, plan: QualityImprovementPlan, user: User, indicators=None,
                survey_questions=None, version: int | None = None,
                **fields) -> QualityImprovementPlan:
    """Save the plan's form. ``version`` is the one the form was opened from: if someone
    else has saved since, and this would overwrite their change, ``EditConflict`` is raised
    and nothing is written (ilcop.concurrency)."""
    relations = {name: value for name, value in (("indicators", indicators),
                                                  ("survey_questions", survey_questions))
                 if value is not None}
    current = lock_for_edit(QualityImprovementPlan.objects.all(), pk=plan.pk,
                            version=version, changes={**fields, **relations})
    if not current.is_editable:
        raise TransitionRefused("A completed or stopped plan cannot be changed.")
    if unchanged(current, {**fields, **relations}):
        return plan
    before = _aim(current)
    version_bump(current)
    changed = model_update(instance=current, data=fields)
    for name, value in relations.items():
        if not unchanged(current, {name: value}):
            getattr(current, name).set(value)
            changed.append(name)
    current.updated_at = timezone.now()
    current.save(update_fields=["updated_at"])
    for name in [*fields, "updated_at", "version"]:  # the caller's copy matches the database
        setattr(plan, name, getattr(current, name))
    aim_changed = current.is_approved and any(f in changed for f in AIM_FIELDS)
    if aim_changed:
        # Allowed, but never silent: the page shows the approved aim beside the new one.
        _log(plan, "qip.aim_changed", user, "Changed the aim after approval",
             before=before["statement"], after=current.aim_statement)
    else:
        labels = [f for f in changed if f not in ("indicators", "survey_questions")]
        summary = changed_summary(QualityImprovementPlan, labels) if labels else \
            "Changed the evidence"
        _log(plan, "qip.updated", user, summary, fields=changed)
    return plan


def submit_problems(plan: QualityImprovementPlan) -> list[str]:
    """What must be in a plan before the core team can review it."""
    if plan.review_id:
        return action_plans.submit_problems(plan)
    problems = []
    if not plan.problem_statement.strip():
        problems.append("Write the problem statement.")
    if not plan.aim_what.strip():
        problems.append("Say what the aim is.")
    if not plan.measures.exists():
        problems.append("Add at least one measure.")
    return problems


def _measures_snapshot(plan: QualityImprovementPlan) -> list[dict]:
    return [{"id": m.pk, "name": m.name, "kind": m.kind, "numerator": m.numerator,
             "denominator": m.denominator, "direction": m.direction,
             "baseline": m.baseline, "target": m.target}
            for m in plan.measures.all()]


@transaction.atomic
def plan_transition(*, plan: QualityImprovementPlan, action: str, user: User, as_core: bool,
                    note: str = "") -> QualityImprovementPlan:
    """Move the plan along its workflow. ``as_core`` says whether the person acts for the
    core team; each move belongs to one side."""
    given, plan = plan, QualityImprovementPlan.objects.select_for_update().get(pk=plan.pk)
    move = TRANSITIONS.get(action, {}).get(plan.status)
    if move is None:
        raise TransitionRefused(f"A plan that is {plan.get_status_display().lower()} cannot "
                                f"be moved that way. Reload the page to see its state.")
    target, side = move
    if (side == "core") != as_core:
        raise TransitionRefused("Only the " + ("core team" if side == "core" else
                                               "site's team") + " can do that.")
    if action == "submit" and (problems := submit_problems(plan)):
        raise TransitionRefused("Before submitting: " + " ".join(problems))
    if action == "approve" and plan.review_id and (
            problems := action_plans.approval_problems(plan)):
        raise TransitionRefused("Before approving: " + " ".join(problems))
    if action == "request_changes" and not (note.strip() or plan.review_comments.filter(
            response="", created_at__gte=plan.status_changed_at).exists()):
        raise TransitionRefused("Say what should change: add a comment first.")
    if action == "stop" and not note.strip():
        raise TransitionRefused("Say why the plan is stopping.")
    if note.strip() and action == "request_changes":
        ReviewComment.objects.create(plan=plan, field=ReviewComment.Field.GENERAL,
                                     text=note.strip(), author=user)
    now = timezone.now()
    plan.status, plan.status_changed_at = target, now
    update = ["status", "status_changed_at"]
    if action == "approve":
        plan.approved_at, plan.approved_by = now, user
        plan.commitment = guidance.commitment(aim=_aim(plan),
                                              measures=_measures_snapshot(plan))
        update += ["approved_at", "approved_by", "commitment"]
    plan.save(update_fields=update)
    _log(plan, f"qip.{action}", user, SUMMARIES[action], status=target,
         **({"reason": note.strip()} if action == "stop" else {}))
    for name in update:  # the caller's copy now matches the database
        setattr(given, name, getattr(plan, name))
    return given


@transaction.atomic
def review_comment_add(*, plan: QualityImprovementPlan, user: User, field: str,
                       text: str) -> ReviewComment:
    comment = ReviewComment.objects.create(plan=plan, field=field, text=text.strip(),
                                           author=user)
    _log(plan, "qip.commented", user, f"Commented on {comment.get_field_display().lower()}")
    return comment


@transaction.atomic
def review_comment_respond(*, comment: ReviewComment, user: User,
                           response: str) -> ReviewComment:
    comment.response, comment.responded_by = response.strip(), user
    comment.responded_at = timezone.now()
    comment.save(update_fields=["response", "responded_by", "responded_at"])
    _log(comment.plan, "qip.comment_answered", user,
         f"Answered a comment on {comment.get_field_display().lower()}")
    return comment

