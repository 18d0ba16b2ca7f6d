"""The Celery app, configured from Django settings (every CELERY_* setting)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ilcop.settings")

app = Celery("ilcop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def queue_after_commit(task, *args) -> None:
    """``task.delay(*args)`` once the transaction commits, like ``task.delay_on_commit``, but a
    broker that refuses the message (Redis down) must not fail the page that made the change,
    which is committed by then, nor lose the work: the task is kept in the database outbox
    (ilcop.outbox) and queued by the beat job ``flush_outbox`` once Redis is back. Any other
    error is logged (robust), as before."""
    from django.db import transaction

    transaction.on_commit(lambda: _publish(task, list(args)), robust=True)


def _publish(task, args: list) -> None:
    from kombu.exceptions import OperationalError

    try:
        task.delay(*args)
    except OperationalError as exc:  # kombu's wrapper for a broker it cannot reach
        from .outbox import outbox_add

        outbox_add(task=task.name, args=args, error=exc)
