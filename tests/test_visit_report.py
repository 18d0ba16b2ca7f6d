"""The visit report: one template for the preview and the PDF, approval into frozen versions,
the PDF emailed once to everyone who should have it, corrections, failures and retries."""

import datetime
import smtplib
import uuid
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import transaction
from django.utils.html import escape

from ilcop import privacy
from ilcop.celery import app as celery_app
from ilcop.models import ActivityLog, Notification, User
from programmes import demo
from programmes.models import Enrolment, SiteMembership
from visits import observation_form as observation_rules
from visits.models import FacilitatorNote, Visit, VisitAttendee, VisitReport
from visits.services import day as day_services
from visits.services import observation as observation_services
from visits.services import report as report_services

from .factories import CoreTeamMembershipFactory, EnrolmentFactory, SiteMembershipFactory
from .pdf import pdf_text

NOW = datetime.datetime(2026, 4, 2, 10, 0, tzinfo=datetime.UTC)
VISIT_DAY = datetime.date(2026, 3, 31)
SITE = "https://peer.example"


@pytest.fixture(autouse=True)
def _frozen(settings):
    settings.SITE_URL = SITE
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(programme, site, other_site):
    """Beyond conftest's people: one more of each team, and a second core team member. With
    them, the report goes to seven people (the facilitator is `core`)."""
    return {
        "host_mdtc": SiteMembershipFactory(site=site, role="mdt_coordinator",
                                           user__full_name="Mo Coordinator").user,
        "visiting_cns": SiteMembershipFactory(site=other_site, role="cns",
                                              user__full_name="Val Nurse").user,
        "second_core": CoreTeamMembershipFactory(programme=programme, role="administrator",
                                                 user__full_name="Ann Admin").user,
    }


@pytest.fixture
def visit(programme, site, other_site, core, lead, cns, other_lead, people):
    """A visit that happened, with everything the visit day records."""
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 status=Visit.Status.CONFIRMED, date=VISIT_DAY,
                                 start_time=datetime.time(9), end_time=datetime.time(16),
                                 venue="Seminar room 2", facilitator=core)
    for user, team, role, present in (
        (lead, "host", "clinical_lead", True), (cns, "host", "cns", True),
        (people["host_mdtc"], "host", "mdt_coordinator", False),
        (other_lead, "visiting", "clinical_lead", True),
        (people["visiting_cns"], "visiting", "cns", True),
        (core, "facilitator", "facilitator", True),
    ):
        VisitAttendee.objects.create(visit=visit, user=user, team=team, role=role,
                                     present=present)
    intro, _observation, mdt, *_ = day_services.visit_agenda_ensure(visit=visit, user=core)
    # The introduction ran 25 minutes against 20 planned, from 09:00 London time (BST).
    intro.started_at = datetime.datetime(2026, 3, 31, 8, 0, tzinfo=datetime.UTC)
    intro.ended_at = intro.started_at + datetime.timedelta(minutes=25)
    intro.save()
    # Captured out of order: the opportunity first. The report still puts strengths first.
    for kind, text, session in (
        ("opportunity", "Pathology often not back in time", mdt),
        ("strength", "Every patient's wishes were asked for", mdt),
        ("idea", "Close the list at noon the day before", mdt),
        ("action", "Audit deferrals for a month", mdt),
        ("strength", "A clear picture of the local service", intro),
    ):
        day_services.contribution_add(visit=visit, user=core, kind=kind, team="visiting",
                                      role="cns", text=text, client_id=uuid.uuid4(),
                                      session=session)
    submit_observation(visit, other_lead, strengths="Chaired with real warmth")
    day_services.feedback_save(visit=visit, team="visiting", user=other_lead,
                               strengths="Warm and inclusive chairing",
                               opportunities="Chase pathology before the meeting")
    day_services.feedback_save(visit=visit, team="host", user=lead,
                               strengths="Our CNS role is a real strength",
                               opportunities="Offer treatment to more older patients")
    day_services.focus_area_add(visit=visit, user=core, title="Earlier, complete case lists",
                                description="Fewer deferred discussions", owner=people["host_mdtc"])
    FacilitatorNote.objects.create(visit=visit, text="PRIVATE: the host lead seemed defensive")
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.HAPPENED)
    visit.refresh_from_db()
    return visit


