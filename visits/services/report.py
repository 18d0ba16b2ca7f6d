"""The visit report: approving a version, making its PDF, emailing it, and trying again.

1. ``report_approve`` freezes the report's HTML as the next version and queues
   ``visits.tasks.generate_visit_report`` once the transaction commits.
2. ``report_generate`` draws the PDF from the frozen HTML and queues
   ``visits.tasks.send_visit_report``.
3. ``report_send`` emails the PDF to both teams, the core team and the facilitator through
   the notification ledger (ilcop.notifications.notify), whose row per (report, person) is
   what stops a retried task sending anyone a second copy.

When a person named in an approved version is anonymised (ilcop.privacy), its HTML is
corrected and ``report_redraw`` draws its PDF again in place of the old one.

The tasks record a failure on the report when their retries run out (``report_*_failed``);
the core team sees it with a "Try again" button (``report_retry``).
"""

import datetime
import logging

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from ilcop.celery import queue_after_commit
from ilcop.models import Notification, User
from ilcop.notifications import Tally, absolute_url, notify_or_log
from ilcop.pdf import html_to_pdf
from programmes.models import SiteMembership

from ..models import Visit, VisitReport
from ..report import (
    NOTIFICATION_KIND,
    draft_fingerprint,
    draft_html,
    report_content,
    report_html,
)
from .common import log_visit

logger = logging.getLogger(__name__)

# The report is written from what happened on the day.
REPORTABLE = (Visit.Status.HAPPENED, Visit.Status.REPORT_SENT)


class StaleApproval(ValidationError):
    """Another version was approved after the page the approval came from was drawn."""


def latest_version(visit: Visit) -> int:
    return visit.reports.aggregate(n=Max("version"))["n"] or 0


@transaction.atomic
def report_approve(*, visit: Visit, user: User, based_on_version: int,
                   correction_note: str = "", draft: str | None = None) -> VisitReport:
    """Approve the report as it stands as the next version, and queue its PDF and emails.

    ``based_on_version`` is the latest version the approver had seen (0 for none): if another
    has been approved since (a second click, or a colleague), nothing is created. ``draft``
    is the fingerprint of the draft the approver read (``visits.report.draft_fingerprint``):
    if the visit day's notes changed since, nothing is created either. Version 2 and later
    are corrections and must say what they correct.
    """
    report = report_version_create(visit=visit, user=user, based_on_version=based_on_version,
                                   correction_note=correction_note, draft=draft)
    from ..tasks import generate_visit_report

    queue_after_commit(generate_visit_report, report.pk)
    return report


@transaction.atomic
def report_version_create(*, visit: Visit, user: User, based_on_version: int,
                          correction_note: str = "", draft: str | None = None,
                          approved_at: datetime.datetime | None = None) -> VisitReport:
    """The approval itself, without making or sending anything: ``report_approve``'s first
    step, and the demo's, which makes its PDFs itself and emails nobody."""
    # The lock numbers versions one at a time; the unique constraint backs it up on
    # databases that ignore SELECT ... FOR UPDATE (SQLite).
    # of=("self",): PostgreSQL cannot lock the nullable side of the facilitator's outer join.
    visit = Visit.objects.select_for_update(of=("self",)).select_related(
        "programme", "host__organisation", "visitor__organisation", "facilitator",
    ).get(pk=visit.pk)
    if visit.status not in REPORTABLE:
        raise ValidationError("The report can be written after the visit has happened.")
    latest = latest_version(visit)
    if based_on_version != latest:
        raise StaleApproval(f"Version {latest} has been approved since you opened this page. "
                            "Read the latest draft before approving another version.")
    content = report_content(visit)
    if draft is not None and draft != draft_fingerprint(draft_html(visit, content)):
        raise StaleApproval("The draft has changed since you opened this page: someone has "
                            "edited the visit day's notes, feedback or focus areas. Read the "
                            "draft below again, then approve it.")
    note = (correction_note or "").strip() if latest else ""
    if latest and not note:
        raise ValidationError({"correction_note": "Say what this version corrects"})
    report = VisitReport(visit=visit, version=latest + 1, approved_by=user,
                         approved_at=approved_at or timezone.now(), correction_note=note)
    report.html = report_html(visit, report=report, content=content)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        raise StaleApproval("Another version was approved at the same moment. Read the "
                            "latest draft before approving another version.") from None
    if visit.status != Visit.Status.REPORT_SENT:
        visit.status = Visit.Status.REPORT_SENT
        visit.save(update_fields=["status"])
    log_visit(visit, "visit.report_approved",
              f"Approved version {report.version} of the visit report", user=user,
              data={"version": report.version, "correction": note})
    return report


