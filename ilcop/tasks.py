"""The beat job for the weekly digest of held reminders (ilcop.notifications)."""

from dataclasses import asdict

from celery import shared_task

from . import notifications, outbox


@shared_task
def send_digests() -> dict:
    return asdict(notifications.digests_send())


@shared_task
def flush_outbox() -> int:
    """Queue the tasks the broker refused while Redis was down (ilcop.outbox)."""
    return outbox.outbox_flush()
