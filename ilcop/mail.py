"""Sending email, and the development backend that writes it to the console and to files."""

import logging
import smtplib
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def send_templated_email(
    *, template: str, to: Sequence[str], context: dict,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> None:
    """Render ``templates/<template>_subject.txt`` and ``<template>_body.txt`` and send them.

    Plain text only, in the spirit of GOV.UK Notify: it reaches every NHS mail client intact.
    ``attachments`` are (filename, content, MIME type), e.g. a calendar invitation.
    """
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    body = render_to_string(f"{template}_body.txt", context)
    message = EmailMessage(subject=subject, body=body, to=list(to))
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()
    logger.info("sent email template=%s recipients=%d", template, len(to))


class ConsoleAndFileBackend(FileBackend):
    """Writes each message to EMAIL_FILE_PATH and echoes it to the console.

    The default when no SMTP server is configured, so `make run` shows invitations in the
    terminal and keeps a copy to open later.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("file_path", str(settings.EMAIL_FILE_PATH))
        super().__init__(*args, **kwargs)
        self._console = ConsoleBackend(*args, **{k: v for k, v in kwargs.items()
                                                 if k != "file_path"})

    def send_messages(self, email_messages):
        self._console.send_messages(email_messages)
        return super().send_messages(email_messages)


def deliver(task, send: Callable[[], None], *, what: str) -> None:
    """Run an email send inside a bound Celery task with the project's failure policy.

    A recipient the server refuses is logged (by id, never by address: the exception quotes
    it) and not retried, since retrying cannot help. Any other SMTP or network error is
    retried with exponential backoff; with acks_late the message is not lost meanwhile.
    """
    try:
        send()
    except smtplib.SMTPRecipientsRefused:
        logger.warning("%s: the mail server refused the recipient", what)
    except OSError as exc:
        logger.warning("%s: sending failed (%s); will retry", what, type(exc).__name__)
        raise task.retry(exc=None, countdown=60 * 2 ** task.request.retries) from None
