"""The visit report through real Celery workers on Redis, and a worker killed mid-task.

Skipped without REDIS_URL and a PostgreSQL DATABASE_URL; in CI both are set, and conftest
turns a missing service into a failure rather than a skip.
"""

import datetime
import email
import uuid
from email import policy
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from ilcop.celery import app as celery_app
from ilcop.models import Notification
from visits.models import Visit, VisitAttendee, VisitReport
from visits.services import day as day_services
from visits.services import report as report_services

from .factories import SiteMembershipFactory
from .pdf import pdf_text
from .worker import NEEDS_WORKER, new_queue, start_worker, wait_for

pytestmark = NEEDS_WORKER

# Hand a dead worker's message to the next worker within seconds, not the production hours.
QUICK_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_RESTORE_INTERVAL": "1",
                    "CELERY_RESTORE_THROTTLE": "1"}


@pytest.fixture
def queue(transactional_db, settings):
    """The tasks this test queues go to a queue of its own, which only its workers read."""
    name = new_queue()
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    settings.SITE_URL = "http://testserver"
    yield name
    celery_app.conf.task_default_queue = previous


@pytest.fixture
def workers():
    started = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def visit(programme, site, other_site, core, lead, other_lead):
    """A visit that happened: four people will get its report (two per team and the core
    team's facilitator, `core`, who also appears once though they are in both lists)."""
    SiteMembershipFactory(site=other_site, role="cns", user__full_name="Val Nurse")
    visit = Visit.objects.create(
        programme=programme, host=site, visitor=other_site, status=Visit.Status.HAPPENED,
        date=timezone.localdate() - datetime.timedelta(days=3),
        start_time=datetime.time(9), end_time=datetime.time(16), venue="Seminar room 2",
        facilitator=core)
    for user, team, role in ((lead, "host", "clinical_lead"),
                             (other_lead, "visiting", "clinical_lead"),
                             (core, "facilitator", "facilitator")):
        VisitAttendee.objects.create(visit=visit, user=user, team=team, role=role, present=True)
    sessions = day_services.visit_agenda_ensure(visit=visit, user=core)
    day_services.contribution_add(visit=visit, user=core, kind="strength", team="visiting",
                                  role="clinical_lead", session=sessions[2],
                                  text="Every patient's wishes were asked for",
                                  client_id=uuid.uuid4())
    day_services.focus_area_add(visit=visit, user=core, title="Earlier, complete case lists",
                                description="", owner=lead)
    return visit


def messages_in(mail_dir: Path) -> list[email.message.EmailMessage]:
    """Every message Django's file backend wrote: one file per connection, each message
    followed by a line of 79 dashes."""
    found = []
    for path in sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []:
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk.strip(), policy=policy.default))
    return found


def ran(worker, task: str) -> bool:
    return f"Task visits.tasks.{task}[" in worker.log()


def succeeded(worker, task: str) -> bool:
    return any(f"Task visits.tasks.{task}[" in line and " succeeded " in line
               for line in worker.output)


def approve(visit, core) -> VisitReport:
    with transaction.atomic():
        return report_services.report_approve(visit=visit, user=core, based_on_version=0)


def test_a_real_worker_generates_the_report_and_emails_it(queue, workers, tmp_path, visit,
                                                          core):
    mail_dir = tmp_path / "mail"
    workers.append(start_worker(queue=queue, mail_dir=mail_dir))
    recipients = {p.email for p in report_services.report_recipients(visit)}
    assert len(recipients) == 4

    report = approve(visit, core)
    wait_for(lambda: VisitReport.objects.filter(pk=report.pk, sent_at__isnull=False).exists(),
             timeout=90, what="the report to be generated and sent")

    messages = messages_in(mail_dir)
    assert sorted(m["To"] for m in messages) == sorted(recipients)
    message = messages[0]
    assert visit.programme.name in message.get_body(("plain",)).get_content()
    assert visit.programme.name in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = pdf_text(attachment.get_content())
    assert "Every patient's wishes were asked for" in text
    assert "Earlier, complete case lists" in text
    assert bytes(VisitReport.objects.get(pk=report.pk).pdf) == attachment.get_content()
    assert succeeded(workers[0], "generate_visit_report")
    assert succeeded(workers[0], "send_visit_report")


@pytest.mark.parametrize("stall_at", [1, 3], ids=["at the first email", "at the third"])
def test_a_worker_killed_mid_send_leaves_the_task_to_the_next_worker_which_sends_once(
        queue, workers, tmp_path, visit, core, stall_at):
    """acks_late: the killed worker never acknowledged the send task, so Redis hands it to the
    next worker after the visibility timeout. The emails the first worker had sent are in
    the ledger; the row for the one it was sending died with its database transaction. So
    the second worker sends each of the rest, and everyone has the report once."""
    mail_dir = tmp_path / "mail"
    marker = tmp_path / "sending-began"
    first = start_worker(queue=queue, mail_dir=mail_dir, **QUICK_REDELIVERY,
                         EMAIL_BACKEND="tests.stalling_mail.StallingBackend",
                         STALL_MARKER=str(marker), STALL_AT=str(stall_at))
    workers.append(first)

    report = approve(visit, core)
    wait_for(marker.exists, timeout=90, what="the first worker to start sending")
    # The worker is inside send_visit_report, inside a recipient's transaction.
    assert VisitReport.objects.get(pk=report.pk).generated_at is not None
    assert Notification.objects.filter(kind="visit_report").count() == stall_at - 1
    assert len(messages_in(mail_dir)) == stall_at - 1
    first.kill()
    assert first.process.returncode == -9
    assert ran(first, "send_visit_report") and not succeeded(first, "send_visit_report")

    second = start_worker(queue=queue, mail_dir=mail_dir, **QUICK_REDELIVERY)
    workers.append(second)
    wait_for(lambda: VisitReport.objects.filter(pk=report.pk, sent_at__isnull=False).exists(),
             timeout=90, what="the second worker to finish the task")

    recipients = sorted(p.email for p in report_services.report_recipients(visit))
    assert sorted(m["To"] for m in messages_in(mail_dir)) == recipients  # each exactly once
    assert Notification.objects.filter(kind="visit_report", sent_at__isnull=False).count() == 4
    # The second worker ran the send task only: the PDF was made once, by the first.
    assert not ran(second, "generate_visit_report")
    assert succeeded(second, "send_visit_report")
    reports = VisitReport.objects.filter(visit=visit)
    assert reports.count() == 1