def report_generate(*, report_id: int) -> bool:
    """Draw the PDF of an approved version from its frozen HTML, then queue the emails
    (unless the version is already recorded as sent to everyone, as the demo's are).

    Idempotent: a version that has its PDF is not drawn again, so a redelivered task does
    nothing, except queue the emails of a version not yet sent: a worker that died between
    storing the PDF and queueing them leaves that to the next attempt (the ledger stops
    anyone getting two). Returns whether a PDF was made.
    """
    from ..tasks import redraw_visit_report, send_visit_report

    report = VisitReport.objects.defer("pdf", "html").filter(pk=report_id).first()
    if report is None:
        return False
    if report.generated_at is not None:
        if report.sent_at is None:
            queue_after_commit(send_visit_report, report_id)
        return False
    html = VisitReport.objects.values_list("html", flat=True).get(pk=report_id)
    # Drawn outside any transaction: it takes seconds and needs no lock.
    pdf = html_to_pdf(html)
    with transaction.atomic():
        made = VisitReport.objects.filter(pk=report_id, generated_at__isnull=True).update(
            pdf=pdf, generated_at=timezone.now(), generation_failed_at=None,
            generation_failure="")
        if made:
            report = VisitReport.objects.select_related("visit__programme", "visit__host",
                                                        "visit__visitor").defer(
                "html", "pdf").get(pk=report_id)
            log_visit(report.visit, "visit.report_generated",
                      f"Made the PDF of version {report.version} of the visit report",
                      user=None, data={"version": report.version}, on_site_timelines=False)
            if report.sent_at is None:
                queue_after_commit(send_visit_report, report_id)
            # The UPDATE above holds the row, so an anonymisation (visits.privacy) that
            # corrected the HTML while it was being drawn has committed by now, and its own
            # redraw found no PDF to replace: draw it again from the corrected HTML.
            if _stored_html(report_id) != html:
                queue_after_commit(redraw_visit_report, report_id)
    return bool(made)


def _stored_html(report_id: int) -> str | None:
    return VisitReport.objects.filter(pk=report_id).values_list("html", flat=True).first()


def report_redraw(*, report_id: int) -> bool:
    """Draw the PDF of an approved version again from its frozen HTML, and put it in place of
    the one stored. The HTML is corrected when a person named in it is anonymised
    (visits.privacy), and the old PDF, which still names them, must not be kept or sent.

    Nothing for a version with no PDF yet: ``report_generate`` reads the HTML as it draws.
    If the HTML changes again while this draws (a second person anonymised), what was drawn
    is already out of date and is not stored: that change queued its own redraw. Returns
    whether the PDF was replaced.
    """
    html = (VisitReport.objects.filter(pk=report_id, generated_at__isnull=False)
            .values_list("html", flat=True).first())
    if html is None:
        return False
    # Drawn outside any transaction, as report_generate does: it takes seconds.
    pdf = html_to_pdf(html)
    with transaction.atomic():
        report = (VisitReport.objects.select_for_update(of=("self",))
                  .select_related("visit__programme", "visit__host", "visit__visitor")
                  .defer("pdf").filter(pk=report_id, generated_at__isnull=False).first())
        if report is None or report.html != html:
            return False
        # One UPDATE: the new PDF replaces the old in the same row, so the old one is gone
        # the moment the new one is stored, and never before.
        VisitReport.objects.filter(pk=report_id).update(pdf=pdf)
        log_visit(report.visit, "visit.report_redrawn",
                  f"Drew the PDF of version {report.version} of the visit report again from "
                  "its corrected text", user=None, data={"version": report.version},
                  on_site_timelines=False)
    logger.info("visit report %s: PDF drawn again from its corrected HTML", report_id)
    return True


def report_redraw_failed(*, report_id: int, reason: str) -> None:
    """The corrected PDF could not be drawn: the stored one, which names someone who has been
    anonymised, is removed rather than kept, and the failure is shown to the core team, whose
    "Try again" draws it afresh (``report_retry``). ``reason`` must hold no personal data."""
    with transaction.atomic():
        VisitReport.objects.filter(pk=report_id).update(pdf=None, generated_at=None)
        _record_failure(report_id, stage="generation", reason=reason)
    logger.warning("visit report %s: corrected PDF not drawn; the old PDF was removed",
                   report_id)


def report_missing(report: VisitReport, recipients: list[User]) -> list[User]:
    """Those of ``recipients`` (``report_recipients``) who by the ledger have not had
    ``report`` yet."""
    have = set(Notification.objects.filter(
        kind=NOTIFICATION_KIND, content_type=ContentType.objects.get_for_model(VisitReport),
        object_id=report.pk, sent_at__isnull=False).values_list("recipient_id", flat=True))
    return [person for person in recipients if person.pk not in have]


def superseded(report: VisitReport) -> bool:
    return VisitReport.objects.filter(visit_id=report.visit_id,
                                      version__gt=report.version).exists()


def report_recipients(visit: Visit) -> list[User]:
    """Who gets the report: the current members of both teams and the programme's core team
    (the facilitator among them), each once, leaving out deactivated accounts. Nobody who has
    left a team, or the core team, gets a confidential report they could no longer open.

    A one-way review's report goes to exactly its distribution list (ReportRecipient), and
    to nobody else: the core team chose who should have it."""
    if visit.is_review:
        return list(User.objects.filter(report_distributions__review_id=visit.review_id,
                                        is_active=True).order_by("full_name", "pk"))
    people: dict[int, User] = {}
    memberships = SiteMembership.objects.current().filter(
        site__in=[visit.host_id, visit.visitor_id]).select_related("user").order_by(
        "site_id", "role", "user__full_name", "pk")
    for user in [m.user for m in memberships] + [
            m.user for m in visit.programme.core_team.select_related("user").order_by("pk")]:
        people.setdefault(user.pk, user)
    return [person for person in people.values() if person.is_active]


