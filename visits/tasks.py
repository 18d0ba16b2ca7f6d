"""Celery tasks for visits: thin adapters that load by id and call one service."""

import logging
import random
from dataclasses import asdict

from celery import shared_task

from ilcop.mail import deliver

from . import emails, reminders, services
from .services import report as report_services

logger = logging.getLogger(__name__)


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
def lock_polls() -> int:
    return services.polls_lock()


# --- reminders: beat jobs, each one service; the ledger makes a repeated run send nothing ---


@shared_task
def remind_polls() -> dict:
    return asdict(reminders.poll_reminders_send())


@shared_task
def send_visit_reminders() -> dict:
    return asdict(reminders.visit_reminders_send())


@shared_task
def send_observation_reminders() -> dict:
    return asdict(reminders.observation_reminders_send())


@shared_task
def send_report_reminders() -> dict:
    return asdict(reminders.report_reminders_send())


# --- the visit report ------------------------------------------------------------------------

REPORT_RETRIES = 5


def _backoff(retries: int) -> int:
    """1, 2, 4, 8 then 16 minutes, each with up to a quarter more at random, so that tasks
    failing together in an outage do not all come back at the same moment."""
    base = 60 * 2 ** retries
    return base + random.randint(0, base // 4)  # jitter, not a secret


def _retry_or_record(task, report_id: int, reason: str, record) -> None:
    """Retry with backoff; once the retries are spent, record the failure on the report (the
    core team sees it with a "Try again" button) and stop, rather than raise, since the
    failure is now in the report and a raise would only be logged a second time."""
    if task.request.retries < task.max_retries:
        logger.warning("visit report %s: %s; will retry", report_id, reason)
        raise task.retry(countdown=_backoff(task.request.retries), exc=None) from None
    logger.error("visit report %s: %s; retries spent, shown to the core team", report_id,
                 reason)
    record(report_id=report_id, reason=reason)


# The PDF takes seconds (WeasyPrint, with the data pack's SVG charts); the limits stop a stuck
# render from holding a worker. With acks_late a worker lost mid-task gets it redelivered, and
# report_generate does nothing for a version that already has its PDF.
@shared_task(bind=True, max_retries=REPORT_RETRIES, soft_time_limit=120, time_limit=150)
def generate_visit_report(self, report_id: int) -> None:
    try:
        report_services.report_generate(report_id=report_id)
    except Exception as exc:  # any failure: retried, then shown to the core team
        _retry_or_record(self, report_id, f"the PDF could not be made ({type(exc).__name__})",
                         report_services.report_generation_failed)


# Queued when a person named in an approved version is anonymised (visits.privacy): the same
# limits and retries as drawing it the first time. When the retries are spent the old PDF,
# which still names them, is removed rather than kept.
@shared_task(bind=True, max_retries=REPORT_RETRIES, soft_time_limit=120, time_limit=150)
def redraw_visit_report(self, report_id: int) -> None:
    try:
        report_services.report_redraw(report_id=report_id)
    except Exception as exc:  # any failure: retried, then shown to the core team
        _retry_or_record(self, report_id,
                         f"the corrected PDF could not be made ({type(exc).__name__})",
                         report_services.report_redraw_failed)


# One email per person, each up to the SMTP timeout (30 seconds).
@shared_task(bind=True, max_retries=REPORT_RETRIES, soft_time_limit=600, time_limit=660)
def send_visit_report(self, report_id: int) -> None:
    try:
        tally = report_services.report_send(report_id=report_id)
    except Exception as exc:  # any failure: retried, then shown to the core team
        _retry_or_record(self, report_id, f"the emails could not be sent ({type(exc).__name__})",
                         report_services.report_sending_failed)
        return
    total = tally.failed + tally.refused + tally.sent + tally.already
    if tally.failed:
        # Those already sent are in the ledger, so the retry sends only to the rest.
        _retry_or_record(self, report_id, f"{tally.failed} of {total} emails could not be sent",
                         report_services.report_sending_failed)
    elif tally.refused:
        # Another try would be refused too: shown to the core team at once, to check the
        # address with the person and then try again.
        report_services.report_sending_failed(
            report_id=report_id, reason=f"the mail server refused {tally.refused} of {total} "
                                        "addresses")


# --- national workshops and online conferences ----------------------------------------------


@shared_task(bind=True, max_retries=5)
def send_event_invitations(self, event_id: int) -> None:
    """Everyone invited and not yet emailed; the ledger makes a retry send only the rest."""
    from .services import events

    tally = events.event_invitations_send(event_id=event_id)
    if tally.failed:
        raise self.retry(countdown=60 * 2 ** self.request.retries)


@shared_task
def send_event_notices(event_id: int, kind: str, sequence: int) -> None:
    """One task per invitee, so a failure retries that person's email alone."""
    from .services import events

    for user_id in events.notice_recipients(event_id=event_id, kind=kind):
        send_event_notice.delay(event_id, user_id, kind, sequence)


@shared_task(bind=True, max_retries=5)
def send_event_notice(self, event_id: int, user_id: int, kind: str, sequence: int) -> None:
    from .services import events

    deliver(self, lambda: events.event_notice_send(
        event_id=event_id, user_id=user_id, kind=kind, sequence=sequence),
        what=f"event {event_id} user {user_id}")


@shared_task
def send_event_reminders() -> dict:
    return asdict(reminders.event_reminders_send())