def submit_observation(visit, observer, *, strengths: str) -> None:
    """An observer's whole form, answered and submitted, with ``strengths`` as what the team
    does well."""
    form = observation_services.observation_form_current(visit.programme)
    raw = {}
    for question in observation_rules.questions(form.definition):
        raw[question["key"]] = {"rating": "5", "yes_no_partly": "yes",
                                "number": str(question.get("min", 0) + 1),
                                "text": ""}[question["type"]]
    raw["overall_strengths"] = strengths
    observation_services.observation_draft_save(visit=visit, observer=observer, raw=raw)
    observation_services.observation_submit(visit=visit, observer=observer)


@pytest.fixture
def third_lead(programme):
    """The clinical lead of a site in the programme that is not in this visit."""
    third = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION).site
    return SiteMembershipFactory(site=third, role=SiteMembership.Role.CLINICAL_LEAD).user


def page_url(visit) -> str:
    return f"/visits/{visit.pk}/report/"


def approve(client, visit, *, based_on=0, note=None):
    data = {"based_on_version": based_on}
    if note is not None:
        data["correction_note"] = note
    return client.post(f"/visits/{visit.pk}/report/approve/", data)


def approve_and_run(client, visit, capture, **kwargs):
    """Approve, then run the tasks queued on commit (the PDF, then the emails)."""
    with capture(execute=True):
        response = approve(client, visit, **kwargs)
    assert response.status_code == 302
    return response


def squash(html: bytes) -> str:
    return " ".join(html.decode().split())


# --- the content -----------------------------------------------------------------------------


def test_the_preview_has_every_section_strengths_first_and_no_private_notes(visit, as_core):
    page = squash(as_core.get(page_url(visit)).content)
    draft = page[page.index('id="draft"'):]
    for heading in ("Peer review visit report", "1. Who took part", "2. The agenda as it ran",
                    "3. Observations of the MDT meeting", "4. What was said in each session",
                    "5. Feedback between the teams", "6. Agreed focus areas",
                    "Appendix: the data pack"):
        assert heading in draft, heading
    assert "Seminar room 2" in draft and "Tuesday 31 March 2026" in draft
    assert "Draft, not yet approved" in draft
    assert "for the host team, the visiting team and the programme's core team" in draft
    # Attendees by team and role, with attendance.
    assert "Mo Coordinator" in draft and "Absent" in draft and "Present" in draft
    # Planned against actual: 20 planned, 25 run, from 09:00.
    intro = draft.split("Host team&#x27;s introduction")[1].split("</tr>")[0]
    assert "09:00" in intro and ">20<" in intro and ">25<" in intro and "5 min over" in intro
    # The observer's answer, by role, with the summary.
    assert "Chaired with real warmth" in draft and "Clinical lead" in draft
    # Strengths before opportunities, then ideas and actions, in each session.
    order = [draft.index(text) for text in (
        "Every patient&#x27;s wishes were asked for", "Pathology often not back in time",
        "Close the list at noon the day before", "Audit deferrals for a month")]
    assert order == sorted(order)
    assert draft.index("Warm and inclusive chairing") < draft.index(
        "Chase pathology before the meeting") < draft.index("Our CNS role is a real strength")
    assert "Earlier, complete case lists" in draft and "Mo Coordinator" in draft
    assert "PRIVATE" not in page


def test_the_draft_pdf_is_the_same_report(visit, as_core):
    response = as_core.get(f"/visits/{visit.pk}/report/draft.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for words in ("Peer review visit report", "Lung Cancer Peer Review 2026", "Who took part",
                  "The agenda as it ran", "Observations of the MDT meeting",
                  "What was said in each session", "Feedback between the teams",
                  "Agreed focus areas", "Appendix: the data pack", "Page 1 of",
                  "Draft, not approved", "Chaired with real warmth", "Mo Coordinator"):
        assert words in text, words
    assert text.index("Every patient's wishes were asked for") < text.index(
        "Pathology often not back in time")
    assert "PRIVATE" not in text