def report_send(*, report_id: int) -> Tally:
    """Email the version's PDF to everyone who should have it and has not had it yet.

    Each person is one row in the ledger (kind "visit_report", this version, due on the day
    it was approved), inserted with their email: a second run, or a retry after some sends
    failed, finds the rows of those already sent and sends only to the rest. One address
    failing does not stop the others; the caller retries while ``failed`` is not zero.
    """
    report = VisitReport.objects.defer("html").select_related(
        "visit__programme", "visit__host__organisation", "visit__visitor__organisation",
        "visit__facilitator", "approved_by").filter(pk=report_id).first()
    tally = Tally()
    if report is None or report.pdf is None:
        return tally
    if superseded(report):
        # A correction replaced it before it reached everyone: they get that one instead.
        return tally
    visit = report.visit
    recipients = report_recipients(visit)
    url = absolute_url(reverse("visits:visit_report", args=[visit.pk]))
    attachment = (report.filename, bytes(report.pdf), "application/pdf")
    approved_on = timezone.localdate(report.approved_at)
    for person in recipients:
        tally.add(notify_or_log(
            kind=NOTIFICATION_KIND, obj=report, recipient=person, due_on=approved_on,
            template="emails/visit_report", must_send=True, attachments=[attachment],
            context={"visit": visit, "report": report}, programme_name=visit.programme.name,
            summary=f"Visit report (version {report.version}): {visit}", url=url,
        ))
    with transaction.atomic():
        report = VisitReport.objects.select_for_update().defer("html", "pdf").get(pk=report_id)
        report.recipient_count = len(recipients)
        fields = ["recipient_count"]
        if not (tally.failed or tally.refused) and report.sent_at is None:
            report.sent_at = timezone.now()
            report.send_failed_at, report.send_failure = None, ""
            fields += ["sent_at", "send_failed_at", "send_failure"]
        report.save(update_fields=fields)
        if tally.sent:
            log_visit(visit, "visit.report_sent",
                      f"Emailed version {report.version} of the visit report to "
                      f"{tally.sent} {'person' if tally.sent == 1 else 'people'}",
                      user=None, data={"version": report.version, "sent": tally.sent})
    return tally


def _record_failure(report_id: int, *, stage: str, reason: str) -> None:
    with transaction.atomic():
        # of=("self",): the visitor is an outer join, which PostgreSQL cannot lock.
        report = VisitReport.objects.select_for_update(of=("self",)).select_related(
            "visit__programme", "visit__host", "visit__visitor").defer(
            "html", "pdf").filter(pk=report_id).first()
        if report is None:
            return
        if stage == "generation":
            report.generation_failed_at, report.generation_failure = timezone.now(), reason[:200]
            report.save(update_fields=["generation_failed_at", "generation_failure"])
        else:
            report.send_failed_at, report.send_failure = timezone.now(), reason[:200]
            report.save(update_fields=["send_failed_at", "send_failure"])
        log_visit(report.visit, f"visit.report_{stage}_failed",
                  f"Version {report.version} of the visit report: {reason}"[:300], user=None,
                  data={"version": report.version}, on_site_timelines=False)


def report_generation_failed(*, report_id: int, reason: str) -> None:
    """Record that the PDF could not be made; ``reason`` must hold no personal data."""
    _record_failure(report_id, stage="generation", reason=reason)


def report_sending_failed(*, report_id: int, reason: str) -> None:
    """Record that some emails could not be sent; ``reason`` must hold no personal data."""
    _record_failure(report_id, stage="sending", reason=reason)


@transaction.atomic
def report_retry(*, report: VisitReport, user: User) -> VisitReport:
    """Try a failed or stuck version again: make its PDF if it has none, otherwise send it to
    whoever has not had it (the ledger skips everyone who has)."""
    report = VisitReport.objects.select_for_update(of=("self",)).select_related(
        "visit__programme", "visit__host", "visit__visitor").defer("html", "pdf").get(
        pk=report.pk)
    if superseded(report):
        raise ValidationError(f"Version {report.version} has been replaced by a later version, "
                              "so it is not sent again.")
    if not (report.is_failed or report.is_stuck):
        raise ValidationError("Nothing has failed for this version, so there is nothing to try "
                              "again.")
    report.generation_failed_at, report.generation_failure = None, ""
    report.send_failed_at, report.send_failure = None, ""
    report.retried_at = timezone.now()
    report.save(update_fields=["generation_failed_at", "generation_failure", "send_failed_at",
                               "send_failure", "retried_at"])
    log_visit(report.visit, "visit.report_retried",
              f"Tried version {report.version} of the visit report again", user=user,
              data={"version": report.version}, on_site_timelines=False)
    from ..tasks import generate_visit_report, send_visit_report

    queue_after_commit(generate_visit_report if report.generated_at is None
                       else send_visit_report, report.pk)
    return report
