"""Joining by invitation: the only way into the product.

The emailed link carries a token signed with the secret key that names the invitation and its
current nonce. Tokens expire INVITATION_VALID_DAYS after sending; sending again draws a new
nonce, so only the latest link works; accepting or withdrawing the invitation retires it.
"""

import datetime
import logging

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.celery import queue_after_commit
from ilcop.mail import send_templated_email
from ilcop.models import User
from ilcop.services import model_update

from ..models import CoreTeamMembership, Invitation, Programme, Site, SiteMembership

logger = logging.getLogger(__name__)

_SALT = "programmes.invitation"


class InvitationError(Exception):
    """Why an invitation cannot be made or used, in words for the person in front of it."""

    def __init__(self, message: str, *, accepted_by_id: int | None = None):
        super().__init__(message)
        self.accepted_by_id = accepted_by_id


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_SALT)


def invitation_from_token(token: str) -> Invitation:
    max_age = settings.INVITATION_VALID_DAYS * 24 * 60 * 60
    try:
        payload = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvitationError(
            "This invitation link has expired. Ask the person who invited you to send it again."
        ) from None
    except signing.BadSignature:
        raise InvitationError("This invitation link is not valid. Check you copied all of it.") \
            from None
    invitation = (
        Invitation.objects.select_related("programme", "site__organisation", "invited_by")
        .filter(pk=payload.get("i")).first()
    )
    if invitation is None or invitation.status == Invitation.Status.REVOKED:
        raise InvitationError("This invitation has been withdrawn.")
    if invitation.status == Invitation.Status.ACCEPTED:
        raise InvitationError(
            "This invitation has already been accepted. Sign in to continue.",
            accepted_by_id=invitation.accepted_by_id,
        )
    if invitation.nonce != payload.get("n"):
        raise InvitationError(
            "A newer invitation has been sent to you. Use the link in the latest email."
        )
    return invitation


def _already_member(*, programme: Programme, site: Site | None, email: str) -> bool:
    if site is None:
        return CoreTeamMembership.objects.filter(
            programme=programme, user__email__iexact=email
        ).exists()
    return SiteMembership.objects.current().filter(site=site, user__email__iexact=email).exists()


def invitation_create(
    *, programme: Programme, invited_by: User, email: str, full_name: str,
    site: Site | None = None, core_role: str = "", site_role: str = "",
    clinical_specialty: str = "",
) -> Invitation:
    """Invite someone to the programme's core team (no site) or to a site's team.

    Inviting someone who already has a pending invitation to the same team sends that one
    again instead of making a second.
    """
    email = email.strip().lower()
    if _already_member(programme=programme, site=site, email=email):
        team = site.name if site else "the core team"
        raise InvitationError(f"{email} is already a member of {team}.")
    with transaction.atomic():
        pending = Invitation.objects.select_for_update().filter(
            programme=programme, site=site, email=email, status=Invitation.Status.PENDING
        ).first()
        if pending is not None:
            return _invite_again(pending, user=invited_by, full_name=full_name.strip(),
                                 core_role=core_role, site_role=site_role,
                                 clinical_specialty=clinical_specialty)
        invitation = Invitation(
            programme=programme, site=site, email=email, full_name=full_name.strip(),
            core_role=core_role, site_role=site_role, clinical_specialty=clinical_specialty,
            invited_by=invited_by,
        )
        try:
            with transaction.atomic():
                invitation.save()
        except IntegrityError:
            # A double-submitted form: the first request made the invitation already.
            return Invitation.objects.get(programme=programme, site=site, email=email,
                                          status=Invitation.Status.PENDING)
        log_action(
            invitation, "invitation.created", actor=invited_by,
            summary=f"Invited {invitation.full_name} as {invitation.role_label}",
            scopes=[programme, *([site] if site else [])],
        )
        return invitation_send(invitation=invitation, user=invited_by)


# A second identical invitation within this time is a double-submitted form, not a resend.
RESEND_GRACE = datetime.timedelta(minutes=2)


