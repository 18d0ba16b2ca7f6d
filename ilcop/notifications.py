"""Reminders and notices that go out at most once, and the weekly digest that gathers them.

Every reminder service (visits.reminders, qips.reminders) calls ``notify`` for each person a
reminder is due to. ``notify`` inserts a row in the ledger (ilcop.models.Notification) and
sends the email in the same transaction:

- the row's unique (kind, object, recipient, due date) means a second beat scheduler, a
  retried task or tomorrow's run finds the row and sends nothing;
- a send that fails rolls the row back, so the next run tries again;
- a worker killed mid-send leaves no row either (its transaction dies with its connection),
  so the redelivered task sends it. The one window left is a crash after the mail server
  accepted the message and before the commit: then the message may go twice, never zero
  times, which is the right side to err on for a reminder.

People who chose a weekly digest (User.reminder_emails) get a held row instead, and
``digests_send`` lists every held row in one email on Monday. ``must_send`` messages skip the
digest. A reminder kind can say how to tell that a held reminder no longer applies (an update
was written meanwhile): ``register_still_due``.
"""

import datetime
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from .mail import send_templated_email
from .models import Notification, ReminderEmails, User

logger = logging.getLogger(__name__)

SENT = "sent"
HELD = "held"  # kept for the person's weekly digest
ALREADY = "already"  # in the ledger before: nothing sent
FAILED = "failed"  # the mail server could not take it; no row, so the next run tries again
REFUSED = "refused"  # the mail server refused the address: trying again will not help

SEND_ERRORS = (OSError, smtplib.SMTPException)

_still_due: dict[str, Callable[[Notification], bool]] = {}


def register_still_due(kind: str, check: Callable[[Notification], bool]) -> None:
    """Let the digest drop a held reminder of ``kind`` that ``check`` says no longer applies."""
    _still_due[kind] = check


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path


def notify(
    *, kind: str, obj: models.Model, recipient: User, due_on: datetime.date, template: str,
    context: dict, programme_name: str, summary: str, url: str, must_send: bool = False,
    attachments: Sequence[tuple[str, bytes, str]] = (), headers: dict[str, str] | None = None,
) -> str:
    """Send ``recipient`` the ``kind`` reminder about ``obj`` due on ``due_on``, at most once.

    ``template`` and ``context`` make the email (ilcop.mail.send_templated_email); ``summary``
    (one line) and ``url`` (absolute) are what the weekly digest lists; ``headers`` are added
    to the email's (a group email's List-Unsubscribe). Returns SENT, HELD
    or ALREADY; a send that fails raises, leaving the ledger as it was.
    """
    hold = not must_send and recipient.reminder_emails == ReminderEmails.WEEKLY
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = Notification.objects.create(
                    kind=kind, content_type=ContentType.objects.get_for_model(obj),
                    object_id=obj.pk, recipient=recipient, due_on=due_on,
                    held_for_digest=hold, programme_name=programme_name[:200],
                    summary=summary[:300], url=url[:500],
                )
        except IntegrityError:
            return ALREADY
        if hold:
            return HELD
        send_templated_email(
            template=template, to=[recipient.email], programme_name=programme_name,
            context={"recipient": recipient, "url": url, "preferences_url":
                     absolute_url(reverse("email_preferences")), **context},
            attachments=attachments,
            headers={**(headers or {}), "Message-ID": message_id(row)},
        )
        row.sent_at = timezone.now()
        row.save(update_fields=["sent_at"])
    logger.info("notification kind=%s object=%s recipient=%s sent", kind, obj.pk, recipient.pk)
    return SENT


def message_id(row: Notification) -> str:
    """The same Message-ID for the same ledger entry: if a worker dies after the mail server
    took a message and before the ledger recorded it, the copy sent again carries the ID of
    the first, and mail systems that drop a repeated Message-ID deliver it once (RFC 5322,
    section 3.6.4: an ID names one message)."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return (f"<{row.kind}.{row.content_type_id}.{row.object_id}.{row.recipient_id}."
            f"{row.due_on:%Y%m%d}@{domain}>")


def notify_or_log(**kwargs) -> str:
    """``notify``, for a loop over many people: a failed send is logged (by ids) and
    reported as FAILED (or REFUSED, for an address the server will not take), so one bad
    address does not stop everyone else's reminders."""
    try:
        return notify(**kwargs)
    except smtplib.SMTPRecipientsRefused:
        logger.warning("notification kind=%s object=%s recipient=%s: the mail server refused "
                       "the address", kwargs["kind"], kwargs["obj"].pk, kwargs["recipient"].pk)
        return REFUSED
    except SEND_ERRORS as exc:
        logger.warning("notification kind=%s object=%s recipient=%s failed (%s); the next run "
                       "tries again", kwargs["kind"], kwargs["obj"].pk, kwargs["recipient"].pk,
                       type(exc).__name__)
        return FAILED


@dataclass
class Tally:
    """What one run of a reminder service did, by outcome."""

    sent: int = 0
    held: int = 0
    already: int = 0
    failed: int = 0
    refused: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def new(self) -> int:
        return self.sent + self.held


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of ``day``'s week: the due date of that week's digests."""
    return day - datetime.timedelta(days=day.weekday())


def digests_send(now: datetime.datetime | None = None) -> Tally:
    """Send each person who asked for a weekly digest one email listing their held reminders.

    The digest is itself in the ledger (kind "digest", due on the week's Monday), so it goes
    once a week however often this runs. Held reminders that no longer apply are dropped.
    """
    now = now or timezone.now()
    monday = week_start(timezone.localdate(now))
    tally = Tally()
    people = (Notification.objects.filter(held_for_digest=True, sent_at__isnull=True)
              .values_list("recipient_id", flat=True).distinct())
    for person in User.objects.filter(pk__in=list(people), is_active=True):
        try:
            tally.add(_digest_send(person, monday=monday, now=now))
        except Exception:  # one person's broken reminder must not stop everyone's digest
            logger.exception("digest recipient=%s failed; the next run tries again", person.pk)
            tally.add(FAILED)
    return tally


def _digest_send(person: User, *, monday: datetime.date, now: datetime.datetime) -> str:
    """One person's digest of what is held for them and still applies; ALREADY when there is
    nothing to send."""
    held = list(Notification.objects.filter(
        recipient=person, held_for_digest=True, sent_at__isnull=True,
    ).order_by("programme_name", "due_on", "pk"))
    stale = [n.pk for n in held if not _still_due.get(n.kind, lambda _: True)(n)]
    current = [n for n in held if n.pk not in stale]
    with transaction.atomic():
        # Dropped rather than marked sent: the ledger records what people were told.
        Notification.objects.filter(pk__in=stale, sent_at__isnull=True).delete()
        if not current:
            return ALREADY
        names = {n.programme_name for n in current}
        outcome = notify_or_log(
            kind="digest", obj=person, recipient=person, due_on=monday,
            template="emails/digest", must_send=True,
            programme_name=names.pop() if len(names) == 1 else "Peer review programmes",
            context={"groups": [(name, list(rows)) for name, rows in
                                groupby(current, key=lambda n: n.programme_name)],
                     "count": len(current)},
            summary=f"{len(current)} reminders", url=absolute_url(reverse("programmes:home")),
        )
        if outcome == SENT:
            Notification.objects.filter(pk__in=[n.pk for n in current]).update(sent_at=now)
    return outcome
