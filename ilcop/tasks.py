"""The beat job for the weekly digest of held reminders (ilcop.notifications)."""

from celery import shared_task

from . import notifications


@shared_task
def send_digests() -> int:
    return notifications.digests_send().sent
