"""Celery tasks for visits: thin adapters that load by id and call one service."""

from celery import shared_task

from ilcop.mail import deliver

from . import emails, services


@shared_task(bind=True, max_retries=5)
def send_poll_email(self, invitee_id: int, kind: str) -> None:
    deliver(self, lambda: emails.poll_email_send(invitee_id=invitee_id, kind=kind),
            what=f"poll invitee {invitee_id}")


@shared_task
def send_visit_invitations(visit_id: int, kind: str, sequence: int) -> None:
    """One task per attendee, so a failure retries that person's email alone."""
    for user_id in emails.visit_recipients(visit_id=visit_id):
        send_visit_invitation.delay(visit_id, user_id, kind, sequence)


@shared_task(bind=True, max_retries=5)
def send_visit_invitation(self, visit_id: int, user_id: int, kind: str, sequence: int) -> None:
    deliver(self, lambda: emails.visit_invitation_send(
        visit_id=visit_id, user_id=user_id, kind=kind, sequence=sequence),
        what=f"visit {visit_id} user {user_id}")


@shared_task
def remind_polls() -> int:
    return services.polls_remind()


@shared_task
def lock_polls() -> int:
    return services.polls_lock()
