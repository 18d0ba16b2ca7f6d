"""Celery tasks for visits: thin adapters that load by id and call one service."""

import logging
import smtplib

from celery import shared_task

from . import emails, services

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5)
def send_poll_email(self, invitee_id: int, kind: str) -> None:
    try:
        emails.poll_email_send(invitee_id=invitee_id, kind=kind)
    except smtplib.SMTPRecipientsRefused:
        logger.warning("poll invitee %s: the mail server refused the recipient", invitee_id)
    except OSError as exc:
        logger.warning("poll invitee %s: sending failed (%s); will retry", invitee_id,
                       type(exc).__name__)
        raise self.retry(exc=None, countdown=60 * 2 ** self.request.retries) from None


@shared_task
def send_visit_invitations(visit_id: int, kind: str, sequence: int) -> None:
    """One task per attendee, so a failure retries that person's email alone."""
    for user_id in emails.visit_recipients(visit_id=visit_id):
        send_visit_invitation.delay(visit_id, user_id, kind, sequence)


@shared_task(bind=True, max_retries=5)
def send_visit_invitation(self, visit_id: int, user_id: int, kind: str, sequence: int) -> None:
    try:
        emails.visit_invitation_send(visit_id=visit_id, user_id=user_id, kind=kind,
                                     sequence=sequence)
    except smtplib.SMTPRecipientsRefused:
        logger.warning("visit %s: the mail server refused user %s", visit_id, user_id)
    except OSError as exc:
        logger.warning("visit %s user %s: sending failed (%s); will retry", visit_id, user_id,
                       type(exc).__name__)
        raise self.retry(exc=None, countdown=60 * 2 ** self.request.retries) from None


@shared_task
def remind_polls() -> int:
    return services.polls_remind()


@shared_task
def lock_polls() -> int:
    return services.polls_lock()
