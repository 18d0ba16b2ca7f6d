"""Logs and error reports carry no survey free text, email address or person's name.

Realistic actions run with every logger at DEBUG and a handler capturing every record
(including the loggers that do not propagate to the root, such as django.request); each
record is formatted as a real handler would, traceback included, and searched.
"""

import logging
import re
import smtplib
import sys
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.module_loading import import_string

from ilcop.celery import app as celery_app
from ilcop.logging import PrivateExceptionReporter, RedactSecretsFilter, redact
from programmes import services as programme_services
from programmes.services import survey as survey_services
from programmes.tasks import send_invitation_email

COMMENT = "My nurse Bethany Quill explained everything about the scan"
INVITEE_NAME = "Ottoline Marchbanks"
INVITEE_EMAIL = "ottoline.marchbanks@trust.example"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def capture(settings):
    """A handler on the root logger and on every logger that does not propagate, everything
    at DEBUG for the test's length."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "clean-logs"}}
    cache.clear()
    handler = Capture()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate]
    before = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in before:
        logger.removeHandler(handler)
        logger.setLevel(level)
    cache.clear()


def assert_clean(handler: Capture, *secrets: str) -> None:
    assert handler.records, "nothing was logged: the test proves nothing"
    text = handler.text
    for secret in secrets:
        assert secret.lower() not in text.lower(), secret
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", text), "an email address was logged"


@pytest.fixture
def collection(programme, core, site):
    survey = survey_services.survey_create(programme=programme, user=core)
    return survey_services.collection_for(survey=survey, site=site)


def survey_post(client: Client, collection) -> dict:
    url = f"/survey/{collection.code}/"
    page = client.get(url).content.decode()
    key = re.search(r'name="submission_key" value="([^"]+)"', page).group(1)
    good = collection.survey.questions.get(code="GOOD")
    return {"submission_key": key, f"q{good.pk}": COMMENT}


def test_a_patients_comment_never_reaches_the_logs(capture, collection):
    client = Client()
    response = client.post(f"/survey/{collection.code}/", survey_post(client, collection))
    assert response.status_code == 302
    logging.getLogger("django.server").info('"POST /survey/%s/ HTTP/1.1" 302 0',
                                            collection.code)
    assert_clean(capture, COMMENT, "Bethany Quill")


def test_a_server_error_on_the_survey_logs_no_comment_and_no_address(
        capture, collection, monkeypatch, settings):
    def broken(**kwargs):
        raise ValueError(f"could not store the answers from {INVITEE_EMAIL}")

    monkeypatch.setattr("programmes.views.survey.services.response_submit", broken)
    client = Client(raise_request_exception=False)
    response = client.post(f"/survey/{collection.code}/", survey_post(client, collection))
    assert response.status_code == 500
    [error] = [r for r in capture.records if r.name == "django.request"
               and r.levelno == logging.ERROR]
    assert error.exc_info and "ValueError" in capture.text  # the traceback is there...
    assert "could not store the answers from [email]" in capture.text  # ...redacted
    assert_clean(capture, COMMENT, INVITEE_EMAIL)

    # The error report Django would email or show (AdminEmailHandler builds it this way):
    # POST values and local variables hidden, addresses redacted.
    reporter_class = import_string(settings.DEFAULT_EXCEPTION_REPORTER)
    assert reporter_class is PrivateExceptionReporter
    report = reporter_class(error.request, *error.exc_info, is_email=True)
    for text in (report.get_traceback_text(), report.get_traceback_html()):
        assert COMMENT not in text and INVITEE_EMAIL not in text
        assert "submission_key" in text  # the field names are still there to debug with


def test_inviting_a_named_person_and_a_refused_address_log_neither(
        capture, programme, site, core, settings, monkeypatch):
    invitation = programme_services.invitation_create(
        programme=programme, site=site, invited_by=core, email=INVITEE_EMAIL,
        full_name=INVITEE_NAME, site_role="cns")

    def refused(**kwargs):
        # smtplib names the refused recipient in the exception.
        raise smtplib.SMTPRecipientsRefused({INVITEE_EMAIL: (550, b"5.1.1 User unknown")})

    monkeypatch.setattr("programmes.tasks.invitation_email_send", refused)
    send_invitation_email.delay(invitation.pk)
    assert "the mail server refused the recipient" in capture.text
    assert_clean(capture, INVITEE_NAME, INVITEE_EMAIL, "Ottoline")


def test_a_failed_celery_task_logs_its_traceback_without_the_address(
        capture, programme, site, core, monkeypatch):
    invitation = programme_services.invitation_create(
        programme=programme, site=site, invited_by=core, email=INVITEE_EMAIL,
        full_name=INVITEE_NAME, site_role="cns")

    def broken(**kwargs):
        raise RuntimeError(f"template failed for {INVITEE_NAME.split()[0].lower()}."
                           f"{INVITEE_NAME.split()[1].lower()}@trust.example")

    monkeypatch.setattr("programmes.tasks.invitation_email_send", broken)
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False  # as in production: logged, not raised
    try:
        result = send_invitation_email.delay(invitation.pk)
    finally:
        celery_app.conf.task_eager_propagates = previous
    assert result.failed()
    failures = [r for r in capture.records if r.levelno >= logging.ERROR]
    assert failures and "RuntimeError" in capture.text
    assert_clean(capture, INVITEE_EMAIL)


def test_redaction_covers_addresses_and_links_in_messages_args_and_tracebacks():
    assert redact("to ada.o'neil+x@nhs.example.uk now") == "to [email] now"
    assert redact("GET /invitations/eyJ:1x:abc/ 200") == "GET /invitations/[redacted]/ 200"
    try:
        raise ValueError("no such user a@b.example")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s",
                                   ("c@d.example",), sys.exc_info())
    RedactSecretsFilter().filter(record)
    formatted = logging.Formatter("%(message)s").format(record)
    assert "@" not in formatted.replace("[email]", "")
    assert formatted.startswith("failed for [email]")


def test_every_record_is_redacted_as_it_is_made_whatever_the_handler():
    """The record factory (ilcop.logging.configure): a handler with no filter of ours, such
    as Celery's or pytest's, still gets the clean record."""
    handler = Capture()
    logger = logging.getLogger(f"test.clean.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("bounce from %s", INVITEE_EMAIL)
    assert handler.lines == [f"WARNING {logger.name} bounce from [email]"]

