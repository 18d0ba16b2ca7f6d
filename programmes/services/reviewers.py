"""The reviewer pool of a one-way review programme: clinical peers and patient reviewers, where
they work, their training, and the conflicts of interest they declare (programmes.review_team
reads these to refuse a reviewer for a service)."""

import datetime
import logging

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from ilcop.activity import log_action
from ilcop.celery import queue_after_commit
from ilcop.mail import send_templated_email
from ilcop.models import User

from ..models import ConflictOfInterest, Organisation, Programme, Reviewer

logger = logging.getLogger(__name__)


def _details(*, is_patient_reviewer: bool, profession: str, expertise: str, region: str,
             organisation: Organisation | None, training_completed_on: datetime.date | None,
             active: bool) -> dict:
    if is_patient_reviewer:
        # A patient reviewer has no profession (the database insists on one only for peers).
        profession = ""
    elif profession not in Reviewer.Profession.values:
        raise ValidationError({"profession": "Choose the reviewer's profession, or say they "
                                             "are a patient reviewer"})
    return {"is_patient_reviewer": is_patient_reviewer, "profession": profession,
            "expertise": expertise.strip(), "region": region, "organisation": organisation,
            "training_completed_on": training_completed_on, "active": active}


def reviewer_email_send(*, reviewer_id: int) -> None:
    """Tell someone they are in the pool, with where to set a password and find their
    reviews (called by the Celery task, whose delivery policy retries a mail server that is
    down; the password-reset page works without this email)."""
    reviewer = (Reviewer.objects.select_related("user", "programme")
                .filter(pk=reviewer_id).first())
    if reviewer is None:
        logger.info("reviewer %s is no longer in the pool; no email sent", reviewer_id)
        return
    send_templated_email(
        template="emails/reviewer_added", to=[reviewer.user.email],
        programme_name=reviewer.programme.name,
        context={"reviewer": reviewer, "programme": reviewer.programme,
                 "has_password": reviewer.user.has_usable_password(),
                 "reset_url": settings.SITE_URL + reverse("account_reset_password"),
                 "reviewing_url": settings.SITE_URL + reverse("programmes:my_reviewing")})


@transaction.atomic
def reviewer_add(*, programme: Programme, user: User, full_name: str, email: str,
                 is_patient_reviewer: bool = False, profession: str = "", expertise: str = "",
                 region: str, organisation: Organisation | None = None,
                 training_completed_on: datetime.date | None = None,
                 active: bool = True) -> Reviewer:
    """Add a person to the pool. An existing account with that email is reused; otherwise
    an account with no password is made, and the email sent after the commit tells them how
    to set one (the password-reset page)."""
    from ..tasks import send_reviewer_email

    details = _details(is_patient_reviewer=is_patient_reviewer, profession=profession,
                       expertise=expertise, region=region, organisation=organisation,
                       training_completed_on=training_completed_on, active=active)
    email = email.strip().lower()
    person = User.objects.filter(email__iexact=email).first()
    if person is None:
        full_name = full_name.strip()
        if not full_name:
            raise ValidationError({"full_name": "Enter the reviewer's full name"})
        person = User.objects.create_user(email=email, password=None, full_name=full_name)
        # The core team adds people by their work address, and the reset link that lets them
        # in only works from that inbox: the same proof an invitation's link gives.
        EmailAddress.objects.create(user=person, email=email, verified=True, primary=True)
    elif Reviewer.objects.filter(programme=programme, user=person).exists():
        raise ValidationError({"email": f"{person} is already in the reviewer pool. Change "
                                        "their details from the pool instead."})
    reviewer = Reviewer.objects.create(programme=programme, user=person, **details)
    log_action(reviewer, "reviewer.added", actor=user,
               summary=f"Added {person} to the reviewer pool as a "
                       f"{reviewer.kind_label.lower()}",
               data={"patient_reviewer": reviewer.is_patient_reviewer,
                     "profession": reviewer.profession, "region": reviewer.region,
                     "organisation": reviewer.organisation_id},
               scopes=[programme])
    # Queued once the account is committed; with Redis down it waits in the outbox.
    queue_after_commit(send_reviewer_email, reviewer.pk)
    return reviewer


@transaction.atomic
def reviewer_update(*, reviewer: Reviewer, user: User, is_patient_reviewer: bool,
                    profession: str = "", expertise: str = "", region: str,
                    organisation: Organisation | None = None,
                    training_completed_on: datetime.date | None = None,
                    active: bool = True) -> Reviewer:
    details = _details(is_patient_reviewer=is_patient_reviewer, profession=profession,
                       expertise=expertise, region=region, organisation=organisation,
                       training_completed_on=training_completed_on, active=active)
    reviewer = Reviewer.objects.select_for_update(of=("self",)).select_related(
        "user", "programme").get(pk=reviewer.pk)
    changed = [name for name, value in details.items() if getattr(reviewer, name) != value]
    if not changed:
        return reviewer
    for name in changed:
        setattr(reviewer, name, details[name])
    reviewer.save(update_fields=changed)
    log_action(reviewer, "reviewer.updated", actor=user,
               summary=f"Changed {reviewer.user}'s details in the reviewer pool",
               data={"changed": changed, "active": reviewer.active},
               scopes=[reviewer.programme])
    return reviewer


@transaction.atomic
def conflict_declare(*, reviewer: Reviewer, user: User, organisation: Organisation,
                     description: str) -> ConflictOfInterest:
    """Record a conflict of interest, declared by the reviewer or by the core team for them.
    From then on the reviewer is refused for that organisation's services."""
    description = description.strip()
    if not description:
        raise ValidationError({"description": "Say what the conflict of interest is, for "
                                              "example: worked there until 2024"})
    if ConflictOfInterest.objects.filter(reviewer=reviewer, organisation=organisation).exists():
        raise ValidationError({"organisation": f"A conflict with {organisation} is already "
                                               "declared"})
    conflict = ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation,
                                                 description=description)
    log_action(reviewer, "reviewer.conflict_declared", actor=user,
               summary=f"Declared a conflict of interest for {reviewer.user} with "
                       f"{organisation}",
               data={"conflict": conflict.pk, "organisation": organisation.pk},
               scopes=[reviewer.programme])
    return conflict


@transaction.atomic
def conflict_remove(*, conflict: ConflictOfInterest, user: User) -> None:
    reviewer = conflict.reviewer
    log_action(reviewer, "reviewer.conflict_removed", actor=user,
               summary=f"Removed the conflict of interest for {reviewer.user} with "
                       f"{conflict.organisation}",
               data={"conflict": conflict.pk, "organisation": conflict.organisation_id},
               scopes=[reviewer.programme])
    conflict.delete()