# --- approving and sending -------------------------------------------------------------------


def test_approving_emails_the_pdf_to_both_teams_and_the_core_team(
        visit, as_core, core, lead, cns, other_lead, people, mailoutbox,
        django_capture_on_commit_callbacks):
    gone = SiteMembershipFactory(site=visit.host, role="manager").user
    SiteMembership.objects.filter(user=gone).update(ended_at=NOW)
    response = approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    assert response["Location"] == f"/visits/{visit.pk}/report/#versions"

    report = VisitReport.objects.get(visit=visit)
    assert (report.version, report.approved_by, report.sent_at is not None) == (1, core, True)
    visit.refresh_from_db()
    assert visit.status == Visit.Status.REPORT_SENT
    expected = {u.email for u in (core, lead, cns, other_lead, *people.values())}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(expected)  # once each; not `gone`

    message = next(m for m in mailoutbox if m.to == [cns.email])
    assert message.subject.startswith("Visit report: ")
    assert visit.host.organisation.name in message.subject
    body = message.body
    assert body.startswith("Dear Nia,")
    assert body.rstrip().endswith("Lung Cancer Peer Review 2026")
    assert visit.visitor.organisation.name in body and "31 March 2026" in body
    assert f"{SITE}/visits/{visit.pk}/report/" in body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{SITE}/visits/{visit.pk}/report/"' in html
    ((filename, content, attached_type),) = message.attachments
    assert attached_type == "application/pdf" and filename.endswith("-v1.pdf")
    assert content == bytes(report.pdf)
    text = pdf_text(content)
    assert "Version 1, approved by Priya Manager on 2 April 2026" in text
    assert "Every patient's wishes were asked for" in text and "PRIVATE" not in text

    page = squash(as_core.get(page_url(visit)).content)
    assert "Sent</strong> to 7 people" in page
    assert f'href="/visits/{visit.pk}/report/v1.pdf"' in page
    download = as_core.get(f"/visits/{visit.pk}/report/v1.pdf")
    assert download.status_code == 200 and download.content == content


def test_a_correction_is_a_new_version_and_the_old_one_stays_as_it_was(
        visit, as_core, mailoutbox, django_capture_on_commit_callbacks):
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    first = bytes(VisitReport.objects.get(version=1).pdf)
    day_services.feedback_save(visit=visit, team="host", user=visit.facilitator,
                               strengths="Our CNS role is a real strength",
                               opportunities="Offer lung surgery to more older patients")
    mail.outbox.clear()

    # A correction must say what it corrects.
    page = squash(as_core.get(page_url(visit)).content)
    assert "What does this version correct?" in page and 'value="1"' in page
    refused = approve(as_core, visit, based_on=1, note="")
    assert refused.status_code == 200
    assert "Say what this version corrects" in refused.content.decode()
    assert VisitReport.objects.count() == 1

    approve_and_run(as_core, visit, django_capture_on_commit_callbacks, based_on=1,
                    note="The host team's second opportunity was misheard.")
    v1, v2 = VisitReport.objects.order_by("version")
    assert bytes(v1.pdf) == first and "Offer lung surgery" not in pdf_text(first)
    assert "Offer lung surgery to more older patients" in pdf_text(bytes(v2.pdf))
    assert "second opportunity was misheard" in pdf_text(bytes(v2.pdf))
    assert as_core.get(f"/visits/{visit.pk}/report/v1.pdf").content == first
    message = mailoutbox[0]
    assert message.subject.startswith("Corrected visit report (version 2)")
    assert "replaces version 1" in message.body
    assert "The host team's second opportunity was misheard." in message.body


def test_what_was_approved_is_what_is_generated_even_if_notes_change_meanwhile(
        visit, as_core, django_capture_on_commit_callbacks):
    approve(as_core, visit)  # the PDF is made after commit: not yet here
    day_services.feedback_save(visit=visit, team="host", user=visit.facilitator,
                               strengths="Written after approval", opportunities="")
    report = VisitReport.objects.get()
    assert report.pdf is None
    assert as_core.get(f"/visits/{visit.pk}/report/v1.pdf").status_code == 409
    report_services.report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert "Written after approval" not in pdf_text(bytes(report.pdf))


