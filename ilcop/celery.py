"""The Celery app, configured from Django settings (every CELERY_* setting)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ilcop.settings")

app = Celery("ilcop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def queue_after_commit(task, *args) -> None:
    """``task.delay(*args)`` once the transaction commits, like ``task.delay_on_commit``, but a
    broker that refuses the message is logged rather than raised: the change is committed by
    then, and the page that made it must not fail. Work that never started shows as stuck to
    whoever can start it again (the visit report's "Try again", for one)."""
    from django.db import transaction

    transaction.on_commit(lambda: task.delay(*args), robust=True)
