from celery import shared_task

from ilcop.mail import deliver

from .services.invitations import invitation_email_send


# acks_late (settings) plus deliver's retries: an SMTP hiccup delays the email, never loses it.
@shared_task(bind=True, max_retries=5)
def send_invitation_email(self, invitation_id: int) -> None:
    deliver(self, lambda: invitation_email_send(invitation_id=invitation_id),
            what=f"invitation {invitation_id}")
