"""This app's part of a person's data (ilcop.privacy): plans they made or approved, review
comments, progress updates, support and PDSA cycles they wrote. Registered from
QipsConfig.ready."""

import operator
from collections.abc import Iterable
from functools import reduce

from django.db import models
from django.db.models import Q

from ilcop import privacy
from ilcop.models import User

from .models import (
    Barrier,
    Measurement,
    PdsaCycle,
    PlanRole,
    ProgressUpdate,
    QualityImprovementPlan,
    ReviewComment,
    SupportRecord,
)

PLAN = ("plan__site__code", "plan__title")


def _plans(user: User) -> list[dict]:
    plans = QualityImprovementPlan.objects.filter(
        Q(created_by=user) | Q(approved_by=user) | Q(reporting_owner=user)).order_by("pk")
    return privacy.rows(plans, "site__code", "title", "status", "created_at", "approved_at")


def _comments(user: User) -> list[dict]:
    written = privacy.rows(ReviewComment.objects.filter(author=user).order_by("pk"),
                           *PLAN, "field", "text", "created_at")
    answered = privacy.rows(ReviewComment.objects.filter(responded_by=user).order_by("pk"),
                            *PLAN, "field", "response", "responded_at")
    return ([{"action": "commented", **row} for row in written]
            + [{"action": "answered a comment", **row} for row in answered])


def _updates(user: User) -> list[dict]:
    return privacy.rows(ProgressUpdate.objects.filter(submitted_by=user).order_by("pk"),
                        *PLAN, "month", "done", "new_data", "barriers", "help_needed", "rag",
                        "submitted_at")


def _support(user: User) -> list[dict]:
    return privacy.rows(SupportRecord.objects.filter(given_by=user).order_by("pk"),
                        *PLAN, "kind", "given_on", "notes")


def _pdsa(user: User) -> list[dict]:
    return privacy.rows(PdsaCycle.objects.filter(created_by=user).order_by("pk"),
                        *PLAN, "title", "created_at")


def _measurements(user: User) -> list[dict]:
    return privacy.rows(Measurement.objects.filter(entered_by=user).order_by("pk"),
                        "measure__plan__site__code", "measure__name", "period", "entered_at")


def anonymise(user: User, *, old_name: str, old_email: str, placeholder: str,
              email: str) -> Iterable[models.Model]:
    """A plan's roles and barriers name people in free text ("Ada Okafor, lead CNS"); where
    one names this person exactly, in a plan of a site they belonged to or one they wrote,
    the name becomes the placeholder. A namesake at another site keeps their name.

    Returns every plan that names them, in free text or as who wrote, approved, answered or
    entered any part of it: the entry about their anonymising is filed under each, which
    also replaces the plans' content_version (qips.services.versions), since each now reads
    differently."""
    changed: set[int] = set()
    if old_name:
        theirs = Q(plan__site__memberships__user=user) | Q(plan__created_by=user)
        for model, field in ((PlanRole, "person"), (Barrier, "owner")):
            rows = model.objects.filter(theirs, **{f"{field}__iexact": old_name})
            changed.update(rows.values_list("plan_id", flat=True))
            model.objects.filter(pk__in=rows.values("pk")).update(**{field: placeholder})
    named = [Q(created_by=user) | Q(approved_by=user) | Q(reporting_owner=user)
             | Q(pk__in=changed)]
    named += [Q(pk__in=model.objects.filter(**{field: user}).values(plan))
              for model, field, plan in ((ReviewComment, "author", "plan_id"),
                                         (ReviewComment, "responded_by", "plan_id"),
                                         (ProgressUpdate, "submitted_by", "plan_id"),
                                         (SupportRecord, "given_by", "plan_id"),
                                         (PdsaCycle, "created_by", "plan_id"),
                                         (Measurement, "entered_by", "measure__plan_id"))]
    return list(QualityImprovementPlan.objects.filter(reduce(operator.or_, named)))


def register() -> None:
    privacy.register_section("Improvement plans", _plans)
    privacy.register_section("Review comments", _comments)
    privacy.register_section("Progress updates", _updates)
    privacy.register_section("Support recorded", _support)
    privacy.register_section("PDSA cycles", _pdsa)
    privacy.register_section("Measurements entered", _measurements)
    privacy.register_anonymiser(anonymise)
