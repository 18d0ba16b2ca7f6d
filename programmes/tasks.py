import logging
import smtplib

from celery import shared_task

from .services.invitations import invitation_email_send

logger = logging.getLogger(__name__)


# acks_late (settings) plus retries: an SMTP hiccup delays the email, never loses it.
@shared_task(bind=True, max_retries=5)
def send_invitation_email(self, invitation_id: int) -> None:
    try:
        invitation_email_send(invitation_id=invitation_id)
    except smtplib.SMTPRecipientsRefused:
        # Retrying will not help, and the exception names the address: log the id only.
        logger.warning("invitation %s: the mail server refused the recipient", invitation_id)
    except OSError as exc:
        # SMTP and network errors; raised without the message, which may quote addresses.
        logger.warning("invitation %s: sending failed (%s); will retry", invitation_id,
                       type(exc).__name__)
        raise self.retry(exc=None, countdown=60 * 2 ** self.request.retries) from None
