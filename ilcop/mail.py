"""Sending email, and the development backend that writes it to the console and to files."""

import logging
import re
import smtplib
import sys
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe

logger = logging.getLogger(__name__)


def send_templated_email(
    *, template: str, to: Sequence[str], context: dict, programme_name: str,
    attachments: Sequence[tuple[str, bytes, str]] = (), headers: dict[str, str] | None = None,
) -> None:
    """Render ``templates/<template>_subject.txt`` and ``<template>_body.txt`` and send them.

    The text is written once, as plain text in the style of GOV.UK Notify, and the HTML part
    is made from it (``text_to_html``) inside ``emails/layout.html``, which names the
    programme: both parts always say the same thing. ``attachments`` are (filename, content,
    MIME type), e.g. a calendar invitation or a report.
    """
    context = {"site_url": settings.SITE_URL, "programme_name": programme_name, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    body = render_to_string(f"{template}_body.txt", context)
    message = EmailMultiAlternatives(subject=subject, body=body, to=list(to), headers=headers)
    message.attach_alternative(html_email(subject=subject, text=body,
                                           programme_name=programme_name), "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()
    logger.info("sent email template=%s recipients=%d", template, len(to))


URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]]")
BULLET = re.compile(r"^[-*] ")
NUMBERED = re.compile(r"^\d+\. ")


def _linked(line: str) -> str:
    """Escape a line of text and turn its web addresses into links."""
    out, last = [], 0
    for match in URL.finditer(line):
        out.append(escape(line[last:match.start()]))
        url = escape(match.group())
        out.append(f'<a href="{url}" style="color:#005eb8">{url}</a>')
        last = match.end()
    out.append(escape(line[last:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """The HTML form of a plain-text email: paragraphs, bulleted and numbered lists, links.

    A block whose every line starts "- " (or "1. ") becomes a list; any other block is a
    paragraph with its line breaks kept. Everything is escaped first, so a name or a note
    with "<" in it is shown as written.
    """
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.rstrip() for line in block.strip("\n").split("\n")]
        if all(BULLET.match(line) for line in lines):
            items = "".join(f"<li>{_linked(BULLET.sub('', line))}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        elif all(NUMBERED.match(line) for line in lines):
            items = "".join(f"<li>{_linked(NUMBERED.sub('', line))}</li>" for line in lines)
            blocks.append(f"<ol>{items}</ol>")
        else:
            blocks.append("<p>" + "<br>\n".join(_linked(line) for line in lines) + "</p>")
    return "\n".join(blocks)


def html_email(*, subject: str, text: str, programme_name: str) -> str:
    return render_to_string("emails/layout.html", {
        "subject": subject, "content": mark_safe(text_to_html(text)),  # noqa: S308 - escaped
        "programme_name": programme_name,
    })


class ConsoleAndFileBackend(FileBackend):
    """Writes each message to EMAIL_FILE_PATH and echoes a readable copy to the console.

    The default when no SMTP server is configured, so `make run` shows invitations in the
    terminal and keeps the whole message (HTML part and attachments too) in a file to open
    later. The console shows the headers and the text part, and names each attachment
    rather than printing pages of base64.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("file_path", str(settings.EMAIL_FILE_PATH))
        super().__init__(*args, **kwargs)

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        for message in email_messages:
            sys.stdout.write(console_summary(message) + "\n" + "-" * 79 + "\n")
        sys.stdout.flush()
        return sent


def console_summary(message: EmailMessage) -> str:
    lines = [f"From: {message.from_email}", f"To: {', '.join(message.to)}",
             f"Subject: {message.subject}", "", message.body.rstrip()]
    for alternative in getattr(message, "alternatives", []):
        lines.append(f"[{alternative[1]} part: {len(alternative[0]):,} characters]")
    for attachment in message.attachments:
        filename, content, mimetype = attachment
        size = len(content.encode() if isinstance(content, str) else content)
        lines.append(f"[attached: {filename} ({mimetype}, {size / 1024:,.0f} KB)]")
    return "\n".join(lines)


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
