from celery import shared_task

from .services.invitations import invitation_email_send


# acks_late (settings) plus a retry on failure: an SMTP hiccup delays the email, never loses it.
@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: int) -> None:
    invitation_email_send(invitation_id=invitation_id)
