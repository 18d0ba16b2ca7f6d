import logging

from django.core.mail import EmailMessage

from ilcop.logging import RedactSecretsFilter
from ilcop.mail import ConsoleAndFileBackend


def test_development_email_goes_to_the_console_and_to_a_file(settings, tmp_path, capsys):
    settings.EMAIL_FILE_PATH = tmp_path
    message = EmailMessage("Visit confirmed", "See you on Tuesday", to=["a@trust.example"])
    ConsoleAndFileBackend().send_messages([message])
    [written] = list(tmp_path.iterdir())
    assert "See you on Tuesday" in written.read_text()
    assert "Subject: Visit confirmed" in capsys.readouterr().out


def test_invitation_links_are_redacted_from_logs():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                               "Gone: %s", ("/invitations/eyJpIjoxfQ:1xV:abc/",), None)
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == "Gone: /invitations/[redacted]/"


def test_poll_links_are_redacted_from_logs():
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1,
                               '"GET %s HTTP/1.1" 200', ("/availability/eyJpIjo:1x:abc/",), None)
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == '"GET /availability/[redacted]/ HTTP/1.1" 200'


class FakeTask:
    class request:  # noqa: N801 - mimics Celery's task.request
        retries = 1

    def retry(self, exc=None, countdown=None):
        self.countdown = countdown
        return RuntimeError("retry")


def test_a_refused_recipient_is_logged_by_id_and_not_retried(caplog):
    import smtplib

    from ilcop.mail import deliver

    def send():
        raise smtplib.SMTPRecipientsRefused({"ada@trust.example": (550, b"no such user")})

    deliver(FakeTask(), send, what="invitation 7")
    assert "invitation 7: the mail server refused the recipient" in caplog.text
    assert "ada@trust.example" not in caplog.text


def test_other_mail_failures_are_retried_with_backoff(caplog):
    import pytest

    from ilcop.mail import deliver

    task = FakeTask()

    def send():
        raise ConnectionRefusedError("mail server down at ada@trust.example")

    with pytest.raises(RuntimeError, match="retry"):
        deliver(task, send, what="invitation 7")
    assert task.countdown == 120
    assert "ada@trust.example" not in caplog.text
