"""Tasks the broker could not take, kept in the database until Redis is back.

``ilcop.celery.queue_after_commit`` publishes a task once the change it follows is
committed. If Redis is down at that moment the change is already saved, so the page must not
fail, and the email or report must not be forgotten: ``outbox_add`` keeps the task as an
``OutboxTask`` row, and ``outbox_flush`` (the beat job ``ilcop.tasks.flush_outbox``, every
OUTBOX_FLUSH_SECONDS) publishes the rows once the broker takes messages again. docs/operations.md
describes what people see meanwhile.
"""

import logging

from django.db import transaction
from django.db.models import F

from .models import OutboxTask

logger = logging.getLogger(__name__)


def outbox_add(*, task: str, args: list, error: Exception) -> OutboxTask:
    row = OutboxTask.objects.create(task=task, args=list(args), attempts=1,
                                    last_error=type(error).__name__[:200])
    logger.warning("broker unavailable (%s): task %s kept in the outbox as %s",
                   type(error).__name__, task, row.pk)
    return row


def outbox_flush(*, limit: int = 500) -> int:
    """Publish kept tasks, oldest first; stop at the first the broker refuses. Returns how
    many were queued. Rows are locked with SKIP LOCKED, so two flushes at once queue each row
    once; a crash between publishing and deleting queues it again, which idempotent tasks
    allow."""
    from .celery import app

    queued = 0
    with transaction.atomic():
        rows = list(OutboxTask.objects.select_for_update(skip_locked=True).order_by("pk")[:limit])
        for row in rows:
            try:
                app.send_task(row.task, args=row.args)
            except Exception as exc:  # the broker is still down: keep the rest for next time
                OutboxTask.objects.filter(pk__in=[r.pk for r in rows[queued:]]).update(
                    attempts=F("attempts") + 1, last_error=type(exc).__name__[:200])
                logger.warning("outbox: broker still unavailable (%s); %d tasks wait",
                               type(exc).__name__, len(rows) - queued)
                break
            row.delete()
            queued += 1
    if queued:
        logger.info("outbox: queued %d kept tasks", queued)
    return queued