def test_a_double_submitted_approval_makes_one_version(visit, as_core, mailoutbox):
    assert approve(as_core, visit).status_code == 302
    second = approve(as_core, visit)
    assert second.status_code == 302
    assert VisitReport.objects.count() == 1
    page = as_core.get(page_url(visit)).content.decode()
    assert "Version 1 has been approved since you opened this page" in page


def test_before_the_visit_the_report_cannot_be_approved(visit, as_core, lead, client_for):
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.CONFIRMED)
    page = as_core.get(page_url(visit)).content.decode()
    assert "The report can be written after the visit" in page
    assert "Approve and send" not in page
    response = approve(as_core, visit)
    assert response.status_code == 302
    assert not VisitReport.objects.exists()
    follow = as_core.get(page_url(visit)).content.decode()
    assert "The report can be written after the visit has happened." in follow
    assert as_core.get(f"/visits/{visit.pk}/report/draft.pdf").status_code == 409
    assert "The report can be written after the visit" in client_for(lead).get(
        page_url(visit)).content.decode()


# --- failures and retries --------------------------------------------------------------------


# Addresses the test mail server fails on, and how: it hangs up (worth retrying) or refuses
# the address (not worth it).
FAILING: dict[str, Exception] = {}


@pytest.fixture
def retries_run_in_process():
    """Let a task's retries run as they do without a worker (CELERY_TASK_ALWAYS_EAGER): each
    at once, in turn, until they run out. The tests otherwise make a retry raise."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


class FlakyBackend(EmailBackend):
    """The test mailbox, except for the addresses in FAILING."""

    def send_messages(self, messages):
        for address in (a for m in messages for a in m.to):
            if address in FAILING:
                raise FAILING[address]
        return super().send_messages(messages)


def approve_failing_for(person, error, client, visit, capture, settings):
    """Approve and run the tasks, with the mail server failing on ``person``'s address."""
    settings.EMAIL_BACKEND = "tests.test_visit_report.FlakyBackend"
    FAILING[person.email] = error
    try:
        approve_and_run(client, visit, capture)
    finally:
        FAILING.clear()


def test_a_retry_after_a_mail_failure_sends_only_to_those_who_did_not_get_it(
        visit, as_core, client_for, lead, cns, settings, mailoutbox, retries_run_in_process,
        django_capture_on_commit_callbacks):
    approve_failing_for(cns, smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
                        as_core, visit, django_capture_on_commit_callbacks, settings)
    report = VisitReport.objects.get()
    # Everyone else has it, once, however many times the task retried.
    assert len(mailoutbox) == 6 and cns.email not in {m.to[0] for m in mailoutbox}
    assert report.sent_at is None and report.send_failed_at is not None
    assert report.send_failure == "1 of 7 emails could not be sent"

    page = squash(as_core.get(page_url(visit)).content)
    assert "Version 1 has not reached everyone" in page
    assert "1 of 7 emails could not be sent" in page
    # The core team sees who is missing it, so they can check the address.
    missing = page.split("Not yet sent to 1 person:")[1].split("Trying again")[0]
    assert cns.get_full_name() in missing and lead.get_full_name() not in missing
    assert "Try again" in page
    team_page = squash(client_for(lead).get(page_url(visit)).content)
    assert "Try again" not in team_page and "not reached" not in team_page
    assert client_for(lead).post(f"/visits/{visit.pk}/report/v1/retry/").status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        retried = as_core.post(f"/visits/{visit.pk}/report/v1/retry/")
    assert retried.status_code == 302
    assert len(mailoutbox) == 7 and mailoutbox[-1].to == [cns.email]
    report.refresh_from_db()
    assert report.sent_at is not None and report.send_failed_at is None
    assert Notification.objects.filter(kind="visit_report", sent_at__isnull=False).count() == 7
    assert "Try again" not in squash(as_core.get(page_url(visit)).content)


