import dataclasses

from celery import shared_task

from ilcop.mail import deliver

from .services.groups import group_message_deliver
from .services.invitations import invitation_email_send
from .services.reviewers import reviewer_email_send


# acks_late (settings) plus deliver's retries: an SMTP hiccup delays the email, never loses it.
@shared_task(bind=True, max_retries=5)
def send_invitation_email(self, invitation_id: int) -> None:
    deliver(self, lambda: invitation_email_send(invitation_id=invitation_id),
            what=f"invitation {invitation_id}")


@shared_task(bind=True, max_retries=5)
def send_reviewer_email(self, reviewer_id: int) -> None:
    deliver(self, lambda: reviewer_email_send(reviewer_id=reviewer_id),
            what=f"reviewer {reviewer_id}")


# Idempotent: the notifications ledger sends each person the message once, however often this
# runs. A failed address is logged and left (notify_or_log); the rest still go.
@shared_task(soft_time_limit=600, time_limit=660)
def send_group_message(message_id: int) -> dict:
    return dataclasses.asdict(group_message_deliver(message_id=message_id))