def _invite_again(invitation: Invitation, *, user: User, **details) -> Invitation:
    """Inviting someone who already has a pending invitation to the same team.

    Changed details (a different role, say) are applied and the invitation sent again; the
    same details within RESEND_GRACE are a double submission and send nothing.
    """
    changed = model_update(instance=invitation, data=details)
    if changed:
        log_action(invitation, "invitation.changed", actor=user,
                   summary=f"Changed the invitation to {invitation.full_name}: now "
                           f"{invitation.role_label}",
                   data={"fields": changed},
                   scopes=[invitation.programme, *([invitation.site] if invitation.site else [])])
    elif invitation.sent_at and timezone.now() - invitation.sent_at < RESEND_GRACE:
        return invitation
    return invitation_send(invitation=invitation, user=user)


@transaction.atomic
def invitation_send(*, invitation: Invitation, user: User) -> Invitation:
    """(Re)send the invitation email with a fresh link; earlier links stop working."""
    from ..tasks import send_invitation_email

    first = invitation.sent_at is None
    invitation.new_nonce()
    invitation.sent_at = timezone.now()
    invitation.save(update_fields=["nonce", "sent_at"])
    if not first:
        log_action(invitation, "invitation.resent", actor=user,
                   summary=f"Sent the invitation to {invitation.full_name} again",
                   scopes=[invitation.programme, *([invitation.site] if invitation.site else [])])
    # Queued only once the nonce is committed, or the worker could mail a link that fails;
    # with Redis down it waits in the outbox (ilcop.outbox) rather than failing the page.
    queue_after_commit(send_invitation_email, invitation.pk)
    return invitation


def invitation_email_send(*, invitation_id: int) -> None:
    """Send the email for a pending invitation (called by the Celery task)."""
    invitation = (
        Invitation.objects.select_related("programme", "site__organisation", "invited_by")
        .filter(pk=invitation_id, status=Invitation.Status.PENDING).first()
    )
    if invitation is None:
        logger.info("invitation %s is no longer pending; no email sent", invitation_id)
        return
    send_templated_email(
        template="emails/invitation",
        to=[invitation.email],
        programme_name=invitation.programme.name,
        context={
            "invitation": invitation,
            "accept_url": settings.SITE_URL
            + reverse("programmes:invitation_accept", args=[invitation_token(invitation)]),
            "valid_days": settings.INVITATION_VALID_DAYS,
        },
    )


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, user: User) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationError("Only an invitation that is waiting for a reply can be withdrawn.")
    invitation.status = Invitation.Status.REVOKED
    invitation.save(update_fields=["status"])
    log_action(invitation, "invitation.revoked", actor=user,
               summary=f"Withdrew the invitation to {invitation.full_name}",
               scopes=[invitation.programme, *([invitation.site] if invitation.site else [])])
    return invitation


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User | None = None, full_name: str = "",
    password: str = "",
) -> User:
    """Join the team the invitation is for.

    A newcomer gives their name and a password and an account is made; someone who already
    has an account passes it as ``user``. Either way the email address counts as verified,
    because the link reached it.
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationError("This invitation has already been used or withdrawn.")

    if user is None:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationError("You already have an account. Sign in to accept.")
        user = User.objects.create_user(
            email=invitation.email, password=password,
            full_name=full_name.strip() or invitation.full_name,
        )
    elif user.email.lower() != invitation.email.lower():
        raise InvitationError(
            "This invitation was sent to a different email address from the one you are "
            "signed in with. Sign out, then open the link again."
        )
    EmailAddress.objects.update_or_create(
        user=user, email__iexact=invitation.email,
        defaults={"email": invitation.email, "verified": True, "primary": True},
    )

    if invitation.site_id:
        membership, _ = SiteMembership.objects.current().get_or_create(
            site=invitation.site, user=user,
            defaults={"role": invitation.site_role,
                      "clinical_specialty": invitation.clinical_specialty},
        )
        scopes = [invitation.programme, invitation.site]
    else:
        membership, _ = CoreTeamMembership.objects.get_or_create(
            programme=invitation.programme, user=user, defaults={"role": invitation.core_role}
        )
        scopes = [invitation.programme]

    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_by"])
    log_action(membership, "membership.joined", actor=user,
               summary=f"Joined as {invitation.role_label}", scopes=scopes)
    return user