def test_a_pdf_that_cannot_be_made_is_shown_to_the_core_team_with_a_retry(
        visit, as_core, client_for, lead, mailoutbox, monkeypatch, retries_run_in_process,
        django_capture_on_commit_callbacks):
    def broken(html):
        raise RuntimeError("renderer crashed on Ms Patient's notes")

    monkeypatch.setattr(report_services, "html_to_pdf", broken)
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    report = VisitReport.objects.get()
    assert report.pdf is None and report.generation_failed_at is not None
    assert report.generation_failure == "the PDF could not be made (RuntimeError)"
    assert mailoutbox == []

    page = squash(as_core.get(page_url(visit)).content)
    assert "Version 1 has no PDF yet" in page and "Try again" in page
    assert "Ms Patient" not in page
    team_page = squash(client_for(lead).get(page_url(visit)).content)
    assert "Try again" not in team_page and "Being prepared" in team_page
    assert client_for(lead).get(f"/visits/{visit.pk}/report/v1.pdf").status_code == 409

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/visits/{visit.pk}/report/v1/retry/")
    report.refresh_from_db()
    assert report.pdf is not None and report.sent_at is not None
    assert report.generation_failed_at is None and len(mailoutbox) == 7


def test_a_version_left_unsent_by_a_lost_worker_shows_as_stuck_and_can_be_sent(
        visit, as_core, client_for, lead, mailoutbox, django_capture_on_commit_callbacks):
    """The worker stored the PDF and died before queueing the emails: no failure was
    recorded. The redelivered task queues them; and an hour on the core team sees the
    version as stuck, with who has not had it, and can send it."""
    with django_capture_on_commit_callbacks(execute=False):  # the worker never ran
        assert approve(as_core, visit).status_code == 302
    report = VisitReport.objects.get()
    report_services.report_generate(report_id=report.pk)  # the PDF, then the worker died
    report.refresh_from_db()
    assert report.generated_at and report.sent_at is None and not report.is_failed

    assert "Try again" not in squash(as_core.get(page_url(visit)).content)  # not yet stuck
    with time_machine.travel(NOW + datetime.timedelta(hours=1, minutes=1), tick=False):
        page = squash(as_core.get(page_url(visit)).content)
        assert "Version 1 has not reached everyone" in page and "Stuck" in page
        assert lead.get_full_name() in page.split("Not yet sent to 7 people:")[1]
        assert "Try again" not in squash(client_for(lead).get(page_url(visit)).content)
        with django_capture_on_commit_callbacks(execute=True):
            as_core.post(f"/visits/{visit.pk}/report/v1/retry/")
    assert len(mailoutbox) == 7
    # A redelivered generation task does not draw the PDF again, but does send what is unsent.
    mailoutbox.clear()
    VisitReport.objects.filter(pk=report.pk).update(sent_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert report_services.report_generate(report_id=report.pk) is False
    assert mailoutbox == []  # everyone is in the ledger already


def test_a_broker_that_refuses_the_task_does_not_fail_the_approval(
        visit, as_core, monkeypatch, django_capture_on_commit_callbacks):
    def refuse(*args, **kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr("visits.tasks.generate_visit_report.delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        response = approve(as_core, visit)
    assert response.status_code == 302
    assert VisitReport.objects.get().generated_at is None  # stuck, and shown so in an hour


def test_a_replaced_version_is_never_sent_again(
        visit, as_core, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        approve(as_core, visit)
    first = VisitReport.objects.get()
    report_services.report_generate(report_id=first.pk)
    VisitReport.objects.filter(pk=first.pk).update(send_failed_at=NOW, send_failure="x")
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks, based_on=1,
                    note="The focus area's owner was wrong")
    sent = len(mailoutbox)
    assert sent == 7 and all("version 2" in m.body.lower() for m in mailoutbox)
    assert report_services.report_send(report_id=first.pk).new == 0
    response = as_core.post(f"/visits/{visit.pk}/report/v1/retry/", follow=True)
    assert "replaced by a later version" in squash(response.content)
    assert len(mailoutbox) == sent
    assert "Replaced" in squash(as_core.get(page_url(visit)).content)


def test_someone_who_has_left_the_core_team_is_not_sent_the_report(visit, core, programme):
    assert core in report_services.report_recipients(visit)
    programme.core_team.filter(user=core).delete()  # the facilitator has left
    visit.refresh_from_db()
    assert visit.facilitator == core
    assert core not in report_services.report_recipients(visit)


def test_report_pdfs_are_not_kept_by_the_browser(visit, as_core,
                                                 django_capture_on_commit_callbacks):
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    for url in (f"/visits/{visit.pk}/report/v1.pdf", f"/visits/{visit.pk}/report/draft.pdf"):
        assert as_core.get(url)["Cache-Control"] == "private, no-store"


def test_a_refused_address_is_shown_at_once_not_retried(
        visit, as_core, cns, settings, mailoutbox, django_capture_on_commit_callbacks,
        retries_run_in_process):
    approve_failing_for(cns, smtplib.SMTPRecipientsRefused({cns.email: (550, b"no such user")}),
                        as_core, visit, django_capture_on_commit_callbacks, settings)
    report = VisitReport.objects.get()
    assert len(mailoutbox) == 6
    assert report.send_failure == "the mail server refused 1 of 7 addresses"
    page = squash(as_core.get(page_url(visit)).content)
    assert cns.get_full_name() in page.split("Not yet sent to 1 person:")[1]


def test_trying_again_when_nothing_failed_changes_nothing(
        visit, as_core, mailoutbox, django_capture_on_commit_callbacks):
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/visits/{visit.pk}/report/v1/retry/")
    assert len(mailoutbox) == 7
    # A redelivered task changes nothing either: the ledger already has everyone.
    report = VisitReport.objects.get()
    assert report_services.report_generate(report_id=report.pk) is False
    assert report_services.report_send(report_id=report.pk).already == 7
    assert len(mailoutbox) == 7


# --- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "page", "draft", "download", "post"), [
    ("core", 200, 200, 200, 302),
    ("lead", 200, 403, 200, 403),        # host team
    ("other_lead", 200, 403, 200, 403),  # visiting team
    ("third_lead", 404, 404, 404, 404),  # another site in the programme
    ("outsider", 404, 404, 404, 404),
])
def test_who_may_see_and_do_what(request, visit, client_for, person, page, draft, download,
                                 post):
    report = report_services.report_version_create(visit=visit, user=visit.facilitator,
                                                   based_on_version=0)
    VisitReport.objects.filter(pk=report.pk).update(pdf=b"%PDF-1.7", generated_at=NOW)
    client = client_for(request.getfixturevalue(person))
    assert client.get(page_url(visit)).status_code == page
    assert client.get(f"/visits/{visit.pk}/report/draft.pdf").status_code == draft
    assert client.get(f"/visits/{visit.pk}/report/v1.pdf").status_code == download
    assert client.get(f"/visits/{visit.pk}/report/v2.pdf").status_code == 404
    assert approve(client, visit, based_on=1, note="Fix").status_code == post
    assert client.post(f"/visits/{visit.pk}/report/v1/retry/").status_code == post
    assert VisitReport.objects.count() == (2 if person == "core" else 1)


def test_the_teams_see_approved_versions_but_never_the_draft(
        visit, client_for, lead, other_lead, django_capture_on_commit_callbacks):
    for person in (lead, other_lead):
        page = squash(client_for(person).get(page_url(visit)).content)
        assert "No version has been approved yet" in page
        assert "Every patient" not in page and "/report/approve/" not in page
    with django_capture_on_commit_callbacks(execute=True):
        report_services.report_approve(visit=visit, user=visit.facilitator, based_on_version=0)
    page = squash(client_for(lead).get(page_url(visit)).content)
    assert "Download version 1 (PDF)" in page and "Sent" not in page


def test_the_visit_and_its_summary_link_to_the_report(visit, as_core, client_for, lead):
    link = f'href="/visits/{visit.pk}/report/"'
    assert link in as_core.get(f"/visits/{visit.pk}/").content.decode()
    assert link in client_for(lead).get(f"/visits/{visit.pk}/summary/").content.decode()


# --- the demo --------------------------------------------------------------------------------


def test_in_the_demo_the_facilitator_approves_and_both_teams_get_the_pdf(
        db, client_for, mailoutbox, django_capture_on_commit_callbacks):
    call_command("seed_demo", stdout=StringIO())
    programme = demo.demo_programmes().get()
    sent = programme.visits.filter(status=Visit.Status.REPORT_SENT)
    assert sent.count() == 3
    assert all(v.reports.get().version == 1 and v.reports.get().sent_at for v in sent)
    # Made after the plans' demo agreed the rest of each visit's focus areas: all are in it.
    for visit in sent:
        titles = list(visit.focus_areas.values_list("title", flat=True))
        assert len(titles) > 1
        assert all(escape(title) in visit.reports.get().html for title in titles)
    # The reciprocal programme's reports record their sending without the ledger; the one-way
    # programme's review report has ledger rows, so its delivery page shows who had it.
    assert not Notification.objects.filter(
        kind="visit_report",
        object_id__in=VisitReport.objects.filter(visit__programme=programme).values("pk"),
    ).exists() and mailoutbox == []

    # The demo site team's own pair: it hosted first (reported); its return visit awaits.
    facilitator = User.objects.get(email=demo.CORE_FACILITATOR_EMAIL)
    site = SiteMembership.objects.get(user__email=demo.SITE_LEAD_EMAIL).site
    visit = programme.visits.get(status=Visit.Status.HAPPENED, facilitator=facilitator,
                                 visitor=site)
    assert programme.visits.get(host=site, visitor=visit.host).status == "report_sent"
    client = client_for(facilitator)
    page = client.get(page_url(visit)).content.decode()
    assert "Approve and send version 1" in page
    approve_and_run(client, visit, django_capture_on_commit_callbacks)

    to = {m.to[0] for m in mailoutbox}
    for site in (visit.host, visit.visitor):
        members = set(SiteMembership.objects.current().filter(site=site)
                      .values_list("user__email", flat=True))
        assert members and members <= to
    message = next(m for m in mailoutbox if m.to[0] == demo.CORE_FACILITATOR_EMAIL)
    text = pdf_text(message.attachments[0][1])
    assert visit.host.organisation.name in text
    assert visit.contributions.filter(kind="strength").first().text in text


def test_the_core_teams_digest_lists_a_report_that_has_not_reached_everyone(
        visit, as_core, core, mailoutbox, django_capture_on_commit_callbacks):
    from qips.digest import core_team_digests_send

    with django_capture_on_commit_callbacks(execute=False):
        approve(as_core, visit)
    VisitReport.objects.update(generation_failed_at=NOW, generation_failure="x")
    core_team_digests_send(NOW)
    message = next(m for m in mailoutbox if m.to == [core.email])
    assert "Visit reports that failed or have not finished sending (1):" in message.body
    assert f"- {visit}: version 1 of the report, approved on Thursday 2 April 2026, failed: " \
           f"{SITE}/visits/{visit.pk}/report/" in message.body


def test_a_draft_edited_after_the_page_was_opened_is_not_approved_unread(
        visit, as_core, core, mailoutbox, django_capture_on_commit_callbacks):
    import re

    def draft_on_page():
        page = as_core.get(page_url(visit)).content.decode()
        return re.search(r'name="draft" value="([0-9a-f]{64})"', page)[1]

    read = draft_on_page()
    day_services.feedback_save(visit=visit, team="host", user=core, strengths="Edited since",
                               opportunities="")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_core.post(f"/visits/{visit.pk}/report/approve/",
                                {"based_on_version": 0, "draft": read}, follow=True)
    assert "The draft has changed since you opened this page" in squash(response.content)
    assert not VisitReport.objects.exists() and mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/visits/{visit.pk}/report/approve/",
                     {"based_on_version": 0, "draft": draft_on_page()})
    assert "Edited since" in VisitReport.objects.get().html


