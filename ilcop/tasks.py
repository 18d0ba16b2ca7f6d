"""The beat job for the weekly digest of held reminders (ilcop.notifications)."""

from dataclasses import asdict

from celery import shared_task

from . import notifications


@shared_task
def send_digests() -> dict:
    return asdict(notifications.digests_send())
