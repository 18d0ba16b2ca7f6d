import datetime
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User

from .. import funnel
from ..models import Enrolment


def _validate_details(
    target: str, *, approved_by: str, approved_on: datetime.date | None, reason: str
) -> None:
    errors = {}
    if target == Enrolment.Status.APPROVED:
        if not approved_by.strip():
            errors["approved_by"] = "Enter the name and job title of the executive who approved"
        if approved_on is None:
            errors["approved_on"] = "Enter the date of the executive's approval"
        elif approved_on > timezone.localdate():
            errors["approved_on"] = "The date of approval must be today or in the past"
    if target in (Enrolment.Status.INELIGIBLE, Enrolment.Status.WITHDRAWN) and not reason.strip():
        errors["reason"] = (
            "Enter why the site is ineligible"
            if target == Enrolment.Status.INELIGIBLE
            else "Enter why the site is withdrawing"
        )
    if errors:
        raise ValidationError(errors)


def _apply(
    enrolment: Enrolment, target: str, *, user: User, approved_by: str,
    approved_on: datetime.date | None, reason: str,
) -> None:
    previous = enrolment.status
    enrolment.status = target
    enrolment.status_changed_at = timezone.now()
    enrolment.status_changed_by = user
    fields = ["status", "status_changed_at", "status_changed_by"]
    if target == Enrolment.Status.APPROVED:
        enrolment.approved_by, enrolment.approved_on = approved_by.strip(), approved_on
        fields += ["approved_by", "approved_on"]
    elif target == Enrolment.Status.INELIGIBLE:
        enrolment.ineligible_reason = reason.strip()
        fields.append("ineligible_reason")
    elif target == Enrolment.Status.ELIGIBLE and enrolment.ineligible_reason:
        # Re-assessed as eligible: the old reason no longer applies (the log keeps it).
        enrolment.ineligible_reason = ""
        fields.append("ineligible_reason")
    elif target == Enrolment.Status.WITHDRAWN:
        enrolment.withdrawn_reason, enrolment.withdrawn_from = reason.strip(), previous
        fields += ["withdrawn_reason", "withdrawn_from"]
    enrolment.save(update_fields=fields)

    summary = (
        f"Moved from {Enrolment.Status(previous).label} to {Enrolment.Status(target).label}"
    )
    if target == Enrolment.Status.APPROVED:
        summary += (f" (approved by {enrolment.approved_by} on "
                    f"{approved_on.day} {approved_on:%B %Y})")
    data = {"from": previous, "to": target}
    if reason.strip() and target in (Enrolment.Status.INELIGIBLE, Enrolment.Status.WITHDRAWN):
        data["reason"] = reason.strip()
    log_action(
        enrolment, "enrolment.moved", actor=user, summary=summary, data=data,
        scopes=[enrolment.programme, enrolment.site],
    )


def enrolment_move(
    *, enrolment: Enrolment, target: str, user: User, approved_by: str = "",
    approved_on: datetime.date | None = None, reason: str = "",
) -> Enrolment:
    """Move one enrolment to ``target``, recording who moved it and when."""
    return enrolments_move(
        enrolments=[enrolment], target=target, user=user, approved_by=approved_by,
        approved_on=approved_on, reason=reason,
    )[0]


@transaction.atomic
def enrolments_move(
    *, enrolments: Sequence[Enrolment], target: str, user: User, approved_by: str = "",
    approved_on: datetime.date | None = None, reason: str = "", by_randomisation: bool = False,
) -> list[Enrolment]:
    """Move every enrolment to ``target``, or none of them.

    Rows are locked first, so two people moving the same sites at once cannot both succeed
    from a stale status (the second sees the move is no longer allowed).
    """
    _validate_details(target, approved_by=approved_by, approved_on=approved_on, reason=reason)
    locked = list(
        Enrolment.objects.select_for_update()
        .select_related("site__organisation", "programme")
        .filter(pk__in=[e.pk for e in enrolments])
        .order_by("pk")
    )
    blocked = [e for e in locked
               if target not in funnel.allowed_moves(e.status, by_randomisation=by_randomisation)]
    if blocked:
        names = "; ".join(f"{e.site} ({e.get_status_display()})" for e in blocked[:5])
        more = f" and {len(blocked) - 5} more" if len(blocked) > 5 else ""
        raise ValidationError(
            f"Nothing was moved. These sites cannot move to "
            f"“{Enrolment.Status(target).label}” from where they are now: {names}{more}."
        )
    for enrolment in locked:
        if enrolment.status != target:
            _apply(enrolment, target, user=user, approved_by=approved_by,
                   approved_on=approved_on, reason=reason)
    return locked