# --- anonymising someone the report names (ilcop.privacy) ------------------------------------


def test_anonymising_someone_it_names_draws_the_pdf_again_without_them(
        visit, as_core, core, lead, cns, client_for, mailoutbox, settings, caplog,
        django_capture_on_commit_callbacks):
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    report = VisitReport.objects.get()
    old, name, sent = bytes(report.pdf), lead.full_name, len(mailoutbox)
    assert name in pdf_text(old)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        privacy.person_anonymise(user=lead, by=core)
    report.refresh_from_db()
    assert bytes(report.pdf) == old  # nothing is drawn until the anonymising has committed
    with caplog.at_level("DEBUG"):
        for callback in callbacks:
            callback()

    report.refresh_from_db()
    text = pdf_text(bytes(report.pdf))
    assert name not in text and f"Former participant {lead.pk}" in text
    assert cns.full_name in text  # the others are still named
    # The old PDF is gone: the new one took its place in the same row, and report PDFs are
    # never written to media storage.
    assert bytes(report.pdf) != old
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.pdf"))
    download = client_for(cns).get(f"/visits/{visit.pk}/report/v1.pdf")
    assert download.content == bytes(report.pdf)
    # Nobody is emailed again, and the log names nobody.
    assert len(mailoutbox) == sent
    entry = ActivityLog.objects.get(verb="visit.report_redrawn")
    assert entry.data == {"version": 1} and name not in entry.summary
    assert all(name not in record.getMessage() for record in caplog.records)
    assert f"visit report {report.pk}: PDF drawn again" in caplog.text


