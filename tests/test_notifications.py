"""Email's two parts, the reminder ledger, people's digest preference and the Monday digest."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from ilcop import notifications
from ilcop.mail import ConsoleAndFileBackend, send_templated_email, text_to_html
from ilcop.models import Notification, ReminderEmails

from .concurrency import twice_at_once
from .factories import UserFactory

MONDAY = datetime.datetime(2026, 11, 23, 8, 0, tzinfo=datetime.UTC)


# --- the HTML part ----------------------------------------------------------------------------


def test_text_becomes_paragraphs_lists_and_links():
    html = text_to_html(
        "Dear Ada,\nThe visit is confirmed.\n\n"
        "To prepare:\n\n- Read the data pack\n- Book travel\n\n"
        "1. Introduction\n2. Observation\n\n"
        "Open the visit: https://peer.example/visits/7/.\n"
    )
    assert html == (
        "<p>Dear Ada,<br>\nThe visit is confirmed.</p>\n"
        "<p>To prepare:</p>\n"
        "<ul><li>Read the data pack</li><li>Book travel</li></ul>\n"
        "<ol><li>Introduction</li><li>Observation</li></ol>\n"
        '<p>Open the visit: <a href="https://peer.example/visits/7/" style="color:#005eb8">'
        "https://peer.example/visits/7/</a>.</p>"
    )


def test_text_is_escaped_before_it_becomes_html():
    html = text_to_html('Notes: <script>alert(1)</script> & "quotes"\n'
                        'https://peer.example/a?b=1&c=<x>')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in html
    assert '<a href="https://peer.example/a?b=1&amp;c=" ' in html


def test_every_templated_email_has_text_and_html_parts_naming_the_programme():
    send_templated_email(template="emails/digest", to=["ada@trust.example"],
                         programme_name="Lung Cancer Peer Review 2026",
                         context={"recipient": UserFactory.build(full_name="Ada Okafor"),
                                  "count": 1, "preferences_url": "https://p.example/prefs/",
                                  "groups": [("Lung Cancer Peer Review 2026", [Notification(
                                      summary="Progress update due",
                                      url="https://p.example/qips/3/")])]})
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert "- Progress update due: https://p.example/qips/3/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Lung Cancer Peer Review 2026" in html
    assert '<a href="https://p.example/qips/3/"' in html


def test_the_invitation_email_has_an_html_part_too(as_core, programme, site,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/sites/{site.pk}/team/invite/", {
            "full_name": "Dr Ada Okafor", "email": "ada@trust.example",
            "role": "clinical_lead"})
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert programme.name in html
    assert "/invitations/" in html


def test_the_console_names_attachments_instead_of_printing_them(settings, tmp_path, capsys):
    settings.EMAIL_FILE_PATH = tmp_path
    message = EmailMultiAlternatives("Your visit report", "The report is attached.",
                                     to=["ada@trust.example"])
    message.attach_alternative("<p>The report is attached.</p>", "text/html")
    message.attach("visit-report-v1.pdf", b"%PDF-1.7" + b"x" * 4096, "application/pdf")
    ConsoleAndFileBackend().send_messages([message])
    out = capsys.readouterr().out
    assert "Subject: Your visit report" in out
    assert "[attached: visit-report-v1.pdf (application/pdf, 4 KB)]" in out
    assert "[text/html part: 30 characters]" in out
    assert "JVBERi" not in out  # base64 of "%PDF"
    [written] = list(tmp_path.iterdir())
    assert "visit-report-v1.pdf" in written.read_text()


def test_account_emails_from_allauth_have_an_html_part(lead):
    Client().post("/accounts/password/reset/", {"email": lead.email})
    [message] = mail.outbox
    assert "Reset" in message.subject or "reset" in message.body
    html = message.alternatives[0][0]
    assert "/accounts/password/reset/key/" in html


# --- the ledger -------------------------------------------------------------------------------


def remind(person, *, due=datetime.date(2026, 11, 30), must_send=False, kind="test_kind"):
    return notifications.notify(
        kind=kind, obj=person, recipient=person, due_on=due, template="emails/digest",
        context={"count": 1, "groups": []}, programme_name="Lung Cancer Peer Review 2026",
        summary="Something is due", url="https://p.example/x/", must_send=must_send)


def test_a_reminder_goes_once_per_kind_object_recipient_and_due_date(db):
    person = UserFactory()
    assert remind(person) == notifications.SENT
    assert remind(person) == notifications.ALREADY
    assert len(mail.outbox) == 1
    # A new due date (the visit moved, a new month) is a new reminder.
    assert remind(person, due=datetime.date(2026, 12, 7)) == notifications.SENT
    assert remind(person, kind="other_kind") == notifications.SENT
    assert len(mail.outbox) == 3
    assert Notification.objects.filter(recipient=person, sent_at__isnull=False).count() == 3


def test_a_failed_send_leaves_no_trace_so_the_next_run_sends_it(db, monkeypatch):
    person = UserFactory()

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("ilcop.notifications.send_templated_email", refuse)
    assert notifications.notify_or_log(
        kind="k", obj=person, recipient=person, due_on=datetime.date(2026, 11, 30),
        template="emails/digest", context={}, programme_name="P", summary="s",
        url="u") == notifications.FAILED
    assert not Notification.objects.exists()
    monkeypatch.undo()
    assert remind(person, kind="k") == notifications.SENT


def test_weekly_people_get_reminders_held_but_must_send_ones_at_once(db):
    person = UserFactory(reminder_emails=ReminderEmails.WEEKLY)
    assert remind(person) == notifications.HELD
    assert remind(person) == notifications.ALREADY
    assert mail.outbox == []
    assert remind(person, kind="urgent", must_send=True) == notifications.SENT
    assert len(mail.outbox) == 1


def test_the_monday_digest_lists_held_reminders_once_and_drops_stale_ones(db):
    person = UserFactory(full_name="Ada Okafor", reminder_emails=ReminderEmails.WEEKLY)
    remind(person, kind="still_due")
    remind(person, kind="no_longer_due")
    notifications.register_still_due("no_longer_due", lambda n: False)
    try:
        tally = notifications.digests_send(MONDAY)
    finally:
        notifications._still_due.pop("no_longer_due")
    assert tally.sent == 1
    [message] = mail.outbox
    assert message.to == [person.email]
    assert "Dear Ada," in message.body
    assert "- Something is due: https://p.example/x/" in message.body
    assert message.body.count("Something is due") == 1
    assert "/accounts/reminders/" in message.body
    assert not Notification.objects.filter(kind="no_longer_due").exists()
    assert Notification.objects.get(kind="still_due").sent_at is not None

    # Later the same week nothing more goes, even with a newly held reminder.
    remind(person, kind="third")
    assert notifications.digests_send(MONDAY + datetime.timedelta(days=2)).sent == 0
    assert len(mail.outbox) == 1
    # The next Monday it does.
    assert notifications.digests_send(MONDAY + datetime.timedelta(days=7)).sent == 1
    assert "Something is due" in mail.outbox[1].body


def test_emails_greet_by_first_name_unless_the_name_starts_with_a_title():
    assert UserFactory.build(full_name="Ada Okafor").get_short_name() == "Ada"
    assert UserFactory.build(full_name="Dr Ada Okafor").get_short_name() == "Dr Ada Okafor"
    assert UserFactory.build(full_name="Prof. Li Wei").get_short_name() == "Prof. Li Wei"
    assert UserFactory.build(full_name="", email="a@t.example").get_short_name() == "a@t.example"


def test_nobody_gets_an_empty_digest(db):
    UserFactory(reminder_emails=ReminderEmails.WEEKLY)
    assert notifications.digests_send(MONDAY).sent == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_send_one_email():
    """Both insert the same ledger row; PostgreSQL makes the second wait, then refuse."""
    person = UserFactory()
    outcomes = twice_at_once(lambda: remind(person))
    assert sorted(outcomes) == [notifications.ALREADY, notifications.SENT]
    assert len(mail.outbox) == 1


# --- the preferences page ---------------------------------------------------------------------


def test_anyone_signed_in_chooses_how_reminders_come(client_for, cns,
                                                     django_assert_max_num_queries):
    client = client_for(cns)
    with django_assert_max_num_queries(6):
        page = client.get("/accounts/reminders/")
    assert page.status_code == 200
    assert "Gather my reminders into one email each Monday" in page.content.decode()
    response = client.post("/accounts/reminders/", {"reminder_emails": "weekly"})
    assert response.status_code == 302
    cns.refresh_from_db()
    assert cns.reminder_emails == ReminderEmails.WEEKLY


def test_a_nonsense_preference_is_refused_with_a_message(client_for, cns):
    response = client_for(cns).post("/accounts/reminders/", {"reminder_emails": "hourly"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    cns.refresh_from_db()
    assert cns.reminder_emails == ReminderEmails.IMMEDIATE


def test_signing_in_is_needed_for_preferences(db):
    response = Client().get("/accounts/reminders/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_reminder_carries_a_message_id_made_from_its_ledger_entry(db, settings):
    settings.SITE_URL = "https://peer.example"
    person = UserFactory()
    remind(person)
    row = Notification.objects.get()
    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == notifications.message_id(row) == (
        f"<test_kind.{row.content_type_id}.{person.pk}.{person.pk}.20261130@peer.example>")


def test_one_persons_broken_reminder_does_not_stop_everyone_elses_digest(db):
    broken = UserFactory(reminder_emails=ReminderEmails.WEEKLY)
    fine = UserFactory(reminder_emails=ReminderEmails.WEEKLY)
    remind(broken, kind="broken_kind")
    remind(fine)

    def explode(notification):
        raise RuntimeError("a still-due check with a bug")

    notifications.register_still_due("broken_kind", explode)
    try:
        tally = notifications.digests_send(MONDAY)
    finally:
        notifications._still_due.pop("broken_kind")
    assert (tally.sent, tally.failed) == (1, 1)
    assert [m.to for m in mail.outbox] == [[fine.email]]