def test_a_core_team_member_who_approved_it_is_taken_out_of_the_pdf_too(
        visit, core, people, django_capture_on_commit_callbacks):
    """Named only as the approver: not the facilitator, on neither team."""
    approver = people["second_core"]
    with django_capture_on_commit_callbacks(execute=True):
        report_services.report_approve(visit=visit, user=approver, based_on_version=0)
    assert approver.full_name in pdf_text(bytes(VisitReport.objects.get().pdf))
    with django_capture_on_commit_callbacks(execute=True):
        privacy.person_anonymise(user=approver, by=core)
    text = pdf_text(bytes(VisitReport.objects.get().pdf))
    assert approver.full_name not in text and f"Former participant {approver.pk}" in text


def test_an_anonymising_rolled_back_draws_nothing(
        visit, as_core, core, lead, django_capture_on_commit_callbacks):
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    old = bytes(VisitReport.objects.get().pdf)
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        privacy.person_anonymise(user=lead, by=core)
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert bytes(VisitReport.objects.get().pdf) == old


def test_a_pdf_that_cannot_be_drawn_again_is_removed_and_shown_with_a_retry(
        visit, as_core, core, lead, mailoutbox, monkeypatch, retries_run_in_process,
        django_capture_on_commit_callbacks):
    approve_and_run(as_core, visit, django_capture_on_commit_callbacks)
    sent = len(mailoutbox)

    def broken(html):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(report_services, "html_to_pdf", broken)
    with django_capture_on_commit_callbacks(execute=True):
        privacy.person_anonymise(user=lead, by=core)
    report = VisitReport.objects.get()
    # Not kept: the old PDF names the person.
    assert report.pdf is None and report.generated_at is None
    assert report.generation_failure == "the corrected PDF could not be made (RuntimeError)"
    page = squash(as_core.get(page_url(visit)).content)
    assert "Version 1 has no PDF yet" in page and "Try again" in page

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/visits/{visit.pk}/report/v1/retry/")
    report.refresh_from_db()
    assert f"Former participant {lead.pk}" in pdf_text(bytes(report.pdf))
    assert report.generation_failed_at is None and len(mailoutbox) == sent


def test_html_corrected_while_the_first_pdf_is_drawn_is_drawn_again(
        visit, as_core, lead, monkeypatch, django_capture_on_commit_callbacks):
    """The anonymising's own redraw ran before there was a PDF to replace, and the first
    drawing read the HTML before it was corrected."""
    with django_capture_on_commit_callbacks(execute=False):
        approve(as_core, visit)
    report = VisitReport.objects.get()
    draw = report_services.html_to_pdf

    def corrected_meanwhile(html):
        VisitReport.objects.filter(pk=report.pk).update(
            html=html.replace(lead.full_name, "Former participant"))
        monkeypatch.setattr(report_services, "html_to_pdf", draw)
        return draw(html)

    monkeypatch.setattr(report_services, "html_to_pdf", corrected_meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        report_services.report_generate(report_id=report.pk)
    text = pdf_text(bytes(VisitReport.objects.get().pdf))
    assert lead.full_name not in text and "Former participant" in text
